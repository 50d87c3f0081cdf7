// Package examples locates, for tests, the plugins of examples/ written in
// other languages than Go, which `make examples` builds into bin/examples
// (make test passes that directory in IDPLUG_EXAMPLES).
package examples

import (
	"os"
	"path/filepath"
	"testing"
)

// RequireEnv names the environment variable that turns a missing example
// into a test failure instead of a skip (CI sets it).
const RequireEnv = "IDPLUG_REQUIRE_EXAMPLES"

// Path returns the built example file, such as "oidc-c.wasm", or skips tb
// saying how to build it; with IDPLUG_REQUIRE_EXAMPLES=1 it fails tb instead.
func Path(tb testing.TB, file string) string {
	tb.Helper()
	dir := os.Getenv("IDPLUG_EXAMPLES")
	path := filepath.Join(dir, file)
	if _, err := os.Stat(path); dir != "" && err == nil {
		return path
	}
	msg := file + " is not built: run `make examples` (which says what toolchain to install) and pass its directory in IDPLUG_EXAMPLES, as make test does"
	if os.Getenv(RequireEnv) == "1" {
		tb.Fatalf("%s (%s=1)", msg, RequireEnv)
	}
	tb.Skip(msg)
	return ""
}
