package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/idplug/idplug/internal/wasm"
	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
)

// idleEnv, set to a WebAssembly module, makes the bench a child process
// that measures the memory of the module's idle instances (see
// idleInstance).
const idleEnv = "IDPLUG_BENCH_IDLE_MODULE"

// idleInstances is how many instances the child adds to measure one.
const idleInstances = 16

// idleInstance returns the resident memory, in bytes, that one idle instance
// of the module at path adds to a process, measured in a child process with
// the compilation cache at cacheDir.
func idleInstance(ctx context.Context, path, cacheDir string) int {
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), idleEnv+"="+path, "IDPLUG_BENCH_IDLE_CACHE="+cacheDir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	check(err)
	kib, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		check(fmt.Errorf("the idle-instance child printed %q", out))
	}
	return kib << 10
}

// runIdle is the child of idleInstance. The Loader keeps one instance of a
// plugin and adds one for each call in progress beyond it, so the child
// holds the transport directly: it loads the module with room for
// idleInstances+1 instances, makes idleInstances+1 identity calls that all
// wait inside the call until every one has its own instance, and prints
// the growth of its resident memory once they are idle, per instance, in
// KiB.
func runIdle(path string) {
	ctx := context.Background()
	module, err := os.ReadFile(path)
	check(err)
	rt, err := wasm.NewRuntime(ctx, wasm.Options{CacheDir: os.Getenv("IDPLUG_BENCH_IDLE_CACHE"), MaxInstances: idleInstances + 1})
	check(err)
	defer rt.Close(ctx)
	m, err := rt.Load(ctx, "acme", module) // one idle instance, called once
	check(err)
	input, err := json.Marshal(wire.IdentityInput{IDTokenClaims: benchClaims, Userinfo: sdk.Claims{}, Settings: benchSettings})
	check(err)
	call := func(wait func()) {
		check(m.Call(ctx, wire.FuncIdentity, input, func(envelope []byte) error {
			_, _, err := wire.Decode(envelope)
			wait()
			return err
		}))
	}
	call(func() {})
	before := settledRSS()
	var inside, all sync.WaitGroup
	inside.Add(idleInstances + 1)
	release := make(chan struct{})
	for range idleInstances + 1 {
		all.Add(1)
		go func() {
			defer all.Done()
			call(func() { inside.Done(); <-release })
		}()
	}
	inside.Wait()
	close(release)
	all.Wait()
	after := settledRSS()
	fmt.Println((after - before) / idleInstances)
}

// settledRSS returns VmRSS in KiB once the garbage is collected and freed
// memory returned to the system.
func settledRSS() int {
	runtime.GC()
	debug.FreeOSMemory()
	return procStatus("VmRSS:")
}
