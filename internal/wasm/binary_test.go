package wasm

import (
	"bytes"
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/idplug/idplug/internal/wasm/wasmtest"
)

// withCustomSection returns wasm with a custom section of size bytes
// appended.
func withCustomSection(wasm []byte, size int) []byte {
	content := append(appendULEB(nil, 3), "pad"...)
	content = append(content, make([]byte, size)...)
	out := append(bytes.Clone(wasm), secCustom)
	out = appendULEB(out, uint32(len(content)))
	return append(out, content...)
}

// noExports is a module with a function and a memory, and no exports.
var noExports = []byte("\x00asm\x01\x00\x00\x00" +
	"\x01\x05\x01\x60\x00\x01\x7f" + // type: () -> i32
	"\x03\x02\x01\x00" + // function 0: type 0
	"\x05\x03\x01\x00\x01" + // memory: min 1
	"\x0a\x06\x01\x04\x00\x41\x01\x0b") // i32.const 1

// TestRefusedBeforeCompiling checks that a module too large, or that is not
// a plugin, is refused with an error saying why, and never reaches the
// compilation cache: too large by its custom sections, without exports,
// with only some of the contract's exports or another contract version's
// (asked their version without the cache), importing what a plugin may not.
func TestRefusedBeforeCompiling(t *testing.T) {
	dir := t.TempDir()
	r, _ := newRuntime(t, Options{CacheDir: dir})
	huge := withCustomSection(wasmtest.Hostile(wasmtest.Grow), MaxModuleSize)
	for _, tc := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"huge", huge, "the module is 16777" /* …bytes */},
		{"no-exports", noExports, "not an idplug plugin: missing export idplug_contract_version"},
		{"partial", versionOnly, "not an idplug plugin: missing export idplug_alloc"},
		{"badversion", modules["badversion"], "speaks contract version 2"},
		{"foreign", importsEnvFoo, "imports env.foo"},
		{"garbage", []byte("#!/bin/sh\n"), "not a valid WebAssembly module"},
		{"start", bytes.Replace(noExports, []byte("\x0a\x06"), []byte("\x08\x01\x00\x0a\x06"), 1),
			"not a valid WebAssembly module: it has a start function; a plugin exports _initialize instead"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Load(context.Background(), tc.name, tc.wasm)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error = %v, want %s…", err, tc.want)
			}
		})
	}
	if _, err := r.Load(context.Background(), "huge", huge); err == nil || !strings.HasSuffix(err.Error(), "bytes, more than the 16 MiB a plugin may have") {
		t.Errorf("error = %v, want the size and the limit", err)
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("a refused module reached the compilation cache: %s", path)
		}
		return err
	})
	// A plugin just under the limit loads.
	_, err := r.Load(context.Background(), "padded", withCustomSection(wasmtest.Hostile(wasmtest.Grow), MaxModuleSize-1<<10))
	if err != nil {
		t.Errorf("a module under the limit: %v", err)
	}
}

// TestStackBudget checks that a plugin recursing without end is stopped
// by the host's bound on its stack, with an error saying so, and that the
// next call gets a fresh instance.
func TestStackBudget(t *testing.T) {
	r, _ := newRuntime(t, Options{MaxInstances: 1})
	m, err := r.Load(context.Background(), "recurse", wasmtest.Hostile(wasmtest.Recurse))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	for range 2 {
		err := m.Call(context.Background(), "describe", []byte("{}"), func([]byte) error { return nil })
		if want := "ran out of its 8 MiB call stack (does it recurse without end?)"; err == nil || err.Error() != want {
			t.Errorf("error = %v, want %s", err, want)
		}
	}
}

// TestInstrument checks the module instrument makes of modules with and
// without the sections it extends: wazero compiles it, it exports the
// stack global, and the name section names both a thunk and the function
// it calls.
func TestInstrument(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCustomSections(true))
	defer rt.Close(ctx)
	// noExports with a global section and a name section naming function 0
	// "f".
	withGlobal := bytes.Replace(noExports, []byte("\x0a\x06"), []byte("\x06\x06\x01\x7f\x00\x41\x07\x0b\x0a\x06"), 1)
	named := append(bytes.Clone(withGlobal), "\x00\x0b\x04name\x01\x04\x01\x00\x01f"...)
	for _, tc := range []struct {
		name   string
		wasm   []byte
		global uint32 // the stack global's index
	}{
		{"bare", noExports, 0},
		{"global", withGlobal, 1},
		{"named", named, 1},
		{"plugin", wasmtest.Hostile(wasmtest.Grow), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := parse(tc.wasm)
			if err != nil {
				t.Fatal(err)
			}
			out, err := b.instrument()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rt.CompileModule(ctx, out); err != nil {
				t.Fatalf("wazero refuses the instrumented module: %v", err)
			}
			ib, err := parse(out)
			if err != nil {
				t.Fatal(err)
			}
			if e := ib.exports[stackExport]; e != (exportEntry{kindGlobal, tc.global}) {
				t.Errorf("export %s = %+v, want global %d", stackExport, e, tc.global)
			}
			if e := ib.exports[stopExport]; e != (exportEntry{kindGlobal, tc.global + 1}) {
				t.Errorf("export %s = %+v, want global %d", stopExport, e, tc.global+1)
			}
			if n := len(ib.funcs) - ib.importedFuncs; n != 2*(len(b.funcs)-b.importedFuncs) {
				t.Errorf("%d functions, want a thunk for each of %d", n, len(b.funcs)-b.importedFuncs)
			}
			if tc.name == "named" {
				want := []byte("\x04name\x01\x07\x02\x00\x01f\x01\x01f")
				var got []byte
				for _, s := range ib.sections {
					if s.id == secCustom {
						got = s.content
					}
				}
				if !bytes.Equal(got, want) {
					t.Errorf("name section %q, want %q", got, want)
				}
			}
		})
	}
}

// TestCheckLoops: the stop check goes at the top of every loop, nested or
// typed, past instructions of every immediate shape; an instruction the
// host does not read is refused.
func TestCheckLoops(t *testing.T) {
	check := stopCheck(5)
	v128 := "\xfd\x0c" + strings.Repeat("\x01", 16)
	body := "\x01\x02\x7f" + // two i32 locals
		"\x03\x40" + // loop
		"\x02\x40\x0c\x01\x0b" + // block br 1 end
		"\x03\x7f\x41\x80\x01\x0b\x1a" + // loop (result i32) i32.const 128 end drop
		"\x0e\x02\x00\x01\x00" + // br_table 0 1 0
		"\x28\x02\x10\x1a" + // i32.load align=2 offset=16 drop
		v128 + "\x1a" + // v128.const drop
		"\xfc\x0a\x00\x00" + // memory.copy
		"\x44" + strings.Repeat("\x00", 8) + "\x1a" + // f64.const drop
		"\x0b\x0b" // end end
	want := "\x01\x02\x7f" +
		"\x03\x40" + string(check) +
		"\x02\x40\x0c\x01\x0b" +
		"\x03\x7f" + string(check) + "\x41\x80\x01\x0b\x1a" +
		"\x0e\x02\x00\x01\x00" + "\x28\x02\x10\x1a" + v128 + "\x1a" + "\xfc\x0a\x00\x00" +
		"\x44" + strings.Repeat("\x00", 8) + "\x1a" + "\x0b\x0b"
	got, err := checkLoops([]byte(body), check)
	if err != nil || string(got) != want {
		t.Errorf("checkLoops = %x, %v\nwant           %x", got, err, want)
	}
	if _, err := checkLoops([]byte("\x00\x06\x40\x0b\x0b"), check); err == nil || !strings.Contains(err.Error(), "does not read (0x6)") {
		t.Errorf("try: error %v, want the instruction refused", err)
	}
}

func TestFrameCost(t *testing.T) {
	if c := frameCost(2, 3, 100, 3); c != 64+16*5+400+24 {
		t.Errorf("frameCost(2, 3, 100, 3) = %d", c)
	}
	if c := frameCost(0, 1<<40, 0, 0); c != MaxStack+1 {
		t.Errorf("a function of 2^40 locals costs %d, want MaxStack+1", c)
	}
}

// BenchmarkPrepare measures what Load does to the oidc plugin before
// compiling it, which it does in every process, warm cache or not.
func BenchmarkPrepare(b *testing.B) {
	wasm := modules["oidc"]
	b.SetBytes(int64(len(wasm)))
	for b.Loop() {
		if _, abi, err := prepare(wasm); abi != nil || err != nil {
			b.Fatal(abi, err)
		}
	}
}

// FuzzPrepare checks that prepare never panics, and that what it makes of a
// module wazero compiles, wazero compiles too.
func FuzzPrepare(f *testing.F) {
	for _, m := range [][]byte{noExports, versionOnly, importsEnvFoo, growsTable, wasmtest.Hostile(wasmtest.GrowRecurse), wasmtest.Hostile(wasmtest.Spin)} {
		f.Add(m)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, _, err := prepare(wasm)
		if err != nil {
			return
		}
		if c, err := rt.CompileModule(ctx, wasm); err == nil {
			c.Close(ctx)
			c, err := rt.CompileModule(ctx, out)
			if err != nil {
				t.Fatalf("wazero compiles the module, not what prepare made of it: %v", err)
			}
			c.Close(ctx)
		}
	})
}
