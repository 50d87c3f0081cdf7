package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idplug/idplug/internal/demoidp"
	"github.com/idplug/idplug/internal/examples"
)

// TestOutOfTreeExample builds examples/northwind, its own module, both ways
// with plain go build, runs its tests (and runs them against the Rust port,
// examples/northwind-rust, too), and loads each build into the idplug binary
// under test through the configuration alone.
func TestOutOfTreeExample(t *testing.T) {
	dir, err := filepath.Abs("../../examples/northwind")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	goIn := func(t *testing.T, env []string, args ...string) {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
	wasmFile, exeFile := filepath.Join(out, "northwind.wasm"), filepath.Join(out, "idplug-plugin-northwind")
	goIn(t, []string{"GOOS=wasip1", "GOARCH=wasm"}, "build", "-buildmode=c-shared", "-o", wasmFile, ".")
	goIn(t, nil, "build", "-o", exeFile, ".")
	goIn(t, nil, "test", "-count=1", ".")
	// The Rust port passes the same tests.
	t.Run("rust", func(t *testing.T) {
		goIn(t, []string{"NORTHWIND_WASM=" + examples.Path(t, "northwind-rust.wasm")}, "test", "-count=1", ".")
	})

	e := newEnv(t, demoidp.Options{})
	for _, tc := range []struct{ key, path string }{{"wasm", wasmFile}, {"command", exeFile}} {
		t.Run(tc.key, func(t *testing.T) {
			b, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			e.writeConfig(fmt.Sprintf(`
[store]
backend = "file"
dir = %q
[profiles.northwind]
provider  = "northwind"
client_id = "cli"
[profiles.northwind.settings]
tenant = "contoso"
[plugins.northwind]
%s = %q
sha256 = %q
`, filepath.Join(e.dir, "tokens"), tc.key, tc.path, hex.EncodeToString(sum[:])))
			r := e.run("plugins", "info", "northwind")
			if r.code != 0 {
				t.Fatalf("plugins info northwind: exit %d: %s", r.code, r.stderr)
			}
			for _, want := range []string{"Northwind ID", "tenant", "base_url", "prepare", "interpret", tc.path} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("plugins info lacks %q:\n%s", want, r.stdout)
				}
			}
			if tc.key == "command" {
				noPluginProcess(t, exeFile, "plugins info")
			}
		})
	}
}

// TestExampleC signs in through examples/oidc-c, the generic OpenID provider
// written in C from wit/README.md alone, loaded as a pinned third-party
// module: login, whoami as the Go provider maps it, refresh at expiry, and
// logout with revocation, against the demo IdP.
func TestExampleC(t *testing.T) {
	path := examples.Path(t, "oidc-c.wasm")
	module, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(module)
	// A 12 s token is fresh right after login and due 2 s later.
	e := newEnv(t, demoidp.Options{AccessTokenLifetime: 12 * time.Second})
	e.writeConfig(fmt.Sprintf(`
default_profile = "c"
[store]
backend = "file"
dir = %q
[profiles.c]
provider  = "oidcc"
client_id = %[2]q
[profiles.c.settings]
issuer = %[3]q
[profiles.go]
provider  = "oidc"
client_id = %[2]q
[profiles.go.settings]
issuer = %[3]q
[plugins.oidcc]
wasm   = %[4]q
sha256 = %[5]q
`, filepath.Join(e.dir, "tokens"), demoidp.ClientID, e.idp.URL(), path, hex.EncodeToString(sum[:])))

	if r := e.run("plugins", "info", "oidcc"); r.code != 0 || !strings.Contains(r.stdout, "oidc-c") || !strings.Contains(r.stdout, "issuer") {
		t.Fatalf("plugins info oidcc: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	for _, profile := range []string{"c", "go"} {
		if r, _ := e.login(e.approve, "--profile", profile); r.code != 0 {
			t.Fatalf("login --profile %s: exit %d: %s", profile, r.code, r.stderr)
		}
	}
	whoami := func(profile string) map[string]any {
		t.Helper()
		r := e.run("whoami", "--json", "--profile", profile)
		var id map[string]any
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &id) != nil {
			t.Fatalf("whoami --profile %s: exit %d: %s%s", profile, r.code, r.stdout, r.stderr)
		}
		delete(id, "profile")
		delete(id, "provider")
		delete(id, "expires_at")
		return id
	}
	if c, g := whoami("c"), whoami("go"); !cmp.Equal(c, g) || c["username"] != "alice" {
		t.Errorf("whoami through C %v, through Go %v", c, g)
	}

	first := e.run("token").stdout
	refreshes := e.idp.Refreshes()
	time.Sleep(2500 * time.Millisecond)
	if second := e.run("token"); second.code != 0 || second.stdout == first || e.idp.Refreshes() != refreshes+1 {
		t.Fatalf("token at expiry: exit %d, new %v, refreshes %d: %s", second.code, second.stdout != first, e.idp.Refreshes()-refreshes, second.stderr)
	}
	if r := e.run("logout"); r.code != 0 || !strings.Contains(r.stderr, "revoked at the identity provider") {
		t.Fatalf("logout: exit %d: %s", r.code, r.stderr)
	}
	if r := e.run("token"); r.code != 3 {
		t.Errorf("token after logout: exit %d, want 3", r.code)
	}
}
