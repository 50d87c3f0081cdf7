package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// wasmLoad is what wasmFigures measured of the Go plugin, the baselines of
// the example plugins in other languages.
type wasmLoad struct{ cold, warm, hook time.Duration }

// goWasm is set once wasmFigures ran.
var goWasm *wasmLoad

// exampleFigures times the plugins of examples/ in C and Rust, which `make
// examples` leaves in dir, as wasmFigures times the Go plugin: load and
// configure with an empty and a warm cache, and a hook call, each next to the
// Go plugin's figure when the wasm group ran. A module that was not built is
// skipped with a line saying so.
func exampleFigures(ctx context.Context, tmp, dir string) {
	for _, ex := range []struct {
		file     string
		settings map[string]string
	}{
		{"oidc-c.wasm", benchSettings},
		{"northwind-rust.wasm", map[string]string{"tenant": "contoso"}},
	} {
		path := filepath.Join(dir, ex.file)
		fi, err := os.Stat(path)
		if err != nil {
			fmt.Printf("example plugin %s: skipped, not built (make examples says what toolchain it needs)\n\n", ex.file)
			continue
		}
		src := pinned(path, false)
		load := func(cacheDir string) time.Duration {
			start := time.Now()
			l, _ := loadAndConfigure(ctx, src, cacheDir, ex.settings)
			d := time.Since(start)
			check(l.Close(ctx))
			return d
		}
		var cold, warm []time.Duration
		for i := range 5 {
			cold = append(cold, load(filepath.Join(tmp, fmt.Sprintf("%s-cold-%d", ex.file, i))))
		}
		warmDir := filepath.Join(tmp, ex.file+"-warm")
		load(warmDir)
		for range 10 {
			warm = append(warm, load(warmDir))
		}
		l, p := loadAndConfigure(ctx, src, warmDir, ex.settings)
		h := hookCalls(ctx, p, ex.settings)
		check(l.Close(ctx))

		base := func(what func(*wasmLoad) time.Duration, q func(time.Duration) quantity) *baseline {
			if goWasm == nil {
				return nil
			}
			return &baseline{"Go plugin", q(what(goWasm))}
		}
		section(fmt.Sprintf("example plugin %s (%.0f KB) as [plugins.%s], pinned by sha256", ex.file, float64(fi.Size())/1e3, thirdParty))
		row{what: "load + configure, empty cache", value: msQ(median(cold)), base: base(func(g *wasmLoad) time.Duration { return g.cold }, msQ)}.print()
		row{what: "load + configure, warm cache", value: msQ(median(warm)), base: base(func(g *wasmLoad) time.Duration { return g.warm }, msQ)}.print()
		row{what: "hook call (identity, JSON both ways)", value: usQ(h), base: base(func(g *wasmLoad) time.Duration { return g.hook }, usQ)}.print()
		fmt.Println()
	}
}
