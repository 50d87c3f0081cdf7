package wasm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/wasm/wasmtest"
)

// hostileEnv, set to a file holding a module, makes the test binary a child
// that measures what one call of the module's configure costs the host: see
// runHostile. hostileEnv+"_DO" is the call's "do" setting.
const hostileEnv = "IDPLUG_WASM_TEST_HOSTILE"

// hostileOverhead is what a hostile plugin may cost the host beyond its
// linear memory ceiling, as cmd/bench budgets it: its call stack, which
// wazero grows by doubling, the garbage of growing it, and the instance's
// bookkeeping.
const hostileOverhead = 3 * MaxStack

// TestHostileMemory checks that a plugin that attacks the host's memory
// costs the host no more than its linear memory ceiling and a fixed
// overhead: growing its memory a page at a time to the ceiling, recursing
// without end, both, and a Go plugin allocating until it runs out. Each
// runs in a child process, plainTest, whose peak resident memory is
// measured: without the race detector, which would count its own shadow of
// the Go heap.
func TestHostileMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("measures /proc/self/status")
	}
	dir := t.TempDir()
	type hostile struct {
		name, do string // do is the "do" setting of the call
		wasm     []byte
	}
	cases := []hostile{{"go-hog", "hog", modules["misbehave"]}}
	for _, a := range wasmtest.Attacks {
		cases = append(cases, hostile{string(a), "", wasmtest.Hostile(a)})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".wasm")
			if err := os.WriteFile(path, tc.wasm, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(plainTest, "-test.run=^$")
			cmd.Env = append(os.Environ(), hostileEnv+"="+path, hostileEnv+"_DO="+tc.do, hostileEnv+"_CACHE="+cacheDir)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the child: %v\n%s", err, out)
			}
			kib, callErr, _ := strings.Cut(strings.TrimSpace(string(out)), "\t")
			growth, err := strconv.Atoi(kib)
			if err != nil {
				t.Fatalf("the child printed %q", out)
			}
			t.Logf("%s: the host grew by %d MiB at most (%s)", tc.name, growth>>10, callErr)
			if limit := (DefaultMemoryLimit + hostileOverhead) >> 10; growth > limit {
				t.Errorf("%s: the host's resident memory grew by %d MiB, more than the %d MiB ceiling + %d MiB", tc.name, growth>>10, DefaultMemoryLimit>>20, hostileOverhead>>20)
			}
		})
	}
}

// runHostile is the child of TestHostileMemory: it loads the module at
// path, calls its configure with setting do once its memory has settled,
// and prints how much its peak resident memory grew over the settled
// figure, in KiB, then a tab and the call's error.
func runHostile(path, do string) error {
	ctx := context.Background()
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	r, err := NewRuntime(ctx, Options{CacheDir: os.Getenv(hostileEnv + "_CACHE"), MaxInstances: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer r.Close(ctx)
	m, err := r.Load(ctx, "hostile", b)
	if err != nil {
		return err
	}
	runtime.GC()
	debug.FreeOSMemory()
	base, err := procStatus("VmRSS:")
	if err != nil {
		return err
	}
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil { // resets VmHWM
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	callErr := configure(cctx, m, do)
	peak, err := procStatus("VmHWM:")
	if err != nil {
		return err
	}
	fmt.Printf("%d\t%v\n", peak-base, callErr)
	return nil
}

// procStatus returns a field of /proc/self/status in KiB.
func procStatus(field string) (int, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, io.ErrUnexpectedEOF
}

// TestLinearMemory checks that a linearMemory grows in place up to its
// maximum and no further, and is released only once no call runs on it.
func TestLinearMemory(t *testing.T) {
	const page = 64 << 10
	l := &linearMemory{}
	l.enter()
	lm := l.Allocate(page, 4*page)
	b := lm.Reallocate(page)
	if len(b) != page {
		t.Fatalf("%d bytes, want %d", len(b), page)
	}
	b[page-1] = 7
	grown := lm.Reallocate(3 * page)
	if len(grown) != 3*page || &grown[0] != &b[0] || grown[page-1] != 7 || grown[3*page-1] != 0 {
		t.Fatalf("growing moved or lost the memory")
	}
	grown[3*page-1] = 1
	if lm.Reallocate(5*page) != nil {
		t.Errorf("the memory grew past its maximum")
	}
	lm.Free() // as when the Runtime closes during a call
	grown[0] = 1
	if l.mem == nil {
		t.Fatal("the memory was released during a call")
	}
	l.leave()
	if l.mem != nil || lm.Reallocate(page) != nil {
		t.Error("the memory was not released when the call ended")
	}
}

// TestCloseDuringCall checks that closing the Runtime while a call writes
// to the plugin's memory stops the call and releases the memory only then.
func TestCloseDuringCall(t *testing.T) {
	r, _ := newRuntime(t, Options{})
	m, err := r.Load(context.Background(), "spin", wasmtest.Hostile(wasmtest.Spin))
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(100*time.Millisecond, func() { r.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Call(ctx, "describe", []byte("{}"), func([]byte) error { return nil }); !errors.Is(err, errClosed) {
		t.Errorf("the call ended with %v, want %v", err, errClosed)
	}
	if ctx.Err() != nil {
		t.Error("closing the Runtime did not stop the call")
	}
}
