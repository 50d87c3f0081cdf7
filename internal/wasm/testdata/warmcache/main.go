// Command warmcache compiles wasm plugins into a compilation cache directory:
//
//	warmcache DIR FILE.wasm…
//
// The tests of internal/wasm run it to fill their shared cache outside the
// race detector, under which wazero's compiler is some twenty times slower.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/idplug/idplug/internal/wasm"
)

func main() {
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "warmcache:", err)
		os.Exit(1)
	}
}

func run(dir string, files []string) error {
	ctx := context.Background()
	r, err := wasm.NewRuntime(ctx, wasm.Options{CacheDir: dir})
	if err != nil {
		return err
	}
	defer r.Close(ctx)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		// Load fails after compiling for the fixtures that are not plugins
		// of this contract; the code is cached all the same.
		if m, err := r.Load(ctx, filepath.Base(f), b); err == nil {
			m.Close(ctx)
		}
	}
	return nil
}
