package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/idplug/idplug/host"
	"github.com/idplug/idplug/internal/engine"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errors.New("boom"), ExitFailure},
		{&host.ConfigError{Err: errors.New("bad")}, ExitUsage},
		{usageError{errors.New("unknown flag"), "idplug"}, ExitUsage},
		{hintError{fmt.Errorf("poll: %w", engine.ErrExpired), "run login"}, ExitExpired},
		{fmt.Errorf("wrapped: %w", host.ErrNotLoggedIn), ExitNotLoggedIn},
		{fmt.Errorf("poll: %w", engine.ErrDenied), ExitAccessDenied},
		{fmt.Errorf("poll: %w", engine.ErrExpired), ExitExpired},
		{&engine.OAuthError{Code: engine.CodeAccessDenied}, ExitAccessDenied},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// run executes the reference root command with buffers for its streams.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	io := &IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	root := NewRootCommand(Options{IO: io, HostOptions: []host.Option{host.WithStateDir(t.TempDir()), host.WithCacheDir(t.TempDir())}})
	code = Main(context.Background(), root, args)
	return out.String(), errOut.String(), code
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"login", "--no-such-flag"},
		{"token", "extra-argument"},
		{"plugins", "info"},
		{"plugins", "info", "a", "b"},
		{"--profile"},
		{"no-such-command"},
		{"plugins", "no-such-command"},
	} {
		stdout, stderr, code := run(t, args...)
		if code != ExitUsage || !strings.Contains(stderr, "--help' for usage") || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 with a message on stderr only", args, code, stdout, stderr)
		}
	}
	if _, stderr, _ := run(t, "tokne"); !strings.Contains(stderr, `did you mean "token"?`) {
		t.Errorf("tokne: stderr %q lacks a suggestion", stderr)
	}
	// A command that only groups others shows its help.
	for _, args := range [][]string{{}, {"plugins"}, {"help"}, {"plugins", "--help"}} {
		stdout, stderr, code := run(t, args...)
		if code != ExitOK || !strings.Contains(stdout, "Usage:") || stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 0 and help on stdout", args, code, stdout, stderr)
		}
	}
}

func TestMissingConfig(t *testing.T) {
	_, stderr, code := run(t, "--config", filepath.Join(t.TempDir(), "absent.toml"), "token")
	if code != ExitUsage || !strings.Contains(stderr, "absent.toml") {
		t.Errorf("exit %d, stderr %q; want 2 naming the file", code, stderr)
	}
}

func TestProfileSelection(t *testing.T) {
	config := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(config, []byte(`
[profiles.a]
provider = "oidc"
client_id = "x"
[profiles.b]
provider = "oidc"
client_id = "y"
`), 0o600)
	// Two profiles and no default_profile: the user has to choose.
	_, stderr, code := run(t, "--config", config, "token")
	if code != ExitUsage || !strings.Contains(stderr, "a") || !strings.Contains(stderr, "b") {
		t.Errorf("no profile chosen: exit %d, stderr %q; want 2 listing the profiles", code, stderr)
	}
	_, stderr, code = run(t, "--config", config, "--profile", "b", "token")
	if code != ExitNotLoggedIn || !strings.Contains(stderr, "login --profile b") {
		t.Errorf("--profile b: exit %d, stderr %q; want 3 with a login hint", code, stderr)
	}
	t.Setenv("IDPLUG_PROFILE", "nope")
	_, stderr, code = run(t, "--config", config, "token")
	if code != ExitUsage || !strings.Contains(stderr, "nope") {
		t.Errorf("IDPLUG_PROFILE=nope: exit %d, stderr %q; want 2 naming the profile", code, stderr)
	}
}

func TestStatusWithoutLogin(t *testing.T) {
	config := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(config, []byte(`
default_profile = "a"
[profiles.a]
provider = "oidc"
client_id = "x"
[profiles.b]
provider = "oidc"
client_id = "y"
`), 0o600)
	stdout, stderr, code := run(t, "--config", config, "status")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"a *", "b", "logged out"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status output lacks %q:\n%s", want, stdout)
		}
	}
}

// TestJSONEvents checks the login --json events field by field and in the
// order DESIGN.md §4 gives.
func TestJSONEvents(t *testing.T) {
	ev := verificationEvent(host.DeviceCode{
		VerificationURI: "https://idp/device", VerificationURIComplete: "https://idp/device?user_code=AB", UserCode: "AB",
		Expiry: time.Now().Add(600 * time.Second), Interval: 5,
	})
	if ev.ExpiresIn < 598 || ev.ExpiresIn > 600 {
		t.Errorf("expires_in = %d, want about 600", ev.ExpiresIn)
	}
	ev.ExpiresIn = 600
	var b bytes.Buffer
	writeJSON(&b, ev)
	want := `{"event":"verification","verification_uri":"https://idp/device","verification_uri_complete":"https://idp/device?user_code=AB","user_code":"AB","expires_in":600,"interval":5}` + "\n"
	if b.String() != want {
		t.Errorf("verification event\n got %s want %s", b.String(), want)
	}

	b.Reset()
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	writeJSON(&b, authorizedJSON{Event: "authorized", Profile: "work", Provider: "oidc", Subject: "s", Username: "u", ExpiresAt: &exp})
	want = `{"event":"authorized","profile":"work","provider":"oidc","subject":"s","username":"u","expires_at":"2030-01-02T03:04:05Z"}` + "\n"
	if b.String() != want {
		t.Errorf("authorized event\n got %s want %s", b.String(), want)
	}

	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("poll: %w", engine.ErrDenied), "access_denied"},
		{fmt.Errorf("poll: %w", engine.ErrExpired), "expired_token"},
		{&host.ConfigError{Err: errors.New("bad")}, "configuration"},
		{errors.New("boom"), "failed"},
	} {
		if got := errorCode(tc.err); got != tc.want {
			t.Errorf("errorCode(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestWhoamiJSONFields checks that whoami --json has exactly the fields of
// DESIGN.md §4, with groups a list even when there are none.
func TestWhoamiJSONFields(t *testing.T) {
	var b bytes.Buffer
	writeJSON(&b, &host.Identity{Groups: []string{}})
	want := `{"subject":"","username":"","name":"","email":"","groups":[],"provider":"","profile":"","expires_at":null}` + "\n"
	if b.String() != want {
		t.Errorf("whoami --json\n got %s want %s", b.String(), want)
	}
}

func TestLoginHints(t *testing.T) {
	g := &globals{opts: Options{App: "mytool"}, parent: &cobra.Command{Use: "mytool"}}
	for _, err := range []error{
		fmt.Errorf("poll: %w", engine.ErrDenied),
		fmt.Errorf("poll: %w", engine.ErrExpired),
	} {
		var h hintError
		if !errors.As(loginHint(g, "work", err), &h) || !strings.Contains(h.hint, "`mytool login --profile work`") {
			t.Errorf("loginHint(%v) = %q, want a hint to run `mytool login --profile work`", err, h.hint)
		}
	}
}

func TestQRCode(t *testing.T) {
	var b bytes.Buffer
	if err := writeQR(&b, "http://127.0.0.1:8765/device?user_code=ABCD-EFGH"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	// A QR code of version v has 17+4v modules a side; with a two-module
	// quiet zone each way and two modules per character cell vertically.
	width := len([]rune(lines[0]))
	if (width-4-17)%4 != 0 || len(lines) != (width+1)/2 {
		t.Fatalf("QR code is %d×%d cells: not a QR code's shape", width, len(lines))
	}
	if strings.Trim(lines[0], "█") != "" {
		t.Errorf("the first row is not all quiet zone: %q", lines[0])
	}
}

func TestInterrupted(t *testing.T) {
	var out, errOut bytes.Buffer
	io := &IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	root := NewRootCommand(Options{IO: io})
	root.AddCommand(&cobra.Command{Use: "wait", RunE: func(cmd *cobra.Command, _ []string) error {
		<-cmd.Context().Done()
		return fmt.Errorf("polling: %w", cmd.Context().Err())
	}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code := Main(ctx, root, []string{"wait"}); code != ExitFailure || errOut.String() != "idplug: interrupted\n" {
		t.Errorf("exit %d, stderr %q; want 1 and a plain 'interrupted'", code, errOut.String())
	}
}

// TestMountedInAnotherTool runs the commands as the README shows them
// embedded: App "mytool", mounted under "mytool auth". Paths, environment
// variables, help texts and hints are the tool's, and errors are printed
// once, without cobra's usage dump.
func TestMountedInAnotherTool(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	t.Setenv("IDPLUG_CONFIG", filepath.Join(dir, "idplug.toml")) // not the tool's variable
	t.Setenv("IDPLUG_PROFILE", "idplug")
	t.Setenv("MYTOOL_CONFIG", "")
	t.Setenv("MYTOOL_PROFILE", "b")
	profiles := func(names ...string) []byte {
		var b strings.Builder
		b.WriteString("[store]\nbackend = \"file\"\n")
		for _, n := range names {
			fmt.Fprintf(&b, "[profiles.%s]\nprovider = \"oidc\"\nclient_id = \"x\"\n[profiles.%s.settings]\nissuer = \"http://127.0.0.1:1\"\n", n, n)
		}
		return []byte(b.String())
	}
	os.MkdirAll(filepath.Join(dir, "mytool"), 0o700)
	os.WriteFile(filepath.Join(dir, "mytool", "config.toml"), profiles("a", "b"), 0o600)
	cache := t.TempDir()
	mytool := func(args ...string) (stdout, stderr string, code int) {
		var out, errOut bytes.Buffer
		root := &cobra.Command{Use: "mytool"}
		auth := &cobra.Command{Use: "auth", Short: "Sign in to your organisation"}
		auth.SetOut(&out) // the tool's own command writes where the tool says
		Mount(auth, Options{App: "mytool", IO: &IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, HostOptions: []host.Option{host.WithCacheDir(cache)}})
		root.AddCommand(auth)
		code = Main(context.Background(), root, args)
		return out.String(), errOut.String(), code
	}

	_, stderr, code := mytool("auth", "token")
	if code != ExitNotLoggedIn || !strings.Contains(stderr, "`mytool auth login --profile b`") || strings.Contains(stderr, "idplug") {
		t.Errorf("auth token: exit %d, stderr %q; want 3 and a hint to run `mytool auth login --profile b`", code, stderr)
	}
	_, stderr, code = mytool("auth", "token", "--bogus")
	if code != ExitUsage || strings.Count(stderr, "unknown flag") != 1 || strings.Contains(stderr, "Usage:") ||
		!strings.Contains(stderr, "Run 'mytool auth token --help' for usage.") {
		t.Errorf("auth token --bogus: exit %d, stderr %q; want 2 and one message pointing at the help", code, stderr)
	}
	for _, args := range [][]string{{"auth", "--help"}, {"auth", "login", "--help"}, {"auth", "token", "--help"}, {"auth", "whoami", "--help"}, {"auth", "status", "--help"}} {
		stdout, _, code := mytool(args...)
		if code != ExitOK || strings.Contains(strings.ToLower(stdout), "idplug") || !strings.Contains(stdout, "mytool auth ") {
			t.Errorf("%v: exit %d; want help about mytool auth, not idplug:\n%s", args, code, stdout)
		}
		if args[1] == "--help" {
			for _, want := range []string{"$MYTOOL_CONFIG", "$MYTOOL_PROFILE", "$XDG_CONFIG_HOME/mytool/config.toml"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("auth --help lacks %s:\n%s", want, stdout)
				}
			}
		}
	}

	// $MYTOOL_CONFIG comes before $XDG_CONFIG_HOME/mytool/config.toml.
	other := filepath.Join(dir, "other.toml")
	os.WriteFile(other, profiles("c"), 0o600)
	t.Setenv("MYTOOL_CONFIG", other)
	t.Setenv("MYTOOL_PROFILE", "")
	_, stderr, code = mytool("auth", "whoami")
	if code != ExitNotLoggedIn || !strings.Contains(stderr, "`mytool auth login --profile c`") {
		t.Errorf("MYTOOL_CONFIG: exit %d, stderr %q; want 3 for profile c", code, stderr)
	}
}

// TestMountTouchesOnlyWhatItAdds: mounting under a tool's command changes
// neither that command nor its other subcommands: their streams, error and
// usage printing, argument checks and flag errors stay the tool's.
func TestMountTouchesOnlyWhatItAdds(t *testing.T) {
	var toolOut, toolErr, out, errOut bytes.Buffer
	root := &cobra.Command{Use: "mytool"}
	root.SetOut(&toolOut)
	root.SetErr(&toolErr)
	other := &cobra.Command{Use: "other", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return errors.New("tool failure") }}
	root.AddCommand(other)
	Mount(root, Options{App: "mytool", IO: &IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}})

	if root.SilenceErrors || root.SilenceUsage || other.SilenceErrors || other.SilenceUsage {
		t.Errorf("Mount silenced the tool's commands: root %v/%v, other %v/%v", root.SilenceErrors, root.SilenceUsage, other.SilenceErrors, other.SilenceUsage)
	}
	if root.OutOrStdout() != &toolOut || root.ErrOrStderr() != &toolErr || other.OutOrStdout() != &toolOut {
		t.Error("Mount changed the tool's output streams")
	}
	root.SetArgs([]string{"other", "--bogus"})
	err := root.Execute()
	var ue usageError
	if err == nil || errors.As(err, &ue) {
		t.Errorf("a bad flag of the tool's command gave %v, want cobra's own flag error", err)
	}
	if !strings.Contains(toolErr.String(), "Error: unknown flag") || !strings.Contains(toolOut.String(), "Usage:") || out.Len()+errOut.Len() > 0 {
		t.Errorf("the tool's command printed %q and %q, and the mounted IO got %q %q; want cobra's error and usage on the tool's streams only",
			toolErr.String(), toolOut.String(), out.String(), errOut.String())
	}
	root.SetArgs([]string{"other", "x"})
	if err := root.Execute(); err == nil || errors.As(err, &ue) {
		t.Errorf("a bad argument of the tool's command gave %v, want cobra's own", err)
	}
	// The mounted commands still use the IO they were given.
	root.SetArgs([]string{"version"})
	if err := root.Execute(); err != nil || !strings.Contains(out.String(), "mytool") {
		t.Errorf("version: %v, stdout %q", err, out.String())
	}
}

// TestSystemBrowserConcurrently: logins running at once in one program open
// the system browser without sharing state (run with -race), and the
// opener's output never reaches the command's streams.
func TestSystemBrowserConcurrently(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the fake opener is xdg-open")
	}
	bin := t.TempDir()
	log := filepath.Join(bin, "opened")
	script := "#!/bin/sh\necho noise; echo noise >&2; echo \"$1\" >> " + log + "\n"
	if err := os.WriteFile(filepath.Join(bin, "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	var out, errOut bytes.Buffer
	g := &globals{io: IO{Out: &out, ErrOut: &errOut}}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.openBrowser(fmt.Sprintf("https://idp.example/device?n=%d", i))
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(log)
		if n := strings.Count(string(b), "\n"); n == 8 || time.Now().After(deadline) {
			if n != 8 {
				t.Errorf("the opener ran for %d of 8 URLs:\n%s", n, b)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out.Len()+errOut.Len() > 0 {
		t.Errorf("the opener's output reached the command: %q %q", out.String(), errOut.String())
	}
}
