package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/idplug/idplug/host"
	"github.com/idplug/idplug/internal/demoidp"
	"github.com/idplug/idplug/sdk"
)

// hostile is text a plugin or an identity provider could send to take over
// the terminal that shows it: retitle the window (OSC 0, ended by BEL), clear
// the screen (CSI 2J), a hyperlink (OSC 8) to somewhere else than it says,
// the 8-bit CSI (U+009B), a right-to-left override, and a carriage return
// and newline that start a forged line of idplug's own.
const hostile = "\x1b]0;pwned\x07\x1b[2J\x1b]8;;https://evil.example/\x1b\\https://idp.example/\x1b]8;;\x1b\\ \u009b31m \u202Etxt.exe\r\nidplug: login succeeded\t."

// assertTerminalSafe fails t when out holds anything but valid UTF-8 free of
// control characters other than newline, of bidirectional formatting
// characters and of the line and paragraph separators, or a line forged to
// look like one of idplug's own.
func assertTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(out[i:], "\uFFFD"):
			t.Errorf("%s: byte %#x at %d is not UTF-8:\n%q", what, out[i], i, out)
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

// hostileProvider is a provider whose every text is hostile. It logs in
// through the demo IdP; its identity is hostile too, and with the setting
// fail = true, configure fails with a hostile message.
type hostileProvider struct{ name string }

func (p hostileProvider) Describe() sdk.PluginInfo {
	return sdk.PluginInfo{Name: p.name, Version: "1.0.0" + hostile, Summary: "Hostile ID " + hostile, Settings: []sdk.SettingSpec{
		{Name: "issuer", Type: sdk.SettingURL, Required: true, Help: "the issuer " + hostile},
		{Name: "fail", Type: sdk.SettingBool, Help: "fail " + hostile},
		{Name: "motto", Type: sdk.SettingString, Default: "motto " + hostile, Help: hostile},
	}}
}

func (hostileProvider) Configure(settings map[string]string, _ sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	if settings["fail"] == "true" {
		return sdk.ProviderSpec{}, []sdk.ConfigError{{Setting: "fail", Message: hostile}, {Message: "second problem " + hostile}}
	}
	issuer := settings["issuer"]
	return sdk.ProviderSpec{Issuer: issuer, DiscoveryURL: issuer + "/.well-known/openid-configuration",
		DefaultScopes: []string{"openid", "profile", "email"}}, nil
}

// hostileIdentity is who the hostile provider says is logged in.
var hostileIdentity = sdk.Identity{
	Subject: "sub " + hostile, Username: "alice " + hostile, Name: "Alice " + hostile,
	Email: "alice@example.com " + hostile, Groups: []string{"admins " + hostile, "ops"},
}

func (hostileProvider) Identity(sdk.Claims, sdk.Claims) (sdk.Identity, error) {
	return hostileIdentity, nil
}

// hostileCLI returns a function that runs the reference root command, with
// buffers for its streams, on a configuration whose profiles use the hostile
// provider against a demo IdP, which approves every code the command would
// open in a browser. Profile "ok" logs in; profile "broken" fails in
// configure.
func hostileCLI(t *testing.T) func(args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Setenv("DISPLAY", ":0") // so that login "opens a browser": the function below
	idp, err := demoidp.Start(t.Context(), demoidp.Options{PollInterval: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	dir := t.TempDir()
	config := filepath.Join(dir, "config.toml")
	profile := func(name, extra string) string {
		return fmt.Sprintf("[profiles.%s]\nprovider = \"hostile\"\nclient_id = %q\n[profiles.%s.settings]\nissuer = %q\n%s\n",
			name, demoidp.ClientID, name, idp.URL(), extra)
	}
	text := fmt.Sprintf("default_profile = \"ok\"\n[store]\nbackend = \"file\"\ndir = %q\n", filepath.Join(dir, "tokens")) +
		profile("ok", "") + profile("broken", "fail = true")
	if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	return func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		root := NewRootCommand(Options{
			IO: &IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
			HostOptions: []host.Option{host.WithStateDir(dir), host.WithCacheDir(cache),
				host.WithProvider(hostileProvider{"hostile"}), host.WithProvider(hostileProvider{"z" + hostile})},
			OpenBrowser: func(string) error { return idp.Approve(idp.LastUserCode(), "alice") },
		})
		code := Main(context.Background(), root, append([]string{"--config", config}, args...))
		return out.String(), errOut.String(), code
	}
}

// TestPluginTextReachesNoTerminal: what a plugin's describe says is shown
// by plugins list and plugins info with its control characters escaped,
// and given back exactly by --json.
func TestPluginTextReachesNoTerminal(t *testing.T) {
	run := hostileCLI(t)
	want := hostileProvider{"hostile"}.Describe()

	stdout, stderr, code := run("plugins", "list")
	if code != 0 {
		t.Fatalf("plugins list: exit %d: %s", code, stderr)
	}
	assertTerminalSafe(t, "plugins list", stdout+stderr)
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")[1:] {
		if !strings.Contains(line, "  built-in  ") {
			t.Errorf("plugins list: the table is broken up:\n%s", stdout)
			break
		}
	}
	if !strings.Contains(stdout, `Hostile ID \x1b]0;pwned\a\x1b[2J`) || !strings.Contains(stdout, `z\x1b]0;pwned\a`) {
		t.Errorf("plugins list does not show the escapes:\n%s", stdout)
	}

	stdout, stderr, code = run("plugins", "info", "hostile")
	if code != 0 {
		t.Fatalf("plugins info: exit %d: %s", code, stderr)
	}
	assertTerminalSafe(t, "plugins info", stdout+stderr)
	if n := strings.Count(stdout, `\x1b]0;pwned\a`); n != 6 { // version, summary, three helps, a default
		t.Errorf("plugins info shows the hostile text %d times, want 6:\n%s", n, stdout)
	}

	stdout, _, _ = run("plugins", "list", "--json")
	assertTerminalSafe(t, "plugins list --json", stdout)
	var rows []sdk.PluginInfo
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rows, func(p sdk.PluginInfo) bool { return p.Name == "hostile" })
	if i < 0 || rows[i].Summary != want.Summary || rows[i].Version != want.Version ||
		!slices.ContainsFunc(rows, func(p sdk.PluginInfo) bool { return p.Name == "z"+hostile }) {
		t.Errorf("plugins list --json does not give the exact texts back:\n%s", stdout)
	}

	stdout, _, _ = run("plugins", "info", "hostile", "--json")
	assertTerminalSafe(t, "plugins info --json", stdout)
	var info sdk.PluginInfo
	if err := json.Unmarshal([]byte(stdout), &info); err != nil {
		t.Fatal(err)
	}
	if info.Version != want.Version || info.Summary != want.Summary || !slices.Equal(info.Settings, want.Settings) {
		t.Errorf("plugins info --json = %+v, want the exact texts of %+v", info, want)
	}
}

// TestPluginErrorReachesNoTerminal: a plugin's error message, printed by
// Main, has its control characters escaped, and its lines cannot forge one
// of idplug's own.
func TestPluginErrorReachesNoTerminal(t *testing.T) {
	run := hostileCLI(t)
	stdout, stderr, code := run("--profile", "broken", "login", "--no-browser")
	if code != ExitUsage || stdout != "" {
		t.Fatalf("login: exit %d, stdout %q; want 2 and nothing on stdout", code, stdout)
	}
	assertTerminalSafe(t, "login's error", stderr)
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	// The host makes a plugin's message one line: its forged line stays
	// inside the plugin's, after the escaped controls.
	if !strings.HasPrefix(lines[0], "idplug: ") || !strings.Contains(lines[0], `\u202etxt.exe idplug: login succeeded\t.`) ||
		!strings.Contains(stderr, "second problem") {
		t.Errorf("login's error is not the plugin's messages, escaped:\n%s", stderr)
	}
	for _, line := range lines[1:] {
		if !strings.HasPrefix(line, "  ") {
			t.Errorf("line %q of the error is not indented under its first:\n%s", line, stderr)
		}
	}
}

// TestIdentityReachesNoTerminal: the identity a provider maps is shown by
// login and whoami with its control characters escaped, and given back
// exactly by whoami --json.
func TestIdentityReachesNoTerminal(t *testing.T) {
	run := hostileCLI(t)
	stdout, stderr, code := run("login")
	if code != 0 {
		t.Fatalf("login: exit %d: %s", code, stderr)
	}
	assertTerminalSafe(t, "login", stdout+stderr)
	if !strings.Contains(stderr, `Logged in to profile "ok" as alice \x1b]0;pwned\a`) {
		t.Errorf("login does not say who logged in, escaped:\n%s", stderr)
	}

	stdout, stderr, code = run("whoami")
	if code != 0 {
		t.Fatalf("whoami: exit %d: %s", code, stderr)
	}
	assertTerminalSafe(t, "whoami", stdout+stderr)
	if n := strings.Count(stdout, `\x1b]0;pwned\a`); n != 5 { // username, name, email, subject, groups
		t.Errorf("whoami shows the hostile text %d times, want 5:\n%s", n, stdout)
	}

	stdout, _, _ = run("whoami", "--json")
	assertTerminalSafe(t, "whoami --json", stdout)
	var id host.Identity
	if err := json.Unmarshal([]byte(stdout), &id); err != nil {
		t.Fatal(err)
	}
	want := hostileIdentity
	if id.Subject != want.Subject || id.Username != want.Username || id.Name != want.Name || id.Email != want.Email || !slices.Equal(id.Groups, want.Groups) {
		t.Errorf("whoami --json = %+v, want the exact texts of %+v", id, want)
	}

	stdout, stderr, code = run("status")
	if code != 0 || !strings.Contains(stdout, "logged in") {
		t.Fatalf("status: exit %d: %s%s", code, stdout, stderr)
	}
	assertTerminalSafe(t, "status", stdout+stderr)
}

// TestStatusReachesNoTerminal: status shows profile names, which a quoted
// TOML key may fill with anything, escaped.
func TestStatusReachesNoTerminal(t *testing.T) {
	config := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(config, []byte(`
[profiles."a\u001b]0;pwned\u0007\u202e"]
provider = "oidc"
client_id = "x"
`), 0o600)
	stdout, stderr, code := run(t, "--config", config, "status")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, stderr)
	}
	assertTerminalSafe(t, "status", stdout+stderr)
	if !strings.Contains(stdout, `a\x1b]0;pwned\a\u202e`) {
		t.Errorf("status does not show the profile, escaped:\n%s", stdout)
	}
	stdout, _, _ = run(t, "--config", config, "status", "--json")
	var rows []host.Status
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil || len(rows) != 1 || rows[0].Profile != "a\x1b]0;pwned\x07\u202e" {
		t.Errorf("status --json = %s (%v), want the exact profile name", stdout, err)
	}
}

// TestDeviceCodeReachesNoTerminal: the verification URI and user code the
// identity provider sent, and its poll errors, are escaped where login
// shows them. (The engine refuses such URIs and codes already.)
func TestDeviceCodeReachesNoTerminal(t *testing.T) {
	var b bytes.Buffer
	showCode(&b, host.DeviceCode{
		VerificationURI: "https://idp.example/device" + hostile, VerificationURIComplete: "https://idp.example/device?c=1" + hostile,
		UserCode: "ABCD" + hostile,
	}, false, "work")
	b.WriteString(describePoll(host.PollEvent{Kind: host.PollRetrying, Err: errors.New(hostile), Next: time.Now()}))
	assertTerminalSafe(t, "login's code", b.String())
	if n := strings.Count(b.String(), `\x1b]0;pwned\a`); n != 4 {
		t.Errorf("the hostile text shows %d times, want 4:\n%s", n, b.String())
	}
}

// TestErrorLines: Main prints an error of several lines with the lines after
// the first indented, so that none passes for a message of its own.
func TestErrorLines(t *testing.T) {
	var out, errOut bytes.Buffer
	root := NewRootCommand(Options{IO: &IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}})
	root.AddCommand(&cobra.Command{Use: "fail", RunE: func(*cobra.Command, []string) error {
		return hintError{errors.New("config.toml:1: first\nidplug: login succeeded\n\nconfig.toml:9: \x1b[2Jlast"), "do \x1b]0;x\x07this"}
	}})
	Main(context.Background(), root, []string{"fail"})
	want := "idplug: config.toml:1: first\n  idplug: login succeeded\n\n  config.toml:9: \\x1b[2Jlast\ndo \\x1b]0;x\\athis\n"
	if errOut.String() != want {
		t.Errorf("stderr\n got %q\nwant %q", errOut.String(), want)
	}
}

// TestJSONStaysExact: JSON output escapes what could drive a terminal, and
// decodes to exactly the values written.
func TestJSONStaysExact(t *testing.T) {
	var b bytes.Buffer
	writeJSON(&b, pollJSON{Event: "retrying", Message: hostile + "\x7f\u2028<&>"})
	assertTerminalSafe(t, "a JSON event", strings.TrimSuffix(b.String(), "\n"))
	var ev pollJSON
	if err := json.Unmarshal(b.Bytes(), &ev); err != nil || ev.Message != hostile+"\x7f\u2028<&>" {
		t.Errorf("%s decodes to %q, %v; want the exact message", b.String(), ev.Message, err)
	}
}
