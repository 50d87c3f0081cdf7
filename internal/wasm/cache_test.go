package wasm

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/idplug/idplug/internal/wasm/wasmtest"
)

// TestCompilationCacheStates: a plugin loads whatever state the directory
// of the compilation cache is in — missing, not a directory, holding
// corrupt entries, or filled by several runtimes at once — and works.
func TestCompilationCacheStates(t *testing.T) {
	module := wasmtest.Hostile(wasmtest.Spin)
	loads := func(t *testing.T, dir string) {
		t.Helper()
		r, err := NewRuntime(context.Background(), Options{CacheDir: dir})
		if err != nil {
			t.Fatalf("NewRuntime: %v", err)
		}
		defer r.Close(context.Background())
		m, err := r.Load(context.Background(), "spin", module)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		m.Close(context.Background())
	}
	t.Run("missing", func(t *testing.T) {
		loads(t, filepath.Join(t.TempDir(), "a", "b"))
	})
	t.Run("not a directory", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		loads(t, filepath.Join(file, "cache"))
	})
	t.Run("corrupt", func(t *testing.T) {
		dir := t.TempDir()
		loads(t, dir)
		n := 0
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
				if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			return err
		})
		if n == 0 {
			t.Fatal("the first load cached nothing")
		}
		loads(t, dir) // clears the cache, compiles and caches again
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if b, _ := os.ReadFile(path); err == nil && !d.IsDir() && string(b) == "garbage" {
				t.Errorf("%s is still corrupt", path)
			}
			return err
		})
		loads(t, dir)
	})
	t.Run("entry unreadable", func(t *testing.T) {
		dir := t.TempDir()
		loads(t, dir)
		// wazero's directory of entries replaced by a file
		subdirs, _ := filepath.Glob(filepath.Join(dir, "wazero-*"))
		for _, d := range subdirs {
			if err := os.RemoveAll(d); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(d, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if len(subdirs) == 0 {
			t.Fatal("no wazero directory in the cache")
		}
		loads(t, dir)
	})
	t.Run("racing", func(t *testing.T) {
		dir := t.TempDir()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { loads(t, dir) })
		}
		wg.Wait()
		loads(t, dir)
	})
}
