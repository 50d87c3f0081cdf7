package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// wasmFloor times the least Go WebAssembly module (testdata/reactor: one
// export that does nothing) with wazero alone, as the wasm budgets are set
// for a Go plugin: compiling it with an empty cache, loading it from a warm
// cache up to its first call (compile from the cache, instantiate, the Go
// runtime's _initialize), and an empty call. No plugin built with Go and
// run by wazero can do better; the wasm group's figures are idplug's own
// plugin over the same steps.
func wasmFloor(ctx context.Context, tmp string) {
	path := filepath.Join(tmp, "reactor.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", path, "./cmd/bench/testdata/reactor")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		check(fmt.Errorf("building the empty reactor: %v\n%s", err, out))
	}
	module, err := os.ReadFile(path)
	check(err)

	// load compiles module with the cache at dir, instantiates it and calls
	// its export once; it returns how long that took and the runtime.
	load := func(dir string) (time.Duration, wazero.Runtime) {
		start := time.Now()
		cache, err := wazero.NewCompilationCacheWithDir(dir)
		check(err)
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache).WithCloseOnContextDone(true))
		wasi_snapshot_preview1.MustInstantiate(ctx, rt)
		compiled, err := rt.CompileModule(ctx, module)
		check(err)
		mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize"))
		check(err)
		_, err = mod.ExportedFunction("nothing").Call(ctx)
		check(err)
		return time.Since(start), rt
	}
	var cold, warm []time.Duration
	for i := range 5 {
		d, rt := load(filepath.Join(tmp, fmt.Sprintf("reactor-cold-%d", i)))
		check(rt.Close(ctx))
		cold = append(cold, d)
	}
	warmDir := filepath.Join(tmp, "reactor-warm")
	_, rt := load(warmDir)
	check(rt.Close(ctx))
	for range 10 {
		d, rt := load(warmDir)
		check(rt.Close(ctx))
		warm = append(warm, d)
	}
	_, rt = load(warmDir)
	defer rt.Close(ctx)
	mod, err := rt.InstantiateModule(ctx, must(rt.CompileModule(ctx, module)), wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize"))
	check(err)
	fn := mod.ExportedFunction("nothing")
	var calls []time.Duration
	stack := make([]uint64, 1)
	for range 2000 {
		start := time.Now()
		check(fn.CallWithStack(ctx, stack))
		calls = append(calls, time.Since(start))
	}

	section(fmt.Sprintf("the floor of a Go wasm plugin: an empty Go reactor (%s), wazero alone", mbQ(len(module))))
	c, w, h := median(cold), median(warm), median(calls)
	reactor = &reactorFloor{cold: c, warm: w}
	row{what: "compile + instantiate + call, empty cache", value: msQ(c), budget: "≤ 300 ms", ok: c <= 300*time.Millisecond}.print()
	row{what: "the same, warm cache", value: msQ(w), budget: "≤ 30 ms", ok: w <= 30*time.Millisecond}.print()
	row{what: "call of an export that does nothing", value: usQ(h), budget: "≤ 30 µs", ok: h <= 30*time.Microsecond}.print()
	fmt.Println()
}

// reactorFloor is what wasmFloor measured, the wasm group's baselines.
type reactorFloor struct{ cold, warm time.Duration }

// reactor is set once wasmFloor ran.
var reactor *reactorFloor

// reactorBase returns the baseline of the empty reactor's figure d, or
// nil when wasmFloor did not run.
func reactorBase(d func(*reactorFloor) time.Duration) *baseline {
	if reactor == nil {
		return nil
	}
	return &baseline{"empty reactor", msQ(d(reactor))}
}

func must[T any](v T, err error) T {
	check(err)
	return v
}
