package wasm_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/plugin"
	"github.com/idplug/idplug/internal/wasm"
	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
)

// The host's view of WebAssembly plugins: loaded through a plugin.Loader,
// which names the plugin and the function in every error, keeps the first
// line of a failure the plugin reports, applies the call deadline and
// refuses calls on a closed plugin. The tests of wasm_test.go check the
// transport underneath.

// newLoader returns a Loader of the test modules, on the compilation cache
// TestMain filled, with call deadline timeout.
func newLoader(t *testing.T, timeout time.Duration) *plugin.Loader {
	t.Helper()
	modules := map[string][]byte{"misbehave": wasm.BuiltModule("misbehave"), "badptr": wasm.BuiltModule("badptr")}
	for _, tc := range wasm.LoadErrors() {
		modules[tc.Name] = tc.Wasm
	}
	l := plugin.NewLoader(plugin.Options{Modules: modules, CacheDir: wasm.SharedCacheDir(), CallTimeout: timeout, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}

// load loads plugin name through l.
func load(t *testing.T, l *plugin.Loader, name string) *plugin.Plugin {
	t.Helper()
	p, err := l.Load(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// configure calls the misbehave fixture's configure with do.
func configure(ctx context.Context, p *plugin.Plugin, do string) error {
	_, _, err := p.Configure(ctx, map[string]string{"do": do}, sdk.Client{ClientID: "cli"})
	return err
}

func TestFaultsThroughLoader(t *testing.T) {
	p := load(t, newLoader(t, time.Second), "misbehave")
	for _, tc := range []struct {
		do, want string
		is       error
	}{
		{do: "panic", want: `plugin "misbehave": configure: panic in configure: boom`}, // the stack trace goes to the debug log
		{do: "trap", want: `plugin "misbehave": configure: crashed: wasm error: out of bounds memory access`},
		{do: "exit", want: `plugin "misbehave": configure: exited with code 3`},
		{do: "exit0", want: `plugin "misbehave": configure: exited with code 0`},
		// The fake clock lets time pass at each reading, so a sleep spins
		// instead of waiting; the deadline stops it.
		{do: "sleep", want: `plugin "misbehave": configure: exceeded the 1s call deadline; the plugin was stopped`, is: context.DeadlineExceeded},
		{do: "loop", want: `plugin "misbehave": configure: exceeded the 1s call deadline; the plugin was stopped`, is: context.DeadlineExceeded},
		{do: "alloc", want: `plugin "misbehave": configure: ran out of memory under the 64 MiB ceiling: runtime: out of memory: cannot allocate 1073741824-byte block`},
	} {
		t.Run(tc.do, func(t *testing.T) {
			err := configure(t.Context(), p, tc.do)
			var pe *plugin.Error
			if !errors.As(err, &pe) || pe.Plugin != "misbehave" || pe.Func != wire.FuncConfigure || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error = %v, want %s…", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if err := configure(t.Context(), p, "nothing"); err != nil {
				t.Errorf("the next call: %v", err)
			}
		})
	}
}

func TestCancelThroughLoader(t *testing.T) {
	p := load(t, newLoader(t, 0), "misbehave")
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	err := configure(ctx, p, "loop")
	if want := `plugin "misbehave": configure: the call was abandoned (context canceled)`; err == nil || !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v, want %s…", err, want)
	}
	if err := configure(t.Context(), p, "nothing"); err != nil {
		t.Errorf("the next call: %v", err)
	}
}

func TestLoadErrorsThroughLoader(t *testing.T) {
	l := newLoader(t, 0)
	cases := append(wasm.LoadErrors(), wasm.LoadError{Name: "badptr", Want: "describe: returned its result at 0xfffffff0+64, outside its"})
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			_, err := l.Load(t.Context(), tc.Name)
			var pe *plugin.Error
			if want := `plugin "` + tc.Name + `": ` + tc.Want; !errors.As(err, &pe) || pe.Plugin != tc.Name || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("error = %v, want %s…", err, want)
			}
			var ce *wire.ContractError
			if tc.Name == "badversion" && (!errors.As(err, &ce) || ce.Version != "2") {
				t.Errorf("error %v: want a *wire.ContractError for version 2", err)
			}
		})
	}
}

func TestClosedThroughLoader(t *testing.T) {
	l := newLoader(t, 0)
	p := load(t, l, "misbehave")
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	err := configure(t.Context(), p, "nothing")
	if want := `plugin "misbehave": configure: the plugin was closed`; !errors.Is(err, plugin.ErrClosed) || err.Error() != want {
		t.Errorf("a call after Close: %v, want %s", err, want)
	}
}
