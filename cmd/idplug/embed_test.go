package main_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/demoidp"
)

// TestEmbedExample builds examples/embed, a tool of its own module that
// mounts the commands under "mytool auth", with plain go build, and drives
// it against the demo IdP with no configuration file: its compiled-in
// profile serves.
func TestEmbedExample(t *testing.T) {
	dir, err := filepath.Abs("../../examples/embed")
	if err != nil {
		t.Fatal(err)
	}
	mytool := filepath.Join(t.TempDir(), "mytool")
	build := exec.Command("go", "build", "-o", mytool, ".")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build examples/embed: %v\n%s", err, out)
	}
	e := newEnv(t, demoidp.Options{})
	home := t.TempDir()
	run := func(args ...string) result {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, mytool, args...)
		cmd.Env = []string{"HOME=" + home, "XDG_CACHE_HOME=" + cacheDir, "PATH=" + os.Getenv("PATH"), "MYTOOL_ISSUER=" + e.idp.URL()}
		return runCmd(t, cmd)
	}

	if r := run("auth", "token"); r.code != 3 || !strings.Contains(r.stderr, "`mytool auth login --profile default`") {
		t.Fatalf("token before login: exit %d, stderr %q; want 3 and a hint to run mytool auth login", r.code, r.stderr)
	}
	if r := run("call", e.idp.URL()+"/userinfo"); r.code != 3 {
		t.Fatalf("call before login: exit %d, stderr %q; want 3", r.code, r.stderr)
	}
	// Approve the code the tool shows as soon as it is pending.
	go func() {
		for t.Context().Err() == nil {
			if code := e.idp.LastUserCode(); code != "" {
				e.idp.Approve(code, "alice")
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	if r := run("auth", "login", "--no-browser"); r.code != 0 || !strings.Contains(r.stderr, `Logged in to profile "default"`) {
		t.Fatalf("login: exit %d, stderr %q", r.code, r.stderr)
	}
	r := run("auth", "whoami", "--json")
	var id map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &id) != nil || id["username"] != "alice" || id["provider"] != "oidc" {
		t.Fatalf("whoami --json: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := run("call", e.idp.URL()+"/userinfo"); r.code != 0 || !strings.Contains(r.stdout, `"sub":"`+id["subject"].(string)+`"`) {
		t.Fatalf("call userinfo: exit %d, stdout %q, stderr %q; want the user's claims", r.code, r.stdout, r.stderr)
	}
	if r := run("auth", "status"); r.code != 0 || !strings.Contains(r.stdout, "default *") || !strings.Contains(r.stdout, "oidc") {
		t.Errorf("status: exit %d, %q", r.code, r.stdout)
	}
	if r := run("auth", "logout"); r.code != 0 {
		t.Errorf("logout: exit %d, %q", r.code, r.stderr)
	}
	if r := run("auth", "token"); r.code != 3 {
		t.Errorf("token after logout: exit %d, want 3", r.code)
	}
}
