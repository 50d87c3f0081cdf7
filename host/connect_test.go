package host

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idplug/idplug/sdk"
)

// TestProviderErrorsNameOnePosition: a profile whose provider cannot load is
// reported at one position: the [plugins] entry when the failure is about
// it, else the profile's provider key.
func TestProviderErrorsNameOnePosition(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "acme.wasm")
	config := fmt.Sprintf(`[profiles.a]
provider = "acme"
client_id = "cli"

[profiles.b]
provider = "nobody"
client_id = "cli"

[plugins.acme]
wasm = %q
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
`, missing)
	h := embedded(t, t.TempDir(), WithDefaultConfig(config))
	for profile, want := range map[string]string{
		"a": "<mytool built-in defaults>:9: plugins.acme: cannot read the module",
		"b": `<mytool built-in defaults>:5: profiles.b.provider: provider "nobody" is neither built in nor configured under [plugins]`,
	} {
		s, err := h.Session(profile)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Identity(testContext(t))
		if errors.Is(err, ErrNotLoggedIn) {
			_, err = s.Login(testContext(t), LoginOptions{})
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), want) || strings.Count(err.Error(), "defaults>:") != 1 {
			t.Errorf("profile %s: %v; want a *ConfigError starting %q, naming one position", profile, err, want)
		}
	}
}

// TestStateDirIgnoresRelativeXDG: a relative XDG_STATE_HOME is ignored, as
// the XDG Base Directory specification says, for ~/.local/state.
func TestStateDirIgnoresRelativeXDG(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for env, want := range map[string]string{
		"relative/state": filepath.Join(home, ".local", "state", "mytool"),
		"":               filepath.Join(home, ".local", "state", "mytool"),
		"/abs/state":     filepath.Join("/abs/state", "mytool"),
	} {
		t.Setenv("XDG_STATE_HOME", env)
		if got := defaultStateDir("mytool"); got != want {
			t.Errorf("XDG_STATE_HOME=%q: %s, want %s", env, got, want)
		}
	}
}

// liar is a provider whose configuration errors try to start lines of their
// own.
type liar struct{}

func (liar) Describe() sdk.PluginInfo { return sdk.PluginInfo{Name: "liar", Version: "1"} }

func (liar) Configure(map[string]string, sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	return sdk.ProviderSpec{}, []sdk.ConfigError{{Message: "bad\nidplug: login succeeded\r\n"}}
}

// TestConfigErrorsAreOneLine: a plugin's configuration error is one line of
// the message, whatever line breaks it carries.
func TestConfigErrorsAreOneLine(t *testing.T) {
	h := embedded(t, t.TempDir(), WithDefaultConfig("[profiles.l]\nprovider = \"liar\"\nclient_id = \"cli\"\n"), WithProvider(liar{}))
	s, _ := h.Session("l")
	_, err := s.Login(testContext(t), LoginOptions{})
	if err == nil || strings.ContainsAny(err.Error(), "\r\n") || !strings.Contains(err.Error(), "bad idplug: login succeeded") {
		t.Errorf("Login: %q; want the plugin's message on one line", err)
	}
}
