package main_test

// End-to-end tests of what a hostile plugin's texts do to the terminal: a
// subprocess plugin whose describe, identity and errors are full of escape
// sequences. The plugin is this test binary itself, copied under the name
// idplug-plugin-hostile (or -broken): run by that name, it serves the
// plugin instead of running the tests.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/idplug/idplug/internal/demoidp"
	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
)

// hostile retitles the window, clears the screen, hides a link (OSC 8),
// starts a CSI with the 8-bit introducer, reverses the text that follows
// and forges a line of idplug's own.
const hostile = "\x1b]0;pwned\x07\x1b[2J\x1b]8;;https://evil.example/\x1b\\https://idp.example/\x1b]8;;\x1b\\ \u009b31m \u202Etxt.exe\r\nidplug: login succeeded\t."

// init serves a hostile plugin instead of running the tests when the
// binary runs as one.
func init() {
	switch filepath.Base(os.Args[0]) {
	case "idplug-plugin-hostile":
		serveHostile(func(fn wire.Function, in []byte) []byte { return wire.Handle(hostileProvider{}, fn, in) })
	case "idplug-plugin-broken":
		serveHostile(func(wire.Function, []byte) []byte {
			out, _ := json.Marshal(wire.Result{Error: "broken " + hostile})
			return out
		})
	}
}

// serveHostile serves handle as a subprocess plugin, as sdk/serve does,
// and exits.
func serveHostile(handle wire.Handler) {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: wire.Handshake(),
		Plugins:         goplugin.PluginSet{wire.PluginName: &wire.GRPCPlugin{Handle: handle}},
		GRPCServer:      goplugin.DefaultGRPCServer,
		Logger:          hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Debug}),
	})
	os.Exit(0)
}

// hostileProvider logs in through the demo IdP; every text it gives is
// hostile.
type hostileProvider struct{}

func (hostileProvider) Describe() sdk.PluginInfo {
	return sdk.PluginInfo{Name: "hostile", Version: "1.0.0" + hostile, Summary: "Hostile ID " + hostile, Settings: []sdk.SettingSpec{
		{Name: "issuer", Type: sdk.SettingURL, Required: true, Help: "the issuer " + hostile},
		{Name: "motto", Type: sdk.SettingString, Default: "motto " + hostile, Help: hostile},
	}}
}

func (hostileProvider) Configure(settings map[string]string, _ sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	issuer := settings["issuer"]
	return sdk.ProviderSpec{Issuer: issuer, DiscoveryURL: issuer + "/.well-known/openid-configuration",
		DefaultScopes: []string{"openid", "profile", "email"}}, nil
}

var hostileIdentity = sdk.Identity{
	Subject: "sub " + hostile, Username: "alice " + hostile, Name: "Alice " + hostile,
	Email: "alice@example.com " + hostile, Groups: []string{"admins " + hostile},
}

func (hostileProvider) Identity(sdk.Claims, sdk.Claims) (sdk.Identity, error) {
	return hostileIdentity, nil
}

// terminalSafe fails t when out holds anything but valid UTF-8 free of
// control characters other than newline, of bidirectional formatting
// characters and of the line and paragraph separators, or a line forged to
// look like one of idplug's own.
func terminalSafe(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(out[i:], "\uFFFD"):
			t.Errorf("%s: byte %#x at %d is not UTF-8:\n%q", what, out[i], i, out)
			return
		case r < 0x20 && r != '\n', r >= 0x7f && r <= 0x9f,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c,
			r == 0x2028, r == 0x2029:
			t.Errorf("%s: %U at %d reaches the terminal:\n%q", what, r, i, out)
			return
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "idplug: login succeeded") {
			t.Errorf("%s: a forged line of its own:\n%s", what, out)
		}
	}
}

// listRow is one object of plugins list --json.
type listRow struct {
	sdk.PluginInfo
	Error string `json:"error"`
}

// TestHostilePluginTerminal loads the hostile subprocess plugins through
// the configuration, as a user vetting a stranger's plugin would, and logs
// in through one: nothing they say drives the terminal, and --json gives
// their texts back exactly.
func TestHostilePluginTerminal(t *testing.T) {
	e := newEnv(t, demoidp.Options{})
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	var plugins strings.Builder
	for _, name := range []string{"hostile", "broken"} {
		exe := filepath.Join(e.dir, "bin", "idplug-plugin-"+name)
		if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(exe, b, 0o755); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&plugins, "[plugins.%s]\ncommand = %q\nsha256 = %q\n", name, exe, hex.EncodeToString(sum[:]))
	}
	e.writeConfig(fmt.Sprintf(`
default_profile = "demo"
[store]
backend = "file"
dir = %q
[profiles.demo]
provider  = "hostile"
client_id = %q
[profiles.demo.settings]
issuer = %q
%s`, filepath.Join(e.dir, "tokens"), demoidp.ClientID, e.idp.URL(), plugins.String()))

	want := hostileProvider{}.Describe()
	r := e.run("plugins", "list")
	terminalSafe(t, "plugins list", r.stdout+r.stderr)
	if r.code != 0 || !strings.Contains(r.stdout, `Hostile ID \x1b]0;pwned\a`) || !strings.Contains(r.stdout, `error: `) {
		t.Errorf("plugins list: exit %d, want both plugins, escaped:\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = e.run("plugins", "list", "--json")
	terminalSafe(t, "plugins list --json", r.stdout)
	var rows []listRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatal(err)
	}
	firstLine, _, _ := strings.Cut("broken "+hostile, "\n") // a plugin's failure is its first line
	if !slices.ContainsFunc(rows, func(r listRow) bool { return r.Summary == want.Summary && r.Version == want.Version }) ||
		!slices.ContainsFunc(rows, func(r listRow) bool { return r.Name == "broken" && strings.Contains(r.Error, firstLine) }) {
		t.Errorf("plugins list --json does not give the exact texts back:\n%s", r.stdout)
	}

	r = e.run("plugins", "info", "hostile")
	terminalSafe(t, "plugins info", r.stdout+r.stderr)
	if n := strings.Count(r.stdout, `\x1b]0;pwned\a`); r.code != 0 || n != 5 { // version, summary, two helps, a default
		t.Errorf("plugins info: exit %d, the hostile text %d times, want 5:\n%s%s", r.code, n, r.stdout, r.stderr)
	}
	r = e.run("plugins", "info", "hostile", "--json")
	terminalSafe(t, "plugins info --json", r.stdout)
	var info sdk.PluginInfo
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
		t.Fatal(err)
	}
	if info.Version != want.Version || info.Summary != want.Summary || !slices.Equal(info.Settings, want.Settings) {
		t.Errorf("plugins info --json = %+v, want the exact texts of %+v", info, want)
	}
	r = e.run("plugins", "info", "broken")
	terminalSafe(t, "plugins info broken", r.stdout+r.stderr)
	if r.code == 0 || !strings.Contains(r.stderr, `broken \x1b]0;pwned\a`) {
		t.Errorf("plugins info broken: exit %d, want its error, escaped:\n%s", r.code, r.stderr)
	}

	// Login as a user does, reading the code from stderr.
	text := e.loginByHand(e.command(t.Context(), "login", "--no-browser"), nil)
	terminalSafe(t, "login", text)
	if !strings.Contains(text, `Logged in to profile "demo" as alice \x1b]0;pwned\a`) {
		t.Errorf("login does not say who logged in, escaped:\n%s", text)
	}

	r = e.run("whoami")
	terminalSafe(t, "whoami", r.stdout+r.stderr)
	if n := strings.Count(r.stdout, `\x1b]0;pwned\a`); r.code != 0 || n != 5 { // username, name, email, subject, groups
		t.Errorf("whoami: exit %d, the hostile text %d times, want 5:\n%s%s", r.code, n, r.stdout, r.stderr)
	}
	r = e.run("whoami", "--json")
	terminalSafe(t, "whoami --json", r.stdout)
	var id struct {
		Subject, Username, Name, Email string
		Groups                         []string
	}
	if err := json.Unmarshal([]byte(r.stdout), &id); err != nil {
		t.Fatal(err)
	}
	if w := hostileIdentity; id.Subject != w.Subject || id.Username != w.Username || id.Name != w.Name || id.Email != w.Email || !slices.Equal(id.Groups, w.Groups) {
		t.Errorf("whoami --json = %+v, want the exact texts of %+v", id, w)
	}
}
