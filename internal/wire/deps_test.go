package wire_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestWasmBuildsLinkNoGRPC: a WebAssembly plugin links package serve, and
// through it this package, but not the subprocess transport's gRPC and
// go-plugin code, which would make every module five times larger and five
// times slower to compile.
func TestWasmBuildsLinkNoGRPC(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "github.com/idplug/idplug/sdk/serve")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{"google.golang.org/grpc", "google.golang.org/protobuf", "github.com/hashicorp/"} {
			if strings.HasPrefix(pkg, banned) {
				t.Errorf("a wasip1 build of sdk/serve links %s", pkg)
			}
		}
	}
}
