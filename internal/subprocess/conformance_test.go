package subprocess_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idplug/idplug/internal/plugin"
	"github.com/idplug/idplug/internal/subprocess"
	"github.com/idplug/idplug/internal/wasm"
	"github.com/idplug/idplug/sdk"
)

// The transport conformance suite: every provider of plugins/ runs as a
// WebAssembly module and as a subprocess, and every call gives the same
// result, value or error, for the same input: describe, configure with good
// and bad settings, prepare and interpret over recorded exchanges, identity.

// providers are the names of the providers of plugins/, found when the
// tests start, each built both ways.
var providers []string

// buildProviders finds the providers of plugins/ and puts each, as
// <name>.wasm and idplug-plugin-<name>, in bin: taken from IDPLUG_PLUGINS
// when it holds them (make test), else built.
func buildProviders() error {
	mains, err := filepath.Glob("../../plugins/*/main.go")
	if err != nil {
		return err
	}
	for _, m := range mains {
		name := filepath.Base(filepath.Dir(m))
		providers = append(providers, name)
		for _, file := range []string{name + ".wasm", "idplug-plugin-" + name} {
			out := filepath.Join(bin, file)
			if dir := os.Getenv("IDPLUG_PLUGINS"); dir != "" {
				if b, err := os.ReadFile(filepath.Join(dir, file)); err == nil {
					if err := os.WriteFile(out, b, 0o755); err != nil {
						return err
					}
					continue
				}
			}
			var env []string
			if strings.HasSuffix(file, ".wasm") {
				env = []string{"GOOS=wasip1", "GOARCH=wasm"}
			}
			if err := goBuild(out, "../../plugins/"+name, env...); err != nil {
				return err
			}
		}
	}
	return nil
}

// transports loads provider name both ways.
func transports(t *testing.T, name string) (wasmPlugin, subPlugin *plugin.Plugin) {
	t.Helper()
	ctx := t.Context()
	quiet := slog.New(slog.DiscardHandler)
	rt, err := wasm.NewRuntime(ctx, wasm.Options{CacheDir: wasmCache(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	module, err := os.ReadFile(filepath.Join(bin, name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := rt.Load(ctx, name, module)
	if err != nil {
		t.Fatal(err)
	}
	if wasmPlugin, err = plugin.New(ctx, name, "wasm", m); err != nil {
		t.Fatal(err)
	}
	exe, err := subprocess.Copy(filepath.Join(bin, "idplug-plugin-"+name))
	if err != nil {
		t.Fatal(err)
	}
	s, err := subprocess.Start(ctx, name, exe, subprocess.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pid := s.PID()
		s.Close(context.Background())
		gone(t, pid)
	})
	if subPlugin, err = plugin.New(ctx, name, "subprocess", s); err != nil {
		t.Fatal(err)
	}
	return wasmPlugin, subPlugin
}

// outcome is a call's result as the suite compares it.
type outcome struct {
	Value any
	Err   string
}

func result(v any, err error) outcome {
	o := outcome{Value: v}
	if err != nil {
		o.Err = err.Error()
		var pe *plugin.Error
		if !errors.As(err, &pe) {
			o.Err = fmt.Sprintf("not a *plugin.Error: %v", err)
		}
	}
	return o
}

func TestConformance(t *testing.T) {
	if len(providers) == 0 {
		t.Fatal("found no provider in plugins/")
	}
	for _, name := range providers {
		t.Run(name, func(t *testing.T) {
			w, s := transports(t, name)
			ctx := t.Context()
			same := func(what string, call func(p *plugin.Plugin) outcome) {
				t.Helper()
				a, b := call(w), call(s)
				if diff := cmp.Diff(a, b); diff != "" {
					t.Errorf("%s: wasm and subprocess differ (-wasm +subprocess):\n%s", what, diff)
				}
			}

			same("describe", func(p *plugin.Plugin) outcome { return result(p.Info(), nil) })
			info := w.Info()

			for _, tc := range settingCases(info) {
				for _, client := range []sdk.Client{
					{ClientID: "cli"},
					{ClientID: "cli", ClientSecret: "s3cret", Scopes: []string{"openid", "groups"}},
				} {
					same("configure "+tc.name, func(p *plugin.Plugin) outcome {
						spec, errs, err := p.Configure(ctx, tc.settings, client)
						return result(struct {
							Spec *sdk.ProviderSpec
							Errs []sdk.ConfigError
						}{spec, errs}, err)
					})
				}
			}

			for _, ex := range exchanges {
				same(fmt.Sprintf("prepare %s", ex.exchange), func(p *plugin.Plugin) outcome {
					return result(p.Prepare(ctx, ex.exchange, ex.request))
				})
				for i, resp := range ex.responses {
					same(fmt.Sprintf("interpret %s #%d", ex.exchange, i), func(p *plugin.Plugin) outcome {
						return result(p.Interpret(ctx, ex.exchange, resp))
					})
				}
			}
			for i, c := range claims {
				same(fmt.Sprintf("identity #%d", i), func(p *plugin.Plugin) outcome {
					return result(p.Identity(ctx, c.idToken, c.userinfo))
				})
			}
		})
	}
}

type settingsCase struct {
	name     string
	settings map[string]string
}

// settingCases derives good and bad settings from what a provider declares.
func settingCases(info sdk.PluginInfo) []settingsCase {
	value := func(s sdk.SettingSpec) string {
		switch s.Type {
		case sdk.SettingURL:
			return "https://" + s.Name + ".example.com"
		case sdk.SettingBool:
			return "true"
		case sdk.SettingInt:
			return "42"
		}
		switch {
		case strings.Contains(s.Name, "region"):
			return "eu-west-1"
		case strings.Contains(s.Name, "pool"):
			return "eu-west-1_Example"
		case strings.Contains(s.Name, "domain"), strings.Contains(s.Name, "url"), strings.Contains(s.Name, "endpoint"):
			return "https://" + strings.ReplaceAll(s.Name, "_", "-") + ".example.com"
		}
		return "example-" + s.Name
	}
	required, all := map[string]string{}, map[string]string{}
	for _, s := range info.Settings {
		all[s.Name] = value(s)
		if s.Required {
			required[s.Name] = value(s)
		}
	}
	with := func(base map[string]string, f func(k, v string) string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = f(k, v)
		}
		return out
	}
	return []settingsCase{
		{"required settings", required},
		{"every setting", all},
		{"loopback http", with(all, func(_, v string) string { return strings.Replace(v, "https://", "http://127.0.0.1:8080/", 1) })},
		{"no settings", map[string]string{}},
		{"plain http to a remote host", with(all, func(_, v string) string { return strings.Replace(v, "https://", "http://", 1) })},
		{"not URLs", with(all, func(_, v string) string { return strings.TrimPrefix(v, "https://") })},
		{"empty values", with(all, func(string, string) string { return "" })},
		{"an unknown setting", func() map[string]string {
			m := with(required, func(_, v string) string { return v })
			m["frobnicate"] = "yes"
			return m
		}()},
		{"trailing slashes", with(all, func(_, v string) string {
			if strings.HasPrefix(v, "https://") {
				return v + "/"
			}
			return v
		})},
	}
}

var (
	form    = []sdk.Header{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}, {Name: "Accept", Value: "application/json"}}
	jsonHdr = []sdk.Header{{Name: "Content-Type", Value: "application/json"}, {Name: "Cache-Control", Value: "no-store"}}
	htmlHdr = []sdk.Header{{Name: "Content-Type", Value: "text/html"}}
)

// exchanges are requests as the host sends them and responses as IdPs
// answer them, Auth0's, Keycloak's, Cognito's and standard ones.
var exchanges = []struct {
	exchange  sdk.Exchange
	request   sdk.HTTPRequest
	responses []sdk.HTTPResponse
}{
	{sdk.ExchangeDiscovery, sdk.HTTPRequest{Method: "GET", URL: "https://idp.example.com/.well-known/openid-configuration", Headers: []sdk.Header{{Name: "Accept", Value: "application/json"}}},
		[]sdk.HTTPResponse{
			{Status: 200, Headers: jsonHdr, Body: `{"issuer":"https://idp.example.com","device_authorization_endpoint":"https://idp.example.com/device","token_endpoint":"https://idp.example.com/token","jwks_uri":"https://idp.example.com/jwks"}`},
			{Status: 404, Headers: htmlHdr, Body: "<html>Not Found</html>"},
		}},
	{sdk.ExchangeDeviceAuthorization, sdk.HTTPRequest{Method: "POST", URL: "https://idp.example.com/oauth/device/code", Headers: form, Body: "client_id=cli&scope=openid+profile+email+offline_access"},
		[]sdk.HTTPResponse{
			{Status: 200, Headers: jsonHdr, Body: `{"device_code":"Ag_EE","user_code":"WDJB-MJHT","verification_uri":"https://idp.example.com/activate","verification_uri_complete":"https://idp.example.com/activate?user_code=WDJB-MJHT","expires_in":900,"interval":5}`},
			{Status: 200, Headers: jsonHdr, Body: `{"device_code":"Ag_EE","user_code":"WDJB-MJHT","verification_url":"https://idp.example.com/activate","expires_in":"900"}`},
			{Status: 400, Headers: jsonHdr, Body: `{"error":"unauthorized_client","error_description":"Grant type not allowed for the client."}`},
			{Status: 403, Headers: jsonHdr, Body: `{"error":"access_denied","error_description":"Unauthorized"}`},
		}},
	{sdk.ExchangeTokenPoll, sdk.HTTPRequest{Method: "POST", URL: "https://idp.example.com/oauth/token", Headers: form, Body: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=Ag_EE&client_id=cli"},
		[]sdk.HTTPResponse{
			{Status: 400, Headers: jsonHdr, Body: `{"error":"authorization_pending"}`},
			{Status: 403, Headers: jsonHdr, Body: `{"error":"authorization_pending","error_description":"User has yet to authorize device code."}`},
			{Status: 429, Headers: jsonHdr, Body: `{"error":"slow_down"}`},
			{Status: 400, Headers: jsonHdr, Body: `{"error":"expired_token"}`},
			{Status: 403, Headers: jsonHdr, Body: `{"error":"access_denied","error_description":"User denied"}`},
			{Status: 400, Headers: jsonHdr, Body: `{"error":"denied"}`},
			{Status: 400, Headers: jsonHdr, Body: `{"error":"invalid_grant","error_description":"Invalid device code"}`},
			{Status: 200, Headers: jsonHdr, Body: `{"access_token":"at","refresh_token":"rt","id_token":"a.b.c","token_type":"Bearer","expires_in":3600,"scope":"openid profile"}`},
			{Status: 503, Headers: htmlHdr, Body: "<html>upstream unavailable</html>"},
		}},
	{sdk.ExchangeRefresh, sdk.HTTPRequest{Method: "POST", URL: "https://idp.example.com/oauth/token", Headers: form, Body: "grant_type=refresh_token&refresh_token=rt&client_id=cli"},
		[]sdk.HTTPResponse{
			{Status: 200, Headers: jsonHdr, Body: `{"access_token":"at2","token_type":"bearer","expires_in":3600}`},
			{Status: 400, Headers: jsonHdr, Body: `{"error":"invalid_grant","error_description":"Token is not active"}`},
		}},
	{sdk.ExchangeRevocation, sdk.HTTPRequest{Method: "POST", URL: "https://idp.example.com/oauth/revoke", Headers: form, Body: "token=rt&token_type_hint=refresh_token&client_id=cli"},
		[]sdk.HTTPResponse{
			{Status: 200, Headers: nil, Body: ""},
			{Status: 400, Headers: jsonHdr, Body: `{"error":"unsupported_token_type"}`},
		}},
	{sdk.ExchangeUserinfo, sdk.HTTPRequest{Method: "GET", URL: "https://idp.example.com/userinfo", Headers: []sdk.Header{{Name: "Authorization", Value: "Bearer at"}}},
		[]sdk.HTTPResponse{
			{Status: 200, Headers: jsonHdr, Body: `{"sub":"u-1","email":"alice@example.com","name":"Alice"}`},
			{Status: 401, Headers: []sdk.Header{{Name: "WWW-Authenticate", Value: `Bearer error="invalid_token"`}}, Body: ""},
		}},
}

// claims are ID token claims and userinfo responses in the shapes IdPs use.
var claims = []struct{ idToken, userinfo sdk.Claims }{
	{sdk.Claims{"sub": "u-1", "preferred_username": "alice", "email": "alice@example.com", "groups": []any{"admins", "dev"}}, sdk.Claims{"sub": "u-1", "name": "Alice Liddell"}},
	{sdk.Claims{"sub": "auth0|42", "nickname": "ada", "email": "ada@example.com", "https://example.com/roles": []any{"admin"}}, sdk.Claims{"name": "Ada Lovelace", "picture": "https://example.com/ada.png"}},
	{sdk.Claims{"sub": "f81d4fae", "preferred_username": "bob", "realm_access": map[string]any{"roles": []any{"offline_access", "ops"}}, "resource_access": map[string]any{"cli": map[string]any{"roles": []any{"reader"}}}}, nil},
	{sdk.Claims{"sub": "9a1b", "cognito:username": "carol", "cognito:groups": []any{"eu-admins"}, "email": "carol@example.com", "email_verified": true}, sdk.Claims{"username": "carol"}},
	{sdk.Claims{"sub": "s", "groups": "single"}, sdk.Claims{"sub": "other"}},
	{nil, nil},
}
