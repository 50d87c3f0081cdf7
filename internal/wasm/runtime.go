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
// A plugin imports WASI preview 1 and idplug.log, nothing else. WASI is given
// no files, directories, environment, arguments or sockets; its clocks are
// wazero's fake ones (plugins have no real clock) and its random source is
// wazero's deterministic default. Each instance's linear memory is capped
// (Options.MemoryLimit), and its tables, which wazero keeps outside linear
// memory, cannot grow past their declared size (see boundTables). A
// plugin's instances thus hold at most MaxInstances × MemoryLimit. Each
// call has the deadline of its context (the caller, internal/plugin, sets it), enforced by wazero, which
// stops a guest when the call's context is done.
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
	"runtime"
	"slices"
	"strings"
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
	// rounded down to whole 64 KiB pages. Zero means DefaultMemoryLimit.
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
	opts  Options
	rt    wazero.Runtime
	cache wazero.CompilationCache
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
	cache, err := newCache(opts)
	if err != nil {
		return nil, err
	}
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		WithMemoryLimitPages(uint32(min(opts.MemoryLimit>>16, 1<<16))).
		WithCloseOnContextDone(true)
	r := &Runtime{opts: opts, rt: wazero.NewRuntimeWithConfig(ctx, cfg), cache: cache}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r.rt); err != nil {
		r.Close(ctx)
		return nil, fmt.Errorf("wasm: instantiating WASI: %w", err)
	}
	_, err = r.rt.NewHostModuleBuilder("idplug").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(r.hostLog), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, nil).
		WithParameterNames("level", "ptr", "len").
		Export("log").
		Instantiate(ctx)
	if err != nil {
		r.Close(ctx)
		return nil, fmt.Errorf("wasm: instantiating the idplug host module: %w", err)
	}
	return r, nil
}

func newCache(opts Options) (wazero.CompilationCache, error) {
	if opts.CacheDir == "" {
		return wazero.NewCompilationCache(), nil
	}
	c, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
	if err != nil {
		return nil, fmt.Errorf("wasm: compilation cache: %w", err)
	}
	return c, nil
}

// Close stops every instance of every Module loaded by r and releases the
// runtime. Modules cannot be used afterwards.
func (r *Runtime) Close(ctx context.Context) error {
	return errors.Join(r.rt.Close(ctx), r.cache.Close(ctx))
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
func (r *Runtime) Load(ctx context.Context, name string, wasm []byte) (*Module, error) {
	fail := func(err error) (*Module, error) { return nil, err }
	wasm, err := boundTables(wasm)
	if err != nil {
		return fail(err)
	}
	compiled, err := r.rt.CompileModule(ctx, wasm)
	if err != nil {
		return fail(fmt.Errorf("not a valid WebAssembly module: %w", err))
	}
	m := newModule(r, name, compiled)
	in, err := m.check(ctx)
	if err != nil {
		compiled.Close(ctx)
		return fail(err)
	}
	m.put(in)
	return m, nil
}

// check verifies the plugin's ABI and returns its first instance.
func (m *Module) check(ctx context.Context) (*instance, error) {
	defs := m.compiled.ExportedFunctions()
	if err := checkSignature(defs, exportVersion, nil, []api.ValueType{i32}); err != nil {
		return nil, err
	}
	for _, f := range m.compiled.ImportedFunctions() {
		mod, fn, _ := f.Import()
		if mod != wasi_snapshot_preview1.ModuleName && (mod != "idplug" || fn != "log") {
			return nil, fmt.Errorf("imports %s.%s: a plugin may import only %s and idplug.log",
				mod, fn, wasi_snapshot_preview1.ModuleName)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, m.r.opts.StartTimeout)
	defer cancel()
	in, err := m.instantiate(ctx)
	if err == nil {
		err = in.mod.ExportedFunction(exportVersion).CallWithStack(in.begin(ctx), in.stack[:])
	}
	if err != nil {
		in.close(ctx)
		return nil, fmt.Errorf("loading: %w", m.failure(ctx, err, in))
	}
	if v := uint32(in.stack[0]); v != sdk.ContractVersion {
		in.close(ctx)
		return nil, &wire.ContractError{Version: fmt.Sprint(v)}
	}
	for _, e := range exports {
		if err := checkSignature(defs, e.name, e.params, e.results); err != nil {
			in.close(ctx)
			return nil, err
		}
	}
	if _, ok := m.compiled.ExportedMemories()["memory"]; !ok {
		in.close(ctx)
		return nil, notPlugin("memory")
	}
	return in, nil
}

func checkSignature(defs map[string]api.FunctionDefinition, name string, params, results []api.ValueType) error {
	d, ok := defs[name]
	if !ok {
		return notPlugin(name)
	}
	if !slices.Equal(d.ParamTypes(), params) || !slices.Equal(d.ResultTypes(), results) {
		return fmt.Errorf("export %s has type %s, the ABI wants %s (see wit/README.md)",
			name, signature(d.ParamTypes(), d.ResultTypes()), signature(params, results))
	}
	return nil
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
