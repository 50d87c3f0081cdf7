// Package wasm carries provider plugins compiled to WebAssembly: it implements
// plugin.Transport over wazero and the JSON-over-core-wasm ABI of wit/README.md.
//
// # Design
//
// One Runtime serves every wasm plugin of a host. It owns the wazero runtime,
// the WASI and idplug host modules, and a compilation cache on disk, so that a
// plugin is compiled to machine code once per host build and module and later
// processes load it in milliseconds.
//
// Load compiles a plugin into a Module. A Module keeps a pool of instances: a
// call takes an idle instance, or instantiates one when all are busy and fewer
// than Options.MaxInstances exist, or waits. Calls are short and CPU-bound, so
// a pool no larger than the number of CPUs serves any number of concurrent
// login flows in a bounded amount of memory. An instance that fails in any way — an
// error envelope, a trap, an exit, the call deadline, cancellation, a result
// outside its memory — is closed rather than returned to the pool, so the next
// call starts from a freshly initialised one.
//
// # Sandbox
//
// Before compiling a module, Load reads it (see prepare): it refuses one
// larger than MaxModuleSize, one that is not well-formed, or that lacks the
// contract's exports or imports what a plugin may not, so that such a
// module never reaches the cache, and costs no compilation unless it
// exports idplug_contract_version (see Load); and it rewrites what it
// compiles, to bound the module's tables and call stack.
//
// A plugin imports WASI preview 1 and idplug.log, nothing else. WASI is given
// no files, directories, environment, arguments or sockets; its clocks are
// wazero's fake ones (plugins have no real clock), and its random source is
// crypto/rand. What a plugin may cost the host is bounded per instance:
//   - its linear memory by Options.MemoryLimit, in a reservation of address
//     space outside the Go heap that growing never copies and closing the
//     instance returns at once (see linearMemory);
//   - its tables, which wazero keeps outside linear memory, by their
//     declared size (see boundTableSection);
//   - its call stack, which wazero keeps in the Go heap, by MaxStack (see
//     instrument): with the garbage of growing the stack, a few MB.
//
// A plugin's instances thus hold at most MaxInstances × (MemoryLimit + a
// few MB). Each call has the deadline of its context (the caller,
// internal/plugin, sets it), enforced by wazero, which stops a guest when
// the call's context is done.
// Whatever a plugin writes to stdout or stderr, and what it passes to
// idplug.log, goes to the host's logger with the attribute plugin=<name>,
// in records of at most 4 KiB and at most 64 KiB a call. A result envelope
// is at most wire.MaxMessage bytes.
package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
)

// Defaults of Options.
const (
	// DefaultMemoryLimit is the linear memory ceiling of one instance. A Go
	// plugin built with the SDK starts at about 3.5 MiB and settles below
	// 8 MiB: the contract's documents are small.
	DefaultMemoryLimit = 64 << 20
	// DefaultStartTimeout bounds instantiating a module and asking its
	// contract version when Load checks it, after compilation: as for a
	// subprocess plugin's start, it only stops a module whose initialisation
	// never ends, and leaves room for a loaded machine.
	DefaultStartTimeout = 10 * time.Second
)

// Options configure a Runtime. The zero value is ready to use.
type Options struct {
	// CacheDir keeps compiled machine code between processes. Empty means a
	// cache in memory only; the host passes os.UserCacheDir()/<app>/wazero.
	CacheDir string
	// MemoryLimit is the most linear memory an instance may have, in bytes,
	// rounded down to whole 64 KiB pages. Zero means DefaultMemoryLimit. An
	// instance reserves it as address space; it uses memory as it writes.
	MemoryLimit uint64
	// StartTimeout bounds the first instantiation and the version check of
	// Load. Zero means DefaultStartTimeout. The caller bounds calls.
	StartTimeout time.Duration
	// MaxInstances bounds the instances of one plugin, busy or idle; calls
	// beyond it wait for an instance. Zero means min(runtime.GOMAXPROCS(0), 8):
	// calls never block inside a plugin, so instances beyond the number of
	// CPUs would only cost memory (an SDK plugin's instance settles at 4 to 8
	// MiB), and eight bound that cost on large machines.
	MaxInstances int
	// Logger receives plugins' log messages, stdout and stderr. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Runtime loads and runs wasm plugins. It is safe for concurrent use; one
// Runtime serves all the plugins of a host.
type Runtime struct {
	opts    Options
	rt      wazero.Runtime
	cache   wazero.CompilationCache
	mu      sync.Mutex
	bare    []wazero.Runtime   // without the cache, for modules it failed (see compile)
	running map[*instance]bool // instances running plugin code, which Close stops
	closed  bool               // Close began: no instance runs plugin code again
	idle    sync.Cond          // signalled when running empties
}

// NewRuntime starts a Runtime with opts.
func NewRuntime(ctx context.Context, opts Options) (*Runtime, error) {
	if opts.MemoryLimit == 0 {
		opts.MemoryLimit = DefaultMemoryLimit
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.MaxInstances <= 0 {
		opts.MaxInstances = min(runtime.GOMAXPROCS(0), 8)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cache := newCache(opts)
	r := &Runtime{opts: opts, cache: cache}
	r.running = map[*instance]bool{}
	r.idle.L = &r.mu
	rt, err := r.newWazero(ctx, cache)
	if err != nil {
		cache.Close(ctx)
		return nil, err
	}
	r.rt = rt
	return r, nil
}

// newWazero returns a wazero runtime for r's plugins, with the WASI and
// idplug host modules, compiling into cache, or into no cache when cache is
// nil.
func (r *Runtime) newWazero(ctx context.Context, cache wazero.CompilationCache) (wazero.Runtime, error) {
	// No WithCloseOnContextDone: the instrumented loops stop a call at its
	// deadline (deadline.go).
	cfg := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(uint32(min(r.opts.MemoryLimit>>16, 1<<16)))
	if cache != nil {
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasm: instantiating WASI: %w", err)
	}
	_, err := rt.NewHostModuleBuilder("idplug").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(r.hostLog), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, nil).
		WithParameterNames("level", "ptr", "len").
		Export("log").
		Instantiate(ctx)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasm: instantiating the idplug host module: %w", err)
	}
	return rt, nil
}

// newCache returns the compilation cache in opts.CacheDir, or one in
// memory when there is no directory or it cannot be made: plugins load
// either way, compiling every time without a directory.
func newCache(opts Options) wazero.CompilationCache {
	if opts.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err == nil {
			return c
		}
		opts.Logger.Warn("wasm: the compilation cache is unusable; plugins are compiled at every start", "dir", opts.CacheDir, "err", err)
	}
	return wazero.NewCompilationCache()
}

// compile compiles wasm with rt, whose compilation cache is r's. wazero
// fails a compilation that meets a cache entry it cannot read, or a cache
// it cannot write: then compile clears wazero's entries in the cache
// directory and tries again, and failing still, compiles without the cache.
// The compiled module returned belongs to the runtime returned.
func (r *Runtime) compile(ctx context.Context, rt wazero.Runtime, wasm []byte) (wazero.Runtime, wazero.CompiledModule, error) {
	compiled, err := rt.CompileModule(ctx, wasm)
	if err == nil || r.opts.CacheDir == "" {
		return rt, compiled, err
	}
	log := r.opts.Logger.With("dir", r.opts.CacheDir, "err", err)
	if dirs, _ := filepath.Glob(filepath.Join(r.opts.CacheDir, "wazero-*")); len(dirs) > 0 {
		log.Warn("wasm: compiling with the compilation cache failed; clearing it")
		for _, d := range dirs {
			os.RemoveAll(d) // wazero's own directories: its entries, for each version of it
		}
		if compiled, err = rt.CompileModule(ctx, wasm); err == nil {
			return rt, compiled, nil
		}
	}
	bare, berr := r.newWazero(ctx, nil)
	if berr != nil {
		return nil, nil, berr
	}
	if compiled, berr = bare.CompileModule(ctx, wasm); berr != nil {
		bare.Close(ctx)
		return nil, nil, berr // the module's own fault
	}
	log.Warn("wasm: compiled a plugin without the compilation cache, which failed")
	r.mu.Lock()
	r.bare = append(r.bare, bare)
	r.mu.Unlock()
	return bare, compiled, nil
}

// Close stops every instance of every Module loaded by r and releases the
// runtime. Modules cannot be used afterwards.
func (r *Runtime) Close(ctx context.Context) error {
	r.stopAll(ctx)
	errs := []error{r.rt.Close(ctx), r.cache.Close(ctx)}
	r.mu.Lock()
	for _, rt := range r.bare {
		errs = append(errs, rt.Close(ctx))
	}
	r.mu.Unlock()
	return errors.Join(errs...)
}

// stopAll sets the stop global of every instance running plugin code, and
// waits, as long as ctx allows and a second at most, until each has trapped
// at its next loop iteration: wazero must not close an instance that still
// runs.
func (r *Runtime) stopAll(ctx context.Context) {
	// A loop traps within microseconds of the stop; the bound is for a
	// host that is itself stalled.
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for in := range r.running {
		in.stop.Set(1)
	}
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.idle.Broadcast()
	})
	defer stop()
	for len(r.running) > 0 && ctx.Err() == nil {
		r.idle.Wait()
	}
}

// i32 and i64 abbreviate the ABI's signatures.
var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// exportVersion is checked before anything else: the rest of the ABI is only
// known to hold once the plugin says it speaks sdk.ContractVersion.
const exportVersion = "idplug_contract_version"

// exports are the functions of contract version 1 a plugin must export, with
// their signatures, besides exportVersion.
var exports = []struct {
	name            string
	params, results []api.ValueType
}{
	{"idplug_alloc", []api.ValueType{i32}, []api.ValueType{i32}},
	{"idplug_free", []api.ValueType{i32, i32}, nil},
	{"idplug_describe", []api.ValueType{i32, i32}, []api.ValueType{i64}},
	{"idplug_configure", []api.ValueType{i32, i32}, []api.ValueType{i64}},
	{"idplug_prepare", []api.ValueType{i32, i32}, []api.ValueType{i64}},
	{"idplug_interpret", []api.ValueType{i32, i32}, []api.ValueType{i64}},
	{"idplug_identity", []api.ValueType{i32, i32}, []api.ValueType{i64}},
}

// Load compiles wasm, the plugin the configuration calls name, checks that it
// speaks the host's contract version and exports the contract's functions,
// and returns it ready to call with one idle instance. Compilation is served
// from the cache when this module was compiled before.
//
// Before compiling it, Load refuses a module larger than MaxModuleSize, one
// that is not well-formed, or that lacks the contract's exports or imports
// what a plugin may not (see prepare): such a module is neither compiled
// nor cached. The exception is a module that exports
// idplug_contract_version but deviates from the rest of the ABI: it is
// compiled without the cache, only to ask that version, so that a plugin of
// another contract version hears so.
func (r *Runtime) Load(ctx context.Context, name string, wasm []byte) (*Module, error) {
	wasm, abi, err := prepare(wasm)
	if err != nil {
		return nil, err
	}
	rt := r.rt
	var compiled wazero.CompiledModule
	if abi != nil {
		if rt, err = r.newWazero(ctx, nil); err != nil {
			return nil, err
		}
		defer rt.Close(ctx)
		compiled, err = rt.CompileModule(ctx, wasm)
	} else {
		rt, compiled, err = r.compile(ctx, rt, wasm)
	}
	if err != nil {
		return nil, fmt.Errorf("not a valid WebAssembly module: %w", err)
	}
	m := newModule(r, rt, name, compiled)
	in, err := m.check(ctx)
	if err == nil && abi != nil {
		in.close(ctx)
		err = abi
	}
	if err != nil {
		compiled.Close(ctx)
		return nil, err
	}
	m.put(in)
	return m, nil
}

// check asks the plugin its contract version, and returns its first
// instance when it speaks the host's.
func (m *Module) check(ctx context.Context) (*instance, error) {
	ctx, cancel := context.WithTimeout(ctx, m.r.opts.StartTimeout)
	defer cancel()
	in, err := m.instantiate(ctx)
	if err == nil {
		disarm := in.watch(ctx)
		err = in.mod.ExportedFunction(exportVersion).CallWithStack(in.begin(ctx), in.stack[:])
		in.end()
		if !disarm() && err == nil { // stopped as it returned: start no call on it
			err = errClosed
			if ctx.Err() != nil {
				err = ctx.Err()
			}
		}
	}
	if err != nil {
		in.close(ctx)
		return nil, fmt.Errorf("loading: %w", m.failure(ctx, err, in))
	}
	if v := uint32(in.stack[0]); v != sdk.ContractVersion {
		in.close(ctx)
		return nil, &wire.ContractError{Version: fmt.Sprint(v)}
	}
	return in, nil
}

func notPlugin(export string) error {
	return fmt.Errorf("not an idplug plugin: missing export %s; build it with the idplug SDK (sdk.Register in an init function, a main that calls serve.Main, GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared) or see wit/README.md", export)
}

func signature(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return names(params) + " -> " + names(results)
}

// hostLog implements idplug.log(level, ptr, len).
func (r *Runtime) hostLog(ctx context.Context, mod api.Module, stack []uint64) {
	level, ptr, size := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	msg, ok := mod.Memory().Read(ptr, size)
	if !ok {
		panic(fmt.Errorf("idplug.log: the message at %#x+%d lies outside the plugin's memory", ptr, size))
	}
	out, ok := ctx.Value(outputKey{}).(*output)
	if !ok {
		out = &output{log: r.opts.Logger, left: maxLogPerCall}
	}
	// Copy no more than a record holds.
	out.record(slogLevel(sdk.Level(level)), string(msg[:min(len(msg), maxLine+utf8.UTFMax)]))
}

// slogLevel maps the ABI's levels (0 debug … 3 error) to slog's; higher
// numbers count as errors.
func slogLevel(l sdk.Level) slog.Level {
	return slog.LevelDebug + 4*slog.Level(min(l, sdk.LevelError))
}
