package main

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/idplug/idplug/internal/wasm"
	"github.com/idplug/idplug/internal/wasm/wasmtest"
	"github.com/idplug/idplug/internal/wire"
)

// hostileEnv, set to a WebAssembly module, makes the bench a child process
// that measures how much a call of the module's configure grows its
// resident memory (see runHostile); hostileEnv+"_DO" is the call's "do"
// setting, hostileEnv+"_CACHE" the compilation cache.
const hostileEnv = "IDPLUG_BENCH_HOSTILE_MODULE"

// hostileMemory measures, each in a child process, how much a plugin that
// attacks the host's memory grows the host's peak resident memory: the
// hand-made modules of wasmtest, and the Go test plugin misbehave
// allocating until it runs out. The budget is the 64 MiB memory ceiling of
// an instance plus three times the call stack a plugin may take
// (wasm.MaxStack): the stack, which wazero grows by doubling, and the
// garbage that growing it leaves.
func hostileMemory(ctx context.Context, tmp string) {
	misbehave := filepath.Join(tmp, "misbehave.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", misbehave, "./internal/wasm/testdata/misbehave")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		log.Fatalf("bench: building the misbehave plugin: %v\n%s", err, out)
	}
	cacheDir := filepath.Join(tmp, "hostile-cache")
	rt, err := wasm.NewRuntime(ctx, wasm.Options{CacheDir: cacheDir})
	check(err)
	module, err := os.ReadFile(misbehave)
	check(err)
	m, err := rt.Load(ctx, thirdParty, module) // into the cache, so that the child only loads it
	check(err)
	check(m.Close(ctx))
	check(rt.Close(ctx))

	const budget = wasm.DefaultMemoryLimit + 3*wasm.MaxStack
	section(fmt.Sprintf("hostile wasm plugin: host memory growth (peak RSS) in one call; memory ceiling %d MiB", wasm.DefaultMemoryLimit>>20))
	measure := func(what, path, do string) {
		growth := hostileGrowth(ctx, path, do, cacheDir)
		row{what: what, value: mbQ(growth), budget: fmt.Sprintf("≤ ceiling + %d MiB = %s", 3*wasm.MaxStack>>20, mbQ(budget)), ok: growth <= budget}.print()
	}
	for _, a := range []struct {
		attack wasmtest.Attack
		what   string
	}{
		{wasmtest.Grow, "grows to its ceiling a page at a time"},
		{wasmtest.Recurse, "recurses without end"},
		{wasmtest.GrowRecurse, "grows to its ceiling, then recurses"},
	} {
		path := filepath.Join(tmp, "hostile-"+string(a.attack)+".wasm")
		check(os.WriteFile(path, wasmtest.Hostile(a.attack), 0o600))
		measure(a.what, path, "")
	}
	measure("Go plugin allocating until out of memory", misbehave, "hog")
	fmt.Println()
}

// hostileGrowth returns how much one call of the configure of the module at
// path, with setting do, grows the peak resident memory of a child process,
// in bytes.
func hostileGrowth(ctx context.Context, path, do, cacheDir string) int {
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), hostileEnv+"="+path, hostileEnv+"_DO="+do, hostileEnv+"_CACHE="+cacheDir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	check(err)
	kib, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		check(fmt.Errorf("the hostile-plugin child printed %q", out))
	}
	return kib << 10
}

// runHostile is the child of hostileGrowth: it loads the module at path,
// lets its memory settle, resets its peak resident memory, calls the
// module's configure with setting do, which must fail, and prints the
// growth of its peak over the settled figure, in KiB.
func runHostile(path, do string) {
	ctx := context.Background()
	module, err := os.ReadFile(path)
	check(err)
	rt, err := wasm.NewRuntime(ctx, wasm.Options{CacheDir: os.Getenv(hostileEnv + "_CACHE"), MaxInstances: 1, Logger: slog.New(slog.DiscardHandler)})
	check(err)
	defer rt.Close(ctx)
	m, err := rt.Load(ctx, thirdParty, module)
	check(err)
	input := fmt.Appendf(nil, `{"settings":{"do":%q},"client":{"client_id":"cli","scopes":[]}}`, do)
	before := settledRSS()
	check(os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)) // VmHWM := VmRSS
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = m.Call(cctx, wire.FuncConfigure, input, func(envelope []byte) error {
		_, _, err := wire.Decode(envelope)
		return err
	})
	if err == nil {
		log.Fatalf("bench: the hostile plugin's call succeeded")
	}
	fmt.Println(procStatus("VmHWM:") - before)
}
