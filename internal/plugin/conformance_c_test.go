package plugin_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/idplug/idplug/internal/examples"
	"github.com/idplug/idplug/internal/plugin"
	"github.com/idplug/idplug/sdk"
)

// TestConformanceC: examples/oidc-c, a generic OpenID provider written in C
// from wit/README.md alone, answers plugins/oidc's cases — the suite's
// generic ones and oidc's recordings — exactly as the Go provider does,
// describe aside from its name, version and summary.
func TestConformanceC(t *testing.T) {
	path := examples.Path(t, "oidc-c.wasm")
	pin, err := pin(path)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	builtin := plugin.NewLoader(plugin.Options{Providers: sdk.Registered(), Logger: quiet})
	c := plugin.NewLoader(plugin.Options{Sources: map[string]plugin.Source{"oidc": {Wasm: path, SHA256: pin}}, Logger: quiet})
	var plugins []*plugin.Plugin
	for _, l := range []*plugin.Loader{builtin, c} {
		t.Cleanup(func() { l.Close(context.Background()) })
		p, err := l.Load(t.Context(), "oidc")
		if err != nil {
			t.Fatal(err)
		}
		plugins = append(plugins, p)
	}
	if name := plugins[1].Info().Name; name != "oidc-c" {
		t.Errorf("the C plugin describes itself as %q, want oidc-c", name)
	}
	conform(t, "oidc", plugins, []string{"Go", "C"}, func(info sdk.PluginInfo) any {
		return struct {
			ContractVersion uint32
			Settings        []sdk.SettingSpec
			Hooks           []sdk.Hook
		}{info.ContractVersion, info.Settings, info.Hooks}
	})
}
