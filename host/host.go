package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/idplug/idplug/host/config"
	"github.com/idplug/idplug/host/store"
	"github.com/idplug/idplug/internal/builtin"
	"github.com/idplug/idplug/internal/plugin"
	"github.com/idplug/idplug/internal/subprocess"
	"github.com/idplug/idplug/internal/wasm"
	"github.com/idplug/idplug/sdk"
)

// Host is an opened configuration: its profiles, token store and plugins.
// It is safe for concurrent use. Close it when done to release plugins.
type Host struct {
	opts  options
	cfg   *config.Config
	store store.Store

	mu      sync.Mutex
	runtime *wasm.Runtime
	plugins map[string]*plugin.Plugin
}

// Open reads the configuration and opens the token store. It loads no plugin:
// plugins load when a session first needs one. A configuration problem is a
// *ConfigError.
func Open(ctx context.Context, opts ...Option) (*Host, error) {
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := config.Load(config.Locate(o.app, o.configFile))
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	st, err := openStore(ctx, cfg, o)
	if err != nil {
		return nil, err
	}
	return &Host{opts: o, cfg: cfg, store: st, plugins: map[string]*plugin.Plugin{}}, nil
}

// openStore opens the [store] backend. "keyring" fails, as a configuration
// error, when no keyring is reachable; "auto" finds out when it first saves.
func openStore(ctx context.Context, cfg *config.Config, o options) (store.Store, error) {
	dir := cfg.Store.Dir
	if dir == "" {
		dir = o.stateDir
	}
	if dir == "" {
		dir = defaultStateDir(o.app)
	}
	st, err := store.Open(ctx, store.Options{Backend: cfg.Store.Backend, Dir: dir, Service: o.app, Warn: o.warn})
	if errors.Is(err, store.ErrNoKeyring) {
		return nil, &ConfigError{Err: fmt.Errorf("%s: [store] backend = \"keyring\", but %w; "+
			"run a Secret Service such as gnome-keyring on your D-Bus session bus (DBUS_SESSION_BUS_ADDRESS), "+
			"or set backend = \"file\" (plain files) or \"auto\" (the keyring when there is one)", cfg.Path, err)}
	}
	return st, err
}

func defaultStateDir(app string) string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, app)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), app+"-state")
	}
	return filepath.Join(home, ".local", "state", app)
}

// Config returns the configuration the host was opened with.
func (h *Host) Config() *config.Config { return h.cfg }

// Logger returns the host's logger.
func (h *Host) Logger() *slog.Logger { return h.opts.logger }

// Session returns the session of the named profile; "" means the default
// profile (default_profile, or the only profile).
func (h *Host) Session(profile string) (*Session, error) {
	p, err := h.cfg.Profile(profile)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	return &Session{h: h, profile: p, key: store.Key{Profile: p.Name, Fingerprint: p.Fingerprint(h.pluginSource(p.Provider))}}, nil
}

// Close releases every loaded plugin.
func (h *Host) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	ctx := context.Background()
	var errs []error
	for name, p := range h.plugins {
		errs = append(errs, p.Close(ctx))
		delete(h.plugins, name)
	}
	if h.runtime != nil {
		errs = append(errs, h.runtime.Close(ctx))
		h.runtime = nil
	}
	return errors.Join(errs...)
}

// KillPlugins kills every subprocess plugin this process started and that
// still runs, whichever Host started it. Close does so for a host's own
// plugins; a main function defers KillPlugins so that none outlives the
// program when it panics, since deferred calls run while a panic unwinds.
// (On Linux the kernel also kills plugins whose host process died.)
func KillPlugins() { subprocess.KillAll() }

// pluginSource names where provider comes from, for the token fingerprint: a
// different module must never reuse tokens issued through another.
func (h *Host) pluginSource(provider string) string {
	if src, ok := h.cfg.Plugins[provider]; ok {
		return "sha256:" + src.SHA256
	}
	return "builtin:" + provider
}

// PluginSummary is one row of the plugin list.
type PluginSummary struct {
	Name   string // the name profiles use as provider
	Source string // "built-in" or the module's path
}

// PluginNames lists the built-in and configured plugins without loading any.
func (h *Host) PluginNames() []PluginSummary {
	var out []PluginSummary
	for _, name := range builtin.Names() {
		if _, shadowed := h.cfg.Plugins[name]; !shadowed {
			out = append(out, PluginSummary{Name: name, Source: "built-in"})
		}
	}
	for name, src := range h.cfg.Plugins {
		out = append(out, PluginSummary{Name: name, Source: firstNonEmpty(src.Wasm, src.Command)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// PluginInfo loads the named plugin and returns what its describe said.
func (h *Host) PluginInfo(ctx context.Context, name string) (sdk.PluginInfo, string, error) {
	p, err := h.plugin(ctx, name)
	if err != nil {
		return sdk.PluginInfo{}, "", err
	}
	return p.Info(), p.Source(), nil
}

// plugin loads (once) the plugin profiles call name: a [plugins.name] entry,
// else the built-in of that name.
func (h *Host) plugin(ctx context.Context, name string) (*plugin.Plugin, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p, ok := h.plugins[name]; ok {
		return p, nil
	}
	if src, ok := h.cfg.Plugins[name]; ok && src.Command != "" {
		return h.command(ctx, name, src)
	}
	module, source, err := h.module(name)
	if err != nil {
		return nil, err
	}
	if h.runtime == nil {
		rt, err := wasm.NewRuntime(ctx, wasm.Options{CacheDir: h.opts.wasmCacheDir(), Logger: h.opts.logger})
		if err != nil {
			return nil, err
		}
		h.runtime = rt
	}
	mod, err := h.runtime.Load(ctx, name, module)
	if err != nil {
		return nil, err
	}
	p, err := plugin.New(ctx, name, source, mod)
	if err != nil {
		return nil, err
	}
	h.plugins[name] = p
	return p, nil
}

// module returns the bytes of wasm plugin name, checking a third-party
// module against its pinned sha256 before anything runs.
func (h *Host) module(name string) ([]byte, string, error) {
	src, ok := h.cfg.Plugins[name]
	if !ok {
		b, ok := builtin.Module(name)
		if !ok {
			return nil, "", h.unknownProvider(name)
		}
		return b, "built-in", nil
	}
	b, err := os.ReadFile(src.Wasm)
	if err != nil {
		return nil, "", &ConfigError{Err: fmt.Errorf("%s: plugins.%s: cannot read the module: %w", src.Pos, name, err)}
	}
	got := sha256.Sum256(b)
	if err := checkPin(name, src, src.Wasm, "module", hex.EncodeToString(got[:])); err != nil {
		return nil, "", err
	}
	return b, src.Wasm, nil
}

// command starts the subprocess plugin of [plugins.name] (h.mu held). It
// runs a private copy of the executable, made before the pin is checked:
// the bytes checked are the bytes that run, whatever happens to the file.
func (h *Host) command(ctx context.Context, name string, src *config.Plugin) (*plugin.Plugin, error) {
	exe, err := subprocess.Copy(src.Command)
	if err != nil {
		return nil, &ConfigError{Err: fmt.Errorf("%s: plugins.%s: cannot read the executable: %w", src.Pos, name, err)}
	}
	if err := checkPin(name, src, src.Command, "executable", exe.SHA256()); err != nil {
		exe.Close()
		return nil, err
	}
	c, err := subprocess.Start(ctx, name, exe, subprocess.Options{Logger: h.opts.logger})
	if err != nil {
		return nil, err
	}
	p, err := plugin.New(ctx, name, src.Command, c)
	if err != nil {
		return nil, err
	}
	h.plugins[name] = p
	return p, nil
}

// checkPin compares got, the sha256 of the plugin file at path, with the
// pin of [plugins.name]; what names the kind of file for the user.
func checkPin(name string, src *config.Plugin, path, what, got string) error {
	if src.SHA256 == "" {
		return &ConfigError{Err: fmt.Errorf("%s: plugins.%s: sha256 is required to pin the %s; if you trust %s, add sha256 = %q", src.Pos, name, what, path, got)}
	}
	if !strings.EqualFold(got, src.SHA256) {
		return &ConfigError{Err: fmt.Errorf("%s: plugins.%s: %s has sha256 %s but the configuration pins %s; refusing to load it (update the pin only if you trust the new %s)", src.Pos, name, path, got, src.SHA256, what)}
	}
	return nil
}

func (h *Host) unknownProvider(name string) error {
	var names []string
	for _, p := range h.PluginNames() {
		names = append(names, p.Name)
	}
	if len(builtin.Names()) == 0 {
		return &ConfigError{Err: fmt.Errorf("provider %q: this binary has no built-in plugins; build it with `make build`, or configure [plugins.%s]", name, name)}
	}
	return &ConfigError{Err: fmt.Errorf("provider %q is neither built in nor configured under [plugins]; known providers: %s", name, strings.Join(names, ", "))}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
