package plugin_test

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/idplug/idplug/internal/plugin"
	_ "github.com/idplug/idplug/plugins" // every provider of plugins/, in-process
	"github.com/idplug/idplug/sdk"
	"github.com/idplug/idplug/sdk/sdktest"
)

// The transport conformance suite: every provider of plugins/ is loaded
// through a plugin.Loader, as a host loads it, three ways — linked
// in-process, as a WebAssembly module and as a subprocess plugin — and every
// call must give the same answer, value or error, for the same input over
// all three: describe, configure with good and bad settings, prepare and
// interpret over generic exchanges and the provider's recorded ones
// (plugins/<name>/testdata/*.json), and identity.
//
// The modules and executables are make plugins' (bin/plugins, which make
// test passes in IDPLUG_PLUGINS); whatever is missing there is built.

// pluginsDir is plugins/, seen from this package.
const pluginsDir = "../../plugins"

// warmEnv asks this test binary to compile the WebAssembly modules named by
// its arguments into the compilation cache the variable names, instead of
// running tests: see warmCache.
const warmEnv = "IDPLUG_PLUGIN_TEST_WARM"

func TestMain(m *testing.M) {
	if dir := os.Getenv(warmEnv); dir != "" {
		if err := warm(dir, os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// providers lists the providers of plugins/: each of its directories.
func providers(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(pluginsDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatal("found no provider in plugins/")
	}
	return names
}

// built is where a provider's plugin files are.
type built struct{ wasm, command string }

// buildPlugins returns the WebAssembly module and the subprocess executable
// of each provider: make plugins' from $IDPLUG_PLUGINS when it holds them,
// else built from plugins/<name>/cmd into dir, in parallel.
func buildPlugins(t *testing.T, names []string, dir string) map[string]built {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	find := func(file, pkg string, env ...string) string {
		if made := os.Getenv("IDPLUG_PLUGINS"); made != "" {
			if path := filepath.Join(made, file); fileExists(path) {
				return path
			}
		}
		path := filepath.Join(dir, file)
		wg.Go(func() {
			args := []string{"build", "-o", path}
			if len(env) > 0 {
				args = append(args, "-buildmode=c-shared")
			}
			cmd := exec.Command("go", append(args, pkg)...)
			cmd.Env = append(os.Environ(), env...)
			if b, err := cmd.CombinedOutput(); err != nil {
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, b))
			}
		})
		return path
	}
	out := map[string]built{}
	for _, name := range names {
		pkg := "github.com/idplug/idplug/plugins/" + name + "/cmd"
		out[name] = built{
			wasm:    find(name+".wasm", pkg, "GOOS=wasip1", "GOARCH=wasm"),
			command: find("idplug-plugin-"+name, pkg),
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return out
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// pin returns the sha256 of the file at path, as a configuration pins it.
func pin(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// sources returns the [plugins] entries of files, named by their base
// names, each pinned; kind picks the module or the executable.
func sources(files map[string]built, kind func(built) plugin.Source) (map[string]plugin.Source, error) {
	out := map[string]plugin.Source{}
	for name, b := range files {
		src := kind(b)
		sum, err := pin(cmp.Or(src.Wasm, src.Command))
		if err != nil {
			return nil, err
		}
		src.SHA256, src.Where = sum, "conformance: plugins."+name
		out[name] = src
	}
	return out, nil
}

func wasmSource(b built) plugin.Source    { return plugin.Source{Wasm: b.wasm} }
func commandSource(b built) plugin.Source { return plugin.Source{Command: b.command} }

// raceEnabled reports whether this test binary runs under the race
// detector, under which wazero's compiler is some twenty times slower.
func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// warmCache compiles the modules of files into the compilation cache dir
// with this package's test binary built without the race detector, when
// these tests run under it. (A test binary of this module, so that wazero
// files the code under the same version as here.)
func warmCache(t *testing.T, tmp, dir string, files map[string]built) {
	t.Helper()
	if !raceEnabled() {
		return
	}
	warmer := filepath.Join(tmp, "warm.test")
	if out, err := exec.Command("go", "test", "-c", "-o", warmer, ".").CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	var modules []string
	for _, b := range files {
		modules = append(modules, b.wasm)
	}
	cmd := exec.Command(warmer, modules...)
	cmd.Env = append(os.Environ(), warmEnv+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("warming the compilation cache: %v\n%s", err, out)
	}
}

// warm loads the modules in files through a Loader whose compilation cache
// is dir, which compiles them into it.
func warm(dir string, files []string) error {
	byName := map[string]built{}
	for _, f := range files {
		byName[filepath.Base(f)] = built{wasm: f}
	}
	srcs, err := sources(byName, wasmSource)
	if err != nil {
		return err
	}
	ctx := context.Background()
	l := plugin.NewLoader(plugin.Options{Sources: srcs, CacheDir: dir})
	defer l.Close(ctx)
	for name := range srcs {
		if _, err := l.Load(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// transport is one way to load every provider.
type transport struct {
	name   string
	loader *plugin.Loader
}

// transports returns a Loader per transport for the providers names, the
// in-process one first.
func transports(t *testing.T, names []string) []transport {
	t.Helper()
	registered := map[string]bool{}
	for _, p := range sdk.Registered() {
		registered[p.Describe().Name] = true
	}
	for _, name := range names {
		if !registered[name] {
			t.Errorf("plugins/%s is not linked in-process under its name: import it in plugins/plugins.go, and make its Describe name it %q", name, name)
		}
	}
	tmp := t.TempDir()
	files := buildPlugins(t, names, tmp)
	cache := filepath.Join(tmp, "wazero")
	warmCache(t, tmp, cache, files)
	quiet := slog.New(slog.DiscardHandler)
	modules, err := sources(files, wasmSource)
	if err != nil {
		t.Fatal(err)
	}
	commands, err := sources(files, commandSource)
	if err != nil {
		t.Fatal(err)
	}
	out := []transport{
		{"in-process", plugin.NewLoader(plugin.Options{Providers: sdk.Registered(), Logger: quiet})},
		{"wasm", plugin.NewLoader(plugin.Options{Sources: modules, CacheDir: cache, Logger: quiet})},
		{"subprocess", plugin.NewLoader(plugin.Options{Sources: commands, Logger: quiet})},
	}
	t.Cleanup(func() {
		for _, tr := range out {
			if err := tr.loader.Close(context.Background()); err != nil {
				t.Errorf("closing the %s loader: %v", tr.name, err)
			}
		}
	})
	return out
}

// outcome is a call's answer as the suite compares it.
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

// configured is configure's answer.
type configured struct {
	Spec *sdk.ProviderSpec
	Errs []sdk.ConfigError
}

func TestConformance(t *testing.T) {
	names := providers(t)
	trs := transports(t, names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			plugins := make([]*plugin.Plugin, len(trs))
			labels := make([]string, len(trs))
			for i, tr := range trs {
				p, err := tr.loader.Load(t.Context(), name)
				if err != nil {
					t.Fatalf("%s: %v", tr.name, err)
				}
				plugins[i], labels[i] = p, tr.name
			}
			if info := plugins[0].Info(); info.Name != name {
				t.Errorf("describe names the provider %q, want %q", info.Name, name)
			}
			conform(t, name, plugins, labels, func(info sdk.PluginInfo) any { return info })
		})
	}
}

// conform requires plugins, the provider name of plugins/ as each transport
// labels gives it, to answer identically: describe (as described returns
// it), configure with good and bad settings, prepare and interpret over
// generic exchanges and the provider's recorded ones, and identity.
func conform(t *testing.T, name string, plugins []*plugin.Plugin, labels []string, described func(sdk.PluginInfo) any) {
	ctx := t.Context()
	same := func(what string, call func(p *plugin.Plugin) outcome) outcome {
		t.Helper()
		want := call(plugins[0])
		for i, p := range plugins[1:] {
			if diff := gocmp.Diff(want, call(p)); diff != "" {
				t.Errorf("%s: %s and %s differ (-%[2]s +%[3]s):\n%[4]s", what, labels[0], labels[i+1], diff)
			}
		}
		return want
	}

	same("describe", func(p *plugin.Plugin) outcome { return result(described(p.Info()), nil) })
	info := plugins[0].Info()
	rec := loadRecorded(t, name, info)

	specs := 0
	for _, tc := range settingCases(info, rec.settings) {
		for _, client := range []sdk.Client{
			{ClientID: "cli"},
			{ClientID: "cli", ClientSecret: "s3cret", Scopes: []string{"openid", "groups"}},
		} {
			o := same("configure "+tc.name, func(p *plugin.Plugin) outcome {
				spec, errs, err := p.Configure(ctx, tc.settings, client)
				return result(configured{spec, errs}, err)
			})
			if c, _ := o.Value.(configured); c.Spec != nil {
				specs++
			}
		}
	}
	if specs == 0 {
		t.Errorf("no settings gave a spec: the comparisons of configure compared failures only")
	}

	for _, ex := range sdk.Exchanges {
		req := requests[ex]
		same(fmt.Sprintf("prepare %s", ex), func(p *plugin.Plugin) outcome {
			return result(p.Prepare(ctx, ex, req))
		})
		for i, resp := range append(responses[ex], rec.responses[ex]...) {
			same(fmt.Sprintf("interpret %s #%d", ex, i), func(p *plugin.Plugin) outcome {
				return result(p.Interpret(ctx, ex, resp))
			})
		}
	}

	settings := []map[string]string{{}}
	if len(rec.settings) > 0 {
		settings = append(settings, rec.settings)
	}
	for i, c := range append(claims, rec.claims...) {
		for _, settings := range settings {
			same(fmt.Sprintf("identity #%d with settings %v", i, settings), func(p *plugin.Plugin) outcome {
				return result(p.Identity(ctx, settings, c.idToken, c.userinfo))
			})
		}
	}
}

// recorded is what the suite takes from a provider's testdata/*.json: the
// responses by exchange (sdktest.Recorded, one or a list, under the
// exchange's name), ID token claims and userinfo, and the values of settings
// the provider declares.
type recorded struct {
	responses map[sdk.Exchange][]sdk.HTTPResponse
	claims    []claimsCase
	settings  map[string]string
}

func loadRecorded(t *testing.T, name string, info sdk.PluginInfo) recorded {
	t.Helper()
	rec := recorded{responses: map[sdk.Exchange][]sdk.HTTPResponse{}, settings: map[string]string{}}
	files, err := filepath.Glob(filepath.Join(pluginsDir, name, "testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		var doc map[string]json.RawMessage
		sdktest.Load(t, f, &doc)
		for _, ex := range sdk.Exchanges {
			raw, ok := doc[string(ex)]
			if !ok {
				continue
			}
			var list []sdktest.Recorded
			if err := json.Unmarshal(raw, &list); err != nil {
				var one sdktest.Recorded
				if err := json.Unmarshal(raw, &one); err != nil {
					t.Fatalf("%s: %s: neither a recorded response nor a list of them: %v", f, ex, err)
				}
				list = []sdktest.Recorded{one}
			}
			for _, r := range list {
				rec.responses[ex] = append(rec.responses[ex], r.Response())
			}
		}
		var c claimsCase
		for key, claims := range map[string]*sdk.Claims{"id_token_claims": &c.idToken, "userinfo": &c.userinfo} {
			if raw, ok := doc[key]; ok {
				if err := json.Unmarshal(raw, claims); err != nil {
					t.Fatalf("%s: %s: %v", f, key, err)
				}
			}
		}
		if c.idToken != nil || c.userinfo != nil {
			rec.claims = append(rec.claims, c)
		}
		for _, s := range info.Settings {
			if raw, ok := doc[s.Name]; ok {
				var v string
				if err := json.Unmarshal(raw, &v); err != nil {
					t.Fatalf("%s: setting %s: %v", f, s.Name, err)
				}
				rec.settings[s.Name] = v
			}
		}
	}
	return rec
}

type settingsCase struct {
	name     string
	settings map[string]string
}

// settingCases derives good and bad settings from what a provider declares,
// and adds those of its recordings.
func settingCases(info sdk.PluginInfo, recorded map[string]string) []settingsCase {
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
	cases := []settingsCase{
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
	if len(recorded) > 0 {
		m := with(required, func(_, v string) string { return v })
		maps.Copy(m, recorded)
		cases = append(cases, settingsCase{"recorded settings", m})
	}
	return cases
}

var (
	form    = []sdk.Header{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}, {Name: "Accept", Value: "application/json"}}
	jsonHdr = []sdk.Header{{Name: "Content-Type", Value: "application/json"}, {Name: "Cache-Control", Value: "no-store"}}
	htmlHdr = []sdk.Header{{Name: "Content-Type", Value: "text/html"}}
)

// requests are requests of each exchange as the host sends them.
var requests = map[sdk.Exchange]sdk.HTTPRequest{
	sdk.ExchangeDiscovery:           {Method: "GET", URL: "https://idp.example.com/.well-known/openid-configuration", Headers: []sdk.Header{{Name: "Accept", Value: "application/json"}}},
	sdk.ExchangeDeviceAuthorization: {Method: "POST", URL: "https://idp.example.com/oauth/device/code", Headers: form, Body: "client_id=cli&scope=openid+profile+email+offline_access"},
	sdk.ExchangeTokenPoll:           {Method: "POST", URL: "https://idp.example.com/oauth/token", Headers: form, Body: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=Ag_EE&client_id=cli"},
	sdk.ExchangeRefresh:             {Method: "POST", URL: "https://idp.example.com/oauth/token", Headers: form, Body: "grant_type=refresh_token&refresh_token=rt&client_id=cli"},
	sdk.ExchangeRevocation:          {Method: "POST", URL: "https://idp.example.com/oauth/revoke", Headers: form, Body: "token=rt&token_type_hint=refresh_token&client_id=cli"},
	sdk.ExchangeUserinfo:            {Method: "GET", URL: "https://idp.example.com/userinfo", Headers: []sdk.Header{{Name: "Authorization", Value: "Bearer at"}}},
}

// responses are answers of each exchange in the shapes IdPs use, Auth0's,
// Keycloak's, Cognito's and standard ones, besides each provider's
// recorded ones.
var responses = map[sdk.Exchange][]sdk.HTTPResponse{
	sdk.ExchangeDiscovery: {
		{Status: 200, Headers: jsonHdr, Body: `{"issuer":"https://idp.example.com","device_authorization_endpoint":"https://idp.example.com/device","token_endpoint":"https://idp.example.com/token","jwks_uri":"https://idp.example.com/jwks"}`},
		{Status: 404, Headers: htmlHdr, Body: "<html>Not Found</html>"},
	},
	sdk.ExchangeDeviceAuthorization: {
		{Status: 200, Headers: jsonHdr, Body: `{"device_code":"Ag_EE","user_code":"WDJB-MJHT","verification_uri":"https://idp.example.com/activate","verification_uri_complete":"https://idp.example.com/activate?user_code=WDJB-MJHT","expires_in":900,"interval":5}`},
		{Status: 200, Headers: jsonHdr, Body: `{"device_code":"Ag_EE","user_code":"WDJB-MJHT","verification_url":"https://idp.example.com/activate","expires_in":"900"}`},
		{Status: 400, Headers: jsonHdr, Body: `{"error":"unauthorized_client","error_description":"Grant type not allowed for the client."}`},
		{Status: 403, Headers: jsonHdr, Body: `{"error":"access_denied","error_description":"Unauthorized"}`},
	},
	sdk.ExchangeTokenPoll: {
		{Status: 400, Headers: jsonHdr, Body: `{"error":"authorization_pending"}`},
		{Status: 403, Headers: jsonHdr, Body: `{"error":"authorization_pending","error_description":"User has yet to authorize device code."}`},
		{Status: 429, Headers: jsonHdr, Body: `{"error":"slow_down"}`},
		{Status: 400, Headers: jsonHdr, Body: `{"error":"expired_token"}`},
		{Status: 403, Headers: jsonHdr, Body: `{"error":"access_denied","error_description":"User denied"}`},
		{Status: 400, Headers: jsonHdr, Body: `{"error":"denied"}`},
		{Status: 400, Headers: jsonHdr, Body: `{"error":"invalid_grant","error_description":"Invalid device code"}`},
		{Status: 200, Headers: jsonHdr, Body: `{"access_token":"at","refresh_token":"rt","id_token":"a.b.c","token_type":"Bearer","expires_in":3600,"scope":"openid profile"}`},
		{Status: 503, Headers: htmlHdr, Body: "<html>upstream unavailable</html>"},
	},
	sdk.ExchangeRefresh: {
		{Status: 200, Headers: jsonHdr, Body: `{"access_token":"at2","token_type":"bearer","expires_in":3600}`},
		{Status: 400, Headers: jsonHdr, Body: `{"error":"invalid_grant","error_description":"Token is not active"}`},
	},
	sdk.ExchangeRevocation: {
		{Status: 200, Headers: nil, Body: ""},
		{Status: 400, Headers: jsonHdr, Body: `{"error":"unsupported_token_type"}`},
	},
	sdk.ExchangeUserinfo: {
		{Status: 200, Headers: jsonHdr, Body: `{"sub":"u-1","email":"alice@example.com","name":"Alice"}`},
		{Status: 401, Headers: []sdk.Header{{Name: "WWW-Authenticate", Value: `Bearer error="invalid_token"`}}, Body: ""},
	},
}

// claimsCase is an ID token's claims and a userinfo response.
type claimsCase struct{ idToken, userinfo sdk.Claims }

// claims are ID token claims and userinfo responses in the shapes IdPs use,
// besides each provider's recorded ones.
var claims = []claimsCase{
	{sdk.Claims{"sub": "u-1", "preferred_username": "alice", "email": "alice@example.com", "groups": []any{"admins", "dev"}}, sdk.Claims{"sub": "u-1", "name": "Alice Liddell"}},
	{sdk.Claims{"sub": "auth0|42", "nickname": "ada", "email": "ada@example.com", "https://example.com/roles": []any{"admin"}}, sdk.Claims{"name": "Ada Lovelace", "picture": "https://example.com/ada.png"}},
	{sdk.Claims{"sub": "f81d4fae", "preferred_username": "bob", "realm_access": map[string]any{"roles": []any{"offline_access", "ops"}}, "resource_access": map[string]any{"cli": map[string]any{"roles": []any{"reader"}}}}, nil},
	{sdk.Claims{"sub": "9a1b", "cognito:username": "carol", "cognito:groups": []any{"eu-admins"}, "email": "carol@example.com", "email_verified": true}, sdk.Claims{"username": "carol"}},
	{sdk.Claims{"sub": "s", "groups": "single"}, sdk.Claims{"sub": "other"}},
	{nil, nil},
}
