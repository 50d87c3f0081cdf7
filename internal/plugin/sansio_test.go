package plugin_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// module is this module's path: its packages are checked import by import.
const module = "github.com/idplug/idplug"

// allowedNet are the packages under net/ that only parse.
var allowedNet = []string{"net/url", "net/netip"}

// ioImport says why a package of this module that a provider links must not
// import path, or "" when it may: providers are sans-IO (DESIGN.md §1), and
// in-process they run with the host's privileges, outside any sandbox.
func ioImport(path string) string {
	switch {
	case slices.Contains(allowedNet, path):
		return ""
	case path == "net" || strings.HasPrefix(path, "net/"):
		return "the network"
	case path == "os" || strings.HasPrefix(path, "os/"):
		return "files, processes and the environment"
	case path == "syscall" || strings.HasPrefix(path, "syscall/"):
		return "system calls"
	case path == "io/fs", path == "io/ioutil", path == "path/filepath", path == "embed":
		return "files"
	case path == "log" || strings.HasPrefix(path, "log/"):
		return "writes to stderr"
	case path == "unsafe", path == "runtime/cgo", path == "C":
		return "memory outside Go's safety"
	case path == "plugin":
		return "loads code"
	}
	return ""
}

// listed is the part of `go list -json` the test reads.
type listed struct {
	ImportPath string
	Standard   bool
	Module     *struct{ Path string }
	Imports    []string
	Error      *struct{ Err string }
}

// TestProvidersAreSansIO checks that no provider of plugins/ can reach the
// network, files, processes or the environment: neither the provider's
// package nor any package of this module it links imports a package that
// does, and it links no third-party package, which this test cannot vet.
// It checks the host's build, where built-in providers run in-process.
func TestProvidersAreSansIO(t *testing.T) {
	var roots []string
	for _, name := range providers(t) {
		roots = append(roots, module+"/plugins/"+name)
	}
	cmd := exec.Command("go", append([]string{"list", "-deps", "-json=ImportPath,Standard,Module,Imports,Error"}, roots...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]listed{}
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Error != nil {
			t.Errorf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs[p.ImportPath] = p
	}

	for _, root := range roots {
		// Walk the packages of this module the provider links, from the
		// provider's package; the standard library's own imports are the
		// standard library's business.
		seen := map[string]bool{}
		var walk func(path string)
		walk = func(path string) {
			if seen[path] {
				return
			}
			seen[path] = true
			p, ok := pkgs[path]
			switch {
			case !ok:
				t.Errorf("%s links %s, which go list did not describe", root, path)
				return
			case p.Standard:
				return
			case p.Module == nil || p.Module.Path != module:
				t.Errorf("%s links the third-party package %s: a provider may link only the standard library and this module's sdk", root, path)
				return
			}
			who := root
			if path != root {
				who = root + " links " + path + ", which"
			}
			for _, imp := range p.Imports {
				if why := ioImport(imp); why != "" {
					t.Errorf("%s imports %s (%s): a provider is sans-IO and reaches the world only through what the host hands it", who, imp, why)
				}
				walk(imp)
			}
		}
		walk(root)
	}
}
