package host

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idplug/idplug/sdk"
)

// defaults is a tool's compiled-in configuration: one profile of the
// built-in oidc provider at idp.
func toolDefaults(idp *fakeIdP, dir string) string {
	return fmt.Sprintf(`
default_profile = "work"
[store]
backend = "file"
dir = %q
[profiles.work]
provider  = "oidc"
client_id = "cli"
[profiles.work.settings]
issuer = %q
`, filepath.Join(dir, "tokens"), idp.URL)
}

// embedded opens a host as a tool "mytool" with compiled-in defaults would,
// with HOME and XDG_CONFIG_HOME at home: the configuration file, if any, is
// home/.config/mytool/config.toml.
func embedded(t *testing.T, home string, opts ...Option) *Host {
	t.Helper()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("MYTOOL_CONFIG", "")
	opts = append([]Option{WithApp("mytool"), WithCacheDir(testCache()), WithWarnings(&strings.Builder{})}, opts...)
	h, err := Open(testContext(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// TestDefaultConfigAlone: with no file, a tool's defaults serve, and a login
// works out of the box.
func TestDefaultConfigAlone(t *testing.T) {
	idp := newFakeIdP(t)
	h := embedded(t, t.TempDir(), WithDefaultConfig(toolDefaults(idp, t.TempDir())))
	s, err := h.Session("")
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Login(testContext(t), LoginOptions{})
	if err != nil || id.Subject != "alice" || id.Profile != "work" {
		t.Fatalf("Login = %+v, %v", id, err)
	}
}

// TestDefaultConfigUnderTheFile: the user's file adds a profile and replaces
// a default profile of the same name as a whole.
func TestDefaultConfigUnderTheFile(t *testing.T) {
	idp := newFakeIdP(t)
	home := t.TempDir()
	config := filepath.Join(home, ".config", "mytool", "config.toml")
	os.MkdirAll(filepath.Dir(config), 0o700)
	os.WriteFile(config, []byte(`
[profiles.work]
provider  = "keycloak"
client_id = "other"
[profiles.work.settings]
url   = "https://kc.example.com"
realm = "r"

[profiles.mine]
provider  = "oidc"
client_id = "cli"
[profiles.mine.settings]
issuer = "https://idp.example.com"
`), 0o600)
	h := embedded(t, home, WithDefaultConfig(toolDefaults(idp, t.TempDir())))
	var providers []string
	for _, st := range h.Status(testContext(t)) {
		providers = append(providers, st.Profile+"="+st.Provider)
	}
	if got := strings.Join(providers, " "); got != "mine=oidc work=keycloak" {
		t.Fatalf("profiles: %s", got)
	}
}

// acme is a tool's own provider, registered in-process with WithProvider.
type acme struct{ issuer string }

func (acme) Describe() sdk.PluginInfo {
	return sdk.PluginInfo{Name: "acme", Version: "0.1.0", Summary: "Acme ID", Settings: []sdk.SettingSpec{
		{Name: "tenant", Type: sdk.SettingString, Required: true, Help: "your Acme tenant"},
		{Name: "api", Type: sdk.SettingURL, Help: "the API the tokens are for"},
		{Name: "hook", Type: sdk.SettingURL, Secret: true, Help: "a webhook URL with a key in it"},
	}}
}

func (a acme) Configure(map[string]string, sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	return sdk.ProviderSpec{Issuer: a.issuer, DiscoveryURL: a.issuer + "/.well-known/openid-configuration"}, nil
}

// TestWithProvider: a provider the tool registers is offered like a
// built-in, and the host enforces its declared settings before configure.
func TestWithProvider(t *testing.T) {
	idp := newFakeIdP(t)
	profile := func(settings string) string {
		return fmt.Sprintf("[store]\nbackend = \"file\"\ndir = %q\n[profiles.a]\nprovider = \"acme\"\nclient_id = \"cli\"\n[profiles.a.settings]\n%s\n",
			filepath.Join(t.TempDir(), "tokens"), settings)
	}
	for _, tc := range []struct{ settings, want string }{
		{``, `<mytool built-in defaults>:4: profiles.a.settings.tenant: provider "acme" requires this setting (your Acme tenant)`},
		{`tenant = ""`, `profiles.a.settings.tenant: provider "acme" requires this setting (your Acme tenant); it cannot be empty`},
		{`tenant = 7`, `profiles.a.settings.tenant: must be a string in quotes, not an integer`},
		{"tenant = \"t\"\napi = \"http://api.example.com\"", `profiles.a.settings.api: http:// is accepted only for loopback hosts`},
		{"tenant = \"t\"\napi = \"api.example.com\"", `profiles.a.settings.api: must be an absolute https URL`},
		{"tenant = \"t\"\napis = \"x\"", `provider "acme" has no setting "apis" (did you mean "api"?)`},
		{"tenant = \"t\"\nhook = \"hooks.example.com/k3y-s3cret\"", `profiles.a.settings.hook: must be an absolute https URL`},
	} {
		h := embedded(t, t.TempDir(), WithDefaultConfig(profile(tc.settings)), WithProvider(acme{idp.URL}))
		s, err := h.Session("a")
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Login(testContext(t), LoginOptions{})
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "k3y-s3cret") {
			t.Errorf("settings %q: %v, want a *ConfigError containing %q", tc.settings, err, tc.want)
		}
	}
	h := embedded(t, t.TempDir(), WithDefaultConfig(profile(`tenant = "t"`)), WithProvider(acme{idp.URL}))
	s, _ := h.Session("a")
	if id, err := s.Login(testContext(t), LoginOptions{}); err != nil || id.Subject != "alice" {
		t.Fatalf("Login through the tool's provider = %+v, %v", id, err)
	}
	plugins, err := h.Plugins(testContext(t), "acme")
	if err != nil || len(plugins) != 1 || plugins[0].Source != "built-in" || plugins[0].Version != "0.1.0" {
		t.Errorf("Plugins(acme) = %+v, %v", plugins, err)
	}
}

// TestWithWasmPlugin: a module shipped inside the program is loaded without
// a [plugins] entry or pin, in the sandbox, and logs in.
func TestWithWasmPlugin(t *testing.T) {
	module := oidcModule(t)
	idp := newFakeIdP(t)
	config := fmt.Sprintf("[store]\nbackend = \"file\"\ndir = %q\n[profiles.w]\nprovider = \"shipped\"\nclient_id = \"cli\"\n[profiles.w.settings]\nissuer = %q\n",
		filepath.Join(t.TempDir(), "tokens"), idp.URL)
	h := embedded(t, t.TempDir(), WithDefaultConfig(config), WithWasmPlugin("shipped", module))
	s, _ := h.Session("w")
	if id, err := s.Login(testContext(t), LoginOptions{}); err != nil || id.Subject != "alice" {
		t.Fatalf("Login through the shipped module = %+v, %v", id, err)
	}
	plugins, err := h.Plugins(testContext(t), "shipped")
	if err != nil || plugins[0].Source != "embedded" || plugins[0].Name != "shipped" || plugins[0].Summary == "" {
		t.Errorf("Plugins(shipped) = %+v, %v", plugins, err)
	}
}

// oidcModule returns bin/plugins/oidc.wasm as make test built it, or builds
// it.
func oidcModule(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join(os.Getenv("IDPLUG_PLUGINS"), "oidc.wasm")
	if os.Getenv("IDPLUG_PLUGINS") == "" {
		path = filepath.Join(t.TempDir(), "oidc.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", path, "../plugins/oidc/cmd")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building the oidc module: %v\n%s", err, out)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
