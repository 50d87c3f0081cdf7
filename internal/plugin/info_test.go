package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
)

// describing is a transport whose plugin describes itself as info, which
// the SDK would not let a Go provider say: any plugin may send anything.
type describing struct {
	info   sdk.PluginInfo
	closed bool
}

func (d *describing) Call(_ context.Context, _ wire.Function, _ []byte, keep func([]byte) error) error {
	ok, err := json.Marshal(d.info)
	if err != nil {
		return err
	}
	out, err := json.Marshal(wire.Result{OK: ok})
	if err != nil {
		return err
	}
	return keep(out)
}

func (d *describing) Close(context.Context) error { d.closed = true; return nil }

// TestDescribeChecked loads plugins whose describe is broken under the
// configuration key "acme" while they call themselves "keycloak": each is
// refused with a *plugin.Error naming acme, never the name the plugin chose.
func TestDescribeChecked(t *testing.T) {
	url := sdk.SettingSpec{Name: "url", Type: sdk.SettingURL, Required: true, Help: "base URL"}
	for _, tc := range []struct {
		name     string
		settings []sdk.SettingSpec
		hooks    []sdk.Hook
		want     string // the problem; "" = accepted
	}{
		{name: "valid", hooks: []sdk.Hook{sdk.HookPrepare, sdk.HookInterpret}, settings: []sdk.SettingSpec{
			url,
			{Name: "realm-2_b", Type: sdk.SettingString, Default: "master"},
			{Name: "debug", Type: sdk.SettingBool, Default: "false"},
			{Name: "port", Type: sdk.SettingInt, Default: "-8443"},
			{Name: "api_url", Type: sdk.SettingURL, Default: "https://api.example.com"},
			{Name: "secret", Type: sdk.SettingString, Secret: true},
		}},
		{name: "unknown hook", hooks: []sdk.Hook{sdk.HookPrepare, "rewrite"},
			want: `lists the unknown hook "rewrite" (this idplug knows prepare and interpret)`},
		{name: "hook twice", hooks: []sdk.Hook{sdk.HookInterpret, sdk.HookPrepare, sdk.HookInterpret, sdk.HookInterpret},
			want: `lists hook "interpret" twice; the plugin`},
		{name: "setting twice", settings: []sdk.SettingSpec{url, {Name: "realm", Type: sdk.SettingString}, url},
			want: `lists setting "url" twice; the plugin`},
		{name: "unknown type", settings: []sdk.SettingSpec{{Name: "port", Type: "number", Default: "x"}},
			want: `gives setting "port" the unknown type "number" (this idplug knows string, bool, int and url); the plugin`},
		{name: "no name", settings: []sdk.SettingSpec{{Type: sdk.SettingString}},
			want: `lists a setting without a name`},
		{name: "not a bare key", settings: []sdk.SettingSpec{{Name: "base url", Type: sdk.SettingString}},
			want: `lists setting "base url", whose name is not a TOML bare key (ASCII letters, digits, _ and -)`},
		{name: "dotted key", settings: []sdk.SettingSpec{{Name: "a.b", Type: sdk.SettingString}},
			want: `lists setting "a.b", whose name is not a TOML bare key`},
		{name: "control character", settings: []sdk.SettingSpec{{Name: "x\x1b[2J", Type: sdk.SettingString}},
			want: `lists setting "x\x1b[2J", whose name`},
		{name: "required with default", settings: []sdk.SettingSpec{{Name: "realm", Type: sdk.SettingString, Required: true, Default: "master"}},
			want: `declares setting "realm" required and gives it a default, so it is never missing`},
		{name: "bool default", settings: []sdk.SettingSpec{{Name: "debug", Type: sdk.SettingBool, Default: "yes"}},
			want: `gives setting "debug" a default that is not a valid bool`},
		{name: "int default", settings: []sdk.SettingSpec{{Name: "port", Type: sdk.SettingInt, Default: "8443.5"}},
			want: `gives setting "port" a default that is not a valid int`},
		{name: "url default", settings: []sdk.SettingSpec{{Name: "api_url", Type: sdk.SettingURL, Default: "http://api.example.com"}},
			want: `gives setting "api_url" a default that is not a valid url`},
		{name: "all problems", hooks: []sdk.Hook{"x"}, settings: []sdk.SettingSpec{url, url, {Name: "b", Type: "t"}},
			want: `describe: lists the unknown hook "x" (this idplug knows prepare and interpret); lists setting "url" twice; gives setting "b" the unknown type "t"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &describing{info: sdk.PluginInfo{Name: "keycloak", Version: "1.0", ContractVersion: sdk.ContractVersion,
				Settings: tc.settings, Hooks: tc.hooks}}
			p, err := open("acme", tr)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("a valid describe was refused: %v", err)
				}
				if p.Name() != "acme" || p.Info().Name != "keycloak" {
					t.Errorf("Name() = %q, Info().Name = %q; want the configuration key acme and the plugin's own name keycloak", p.Name(), p.Info().Name)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Plugin != "acme" || pe.Func != wire.FuncDescribe {
				t.Fatalf("err = %v; want a *plugin.Error naming plugin acme and describe", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, `plugin "acme": describe: `) || !strings.Contains(msg, tc.want) ||
				!strings.HasSuffix(msg, "; the plugin is broken, report it to its author") {
				t.Errorf("err = %s\nwant plugin \"acme\": describe: …%s…; the plugin is broken, report it to its author", msg, tc.want)
			}
			if strings.Contains(msg, "keycloak") {
				t.Errorf("err = %s; it names the plugin by the name it chose for itself", msg)
			}
			if !tr.closed {
				t.Error("the refused plugin's transport was not closed")
			}
		})
	}
}
