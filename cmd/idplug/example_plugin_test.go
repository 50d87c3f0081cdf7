package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idplug/idplug/internal/demoidp"
)

// TestOutOfTreeExample builds examples/northwind, its own module, both ways
// with plain go build, runs its tests, and loads each build into the idplug
// binary under test through the configuration alone.
func TestOutOfTreeExample(t *testing.T) {
	dir, err := filepath.Abs("../../examples/northwind")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	goIn := func(env []string, args ...string) {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
	wasmFile, exeFile := filepath.Join(out, "northwind.wasm"), filepath.Join(out, "idplug-plugin-northwind")
	goIn([]string{"GOOS=wasip1", "GOARCH=wasm"}, "build", "-buildmode=c-shared", "-o", wasmFile, ".")
	goIn(nil, "build", "-o", exeFile, ".")
	goIn(nil, "test", "-count=1", ".")

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
