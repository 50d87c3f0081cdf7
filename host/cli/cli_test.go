package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	} {
		_, stderr, code := run(t, args...)
		if code != ExitUsage || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with a message", args, code, stderr)
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

func TestVerificationEvent(t *testing.T) {
	ev := verificationEvent(host.DeviceCode{
		VerificationURI: "https://idp/device", VerificationURIComplete: "https://idp/device?user_code=AB", UserCode: "AB",
		Expiry: time.Now().Add(600 * time.Second), Interval: 5,
	})
	if ev["event"] != "verification" || ev["user_code"] != "AB" || ev["interval"] != int64(5) {
		t.Errorf("event %v", ev)
	}
	if n := ev["expires_in"].(int64); n < 598 || n > 600 {
		t.Errorf("expires_in = %d, want about 600", n)
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
