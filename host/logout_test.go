package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogoutAfterEdit: logout removes the bundle stored before the profile
// was edited too, so that undoing the edit does not bring the session back.
func TestLogoutAfterEdit(t *testing.T) {
	h, _ := loggedIn(t, newFakeIdP(t))
	ctx := testContext(t)
	config := h.opts.configFile
	before, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	// Another scope list: another fingerprint, so the login no longer applies.
	edited := strings.Replace(string(before), `client_id = "cli"`, "client_id = \"cli\"\nscopes = [\"openid\"]", 1)
	if err := os.WriteFile(config, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	h2 := reopen(t, h)
	s2, _ := h2.Session("work")
	if _, err := s2.Token(ctx); !errors.Is(err, ErrNotLoggedIn) {
		t.Fatalf("after the edit Token = %v, want ErrNotLoggedIn", err)
	}
	if _, err := s2.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, before, 0o600); err != nil {
		t.Fatal(err)
	}
	s3, _ := reopen(t, h).Session("work")
	if _, err := s3.Token(ctx); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("after logout and undoing the edit, Token: %v; want ErrNotLoggedIn", err)
	}
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(config), "tokens", "*"))
	for _, f := range files {
		if !strings.HasSuffix(f, ".lock") {
			t.Errorf("logout left %s", f)
		}
	}
}

// reopen opens h's configuration again, as a new process would.
func reopen(t *testing.T, h *Host) *Host {
	t.Helper()
	h2, err := Open(context.Background(), WithConfigFile(h.opts.configFile), WithCacheDir(h.opts.cacheDir), WithWarnings(&strings.Builder{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h2.Close() })
	return h2
}
