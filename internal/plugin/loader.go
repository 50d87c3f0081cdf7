package plugin

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idplug/idplug/internal/subprocess"
	"github.com/idplug/idplug/internal/wasm"
	"github.com/idplug/idplug/sdk"
)

// Source is a plugin the configuration names: a WebAssembly module or a
// subprocess plugin's executable, pinned by its sha256.
type Source struct {
	Wasm    string // path of a WebAssembly module
	Command string // path of a subprocess plugin's executable
	SHA256  string // the pin, hex
	Where   string // where the configuration defines it ("config.toml:12:1: plugins.acme"), for messages
}

// Options configure a Loader.
type Options struct {
	// Providers are linked in-process, under the names their Describe gives;
	// a later one of the same name replaces an earlier one.
	Providers []sdk.Provider
	// Modules are WebAssembly plugins shipped inside the program, by name:
	// sandboxed like any module, and trusted without a pin.
	Modules map[string][]byte
	// Sources are the configuration's plugins, by name. They shadow a
	// provider or module of the same name.
	Sources map[string]Source
	// CacheDir keeps compiled WebAssembly between processes; "" means memory
	// only.
	CacheDir string
	// CallTimeout bounds each call; zero means DefaultCallTimeout.
	CallTimeout time.Duration
	// Logger receives the plugins' logs and the transports' diagnostics.
	Logger *slog.Logger
}

// Loader loads plugins by name, each once, and owns what they share: the
// WebAssembly runtime. It is safe for concurrent use; Close releases every
// plugin it loaded.
type Loader struct {
	opts      Options
	providers map[string]sdk.Provider

	mu      sync.Mutex
	runtime *wasm.Runtime
	loaded  map[string]*Plugin
}

// NewLoader returns a Loader over opts. It loads nothing yet.
func NewLoader(opts Options) *Loader {
	opts.CallTimeout = cmp.Or(opts.CallTimeout, DefaultCallTimeout)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Loader{opts: opts, providers: map[string]sdk.Provider{}, loaded: map[string]*Plugin{}}
	for _, p := range opts.Providers {
		l.providers[p.Describe().Name] = p
	}
	if len(l.providers) > 0 {
		log := opts.Logger.With("plugin", "built-in")
		sdk.SetLogSink(func(level sdk.Level, msg string) { log.Log(context.Background(), slogLevel(level), msg) })
	}
	return l
}

// Entry is a plugin the Loader can load, without loading it.
type Entry struct {
	Name   string // what profiles call it as their provider
	Source string // "built-in", "embedded", or the configured path
}

// Entries lists every plugin by name, sorted. A configured plugin shadows
// an embedded module or a built-in provider of the same name.
func (l *Loader) Entries() []Entry {
	byName := map[string]Entry{}
	for name := range l.providers {
		byName[name] = Entry{name, "built-in"}
	}
	for name := range l.opts.Modules {
		byName[name] = Entry{name, "embedded"}
	}
	for name, src := range l.opts.Sources {
		byName[name] = Entry{name, cmp.Or(src.Wasm, src.Command)}
	}
	out := slices.Collect(maps.Values(byName))
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Fingerprint names the code behind plugin name, for the token store: tokens
// issued through one plugin are never handed to another that took its name.
func (l *Loader) Fingerprint(name string) string {
	if src, ok := l.opts.Sources[name]; ok {
		return "sha256:" + strings.ToLower(src.SHA256)
	}
	if b, ok := l.opts.Modules[name]; ok {
		sum := sha256.Sum256(b)
		return "embedded-sha256:" + hex.EncodeToString(sum[:])
	}
	return "builtin:" + name
}

// ConfigError is a problem with how the configuration names a plugin: an
// unknown provider, or, with InSource, an unreadable file or a missing or
// wrong pin of a [plugins] entry, whose message starts with Source.Where.
// The host reports it as a configuration error.
type ConfigError struct {
	Err      error
	InSource bool
}

// Error implements error.
func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// Load returns plugin name, loading it on first use: a configured plugin,
// else a module shipped in the program, else a provider linked in-process.
func (l *Loader) Load(ctx context.Context, name string) (*Plugin, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.loaded[name]; ok {
		return p, nil
	}
	var (
		t      Transport
		source string
		err    error
	)
	if src, ok := l.opts.Sources[name]; ok {
		source = cmp.Or(src.Wasm, src.Command)
		if src.Command != "" {
			t, err = l.command(ctx, name, src)
		} else {
			t, err = l.module(ctx, name, src)
		}
	} else if b, ok := l.opts.Modules[name]; ok {
		source = "embedded"
		t, err = l.wasm(ctx, name, b)
	} else if p, ok := l.providers[name]; ok {
		source = "built-in"
		t = inProcess{p}
	} else {
		return nil, l.unknown(name)
	}
	if err != nil {
		return nil, err
	}
	p, err := newPlugin(ctx, name, source, t, l.opts.CallTimeout, l.opts.Logger)
	if err != nil {
		return nil, err
	}
	l.loaded[name] = p
	return p, nil
}

func (l *Loader) unknown(name string) error {
	var names []string
	for _, e := range l.Entries() {
		names = append(names, e.Name)
	}
	return &ConfigError{fmt.Errorf("provider %q is neither built in nor configured under [plugins]; known providers: %s", name, strings.Join(names, ", ")), false}
}

// module reads the WebAssembly module of src and checks it against its pin
// before anything runs.
func (l *Loader) module(ctx context.Context, name string, src Source) (Transport, error) {
	if fi, err := os.Stat(src.Wasm); err == nil && fi.Size() > wasm.MaxModuleSize {
		return nil, &Error{Plugin: name, Err: fmt.Errorf("%s is %d bytes, more than the %d a module may have; it was not read", src.Wasm, fi.Size(), wasm.MaxModuleSize)}
	}
	b, err := os.ReadFile(src.Wasm)
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("%s: cannot read the module: %w", src.Where, err), true}
	}
	got := sha256.Sum256(b)
	if err := checkPin(src, src.Wasm, "module", hex.EncodeToString(got[:])); err != nil {
		return nil, err
	}
	return l.wasm(ctx, name, b)
}

// wasm compiles module under the call deadline, starting the runtime that
// all WebAssembly plugins share on first use (l.mu held).
func (l *Loader) wasm(ctx context.Context, name string, module []byte) (Transport, error) {
	if l.runtime == nil {
		rt, err := wasm.NewRuntime(ctx, wasm.Options{CacheDir: l.opts.CacheDir, Logger: l.opts.Logger})
		if err != nil {
			return nil, err
		}
		l.runtime = rt
	}
	m, err := l.runtime.Load(ctx, name, module)
	if err != nil {
		return nil, l.failed(name, err)
	}
	return m, nil
}

// command starts the subprocess plugin of src. It runs a private copy of the
// executable, made before the pin is checked: the bytes checked are the
// bytes that run, whatever happens to the file.
func (l *Loader) command(ctx context.Context, name string, src Source) (Transport, error) {
	exe, err := subprocess.Copy(src.Command)
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("%s: cannot read the executable: %w", src.Where, err), true}
	}
	if err := checkPin(src, src.Command, "executable", exe.SHA256()); err != nil {
		exe.Close()
		return nil, err
	}
	c, err := subprocess.Start(ctx, name, exe, subprocess.Options{Logger: l.opts.Logger})
	if err != nil {
		return nil, l.failed(name, err)
	}
	return c, nil
}

// failed names the plugin in a transport's load failure.
func (l *Loader) failed(name string, err error) error {
	return &Error{Plugin: name, Err: err}
}

// checkPin compares got, the sha256 of the plugin file at path, with the
// pin of src; what names the kind of file for the user.
func checkPin(src Source, path, what, got string) error {
	if src.SHA256 == "" {
		return &ConfigError{fmt.Errorf("%s: sha256 is required to pin the %s; if you trust %s, add sha256 = %q", src.Where, what, path, got), true}
	}
	if !strings.EqualFold(got, src.SHA256) {
		return &ConfigError{fmt.Errorf("%s: %s has sha256 %s but the configuration pins %s; refusing to load it (update the pin only if you trust the new %s)", src.Where, path, got, src.SHA256, what), true}
	}
	return nil
}

// Close releases every plugin the Loader loaded, and the WebAssembly
// runtime.
func (l *Loader) Close(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for name, p := range l.loaded {
		errs = append(errs, p.Close(ctx))
		delete(l.loaded, name)
	}
	if l.runtime != nil {
		errs = append(errs, l.runtime.Close(ctx))
		l.runtime = nil
	}
	return errors.Join(errs...)
}

// KillAll kills every subprocess plugin this process started and that still
// runs, whichever Loader started it.
func KillAll() { subprocess.KillAll() }

// slogLevel maps a plugin's log level to slog's.
func slogLevel(l sdk.Level) slog.Level { return slog.LevelDebug + 4*slog.Level(min(l, sdk.LevelError)) }
