package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/idplug/idplug/internal/config"
	"github.com/idplug/idplug/internal/plugin"
	"github.com/idplug/idplug/internal/store"
	_ "github.com/idplug/idplug/plugins" // the built-in providers register themselves
	"github.com/idplug/idplug/sdk"
)

// Host is an opened configuration: its profiles, token store and plugins.
// It is safe for concurrent use. Close it when done to release plugins.
type Host struct {
	opts    options
	cfg     *config.Config
	store   store.Store
	plugins *plugin.Loader

	mu       sync.Mutex
	sessions map[string]*Session // by profile: one connection to its provider
}

// Open reads the configuration and opens the token store. It loads no plugin:
// plugins load when a session first needs one. A configuration problem is a
// *ConfigError.
func Open(ctx context.Context, opts ...Option) (*Host, error) {
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	var defaults []byte
	if o.defaults != "" {
		defaults = []byte(o.defaults)
	}
	cfg, err := config.Load(o.app, o.configFile, defaults)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	st, err := openStore(ctx, cfg, o)
	if err != nil {
		return nil, err
	}
	sources := map[string]plugin.Source{}
	for name, p := range cfg.Plugins {
		sources[name] = plugin.Source{Wasm: p.Wasm, Command: p.Command, SHA256: p.SHA256, Where: fmt.Sprintf("%s: plugins.%s", p.Pos, name)}
	}
	loader := plugin.NewLoader(plugin.Options{
		Providers: append(sdk.Registered(), o.providers...),
		Modules:   o.modules,
		Sources:   sources,
		CacheDir:  o.wasmCacheDir(),
		Logger:    o.logger,
	})
	return &Host{opts: o, cfg: cfg, store: st, plugins: loader, sessions: map[string]*Session{}}, nil
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

// defaultStateDir is $XDG_STATE_HOME/<app>, or ~/.local/state/<app>. A
// relative XDG_STATE_HOME is ignored, as the XDG Base Directory
// specification says.
func defaultStateDir(app string) string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, app)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), app+"-state")
	}
	return filepath.Join(home, ".local", "state", app)
}

// Session returns the session of the named profile; "" means the default
// profile (default_profile, or the only profile). Every call for a profile
// returns the same Session, so that all of a host's work for a profile,
// concurrent logins included, shares one connection to its provider.
func (h *Host) Session(profile string) (*Session, error) {
	p, err := h.cfg.Profile(profile)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sessions[p.Name]
	if s == nil {
		s = &Session{h: h, profile: p, key: store.Key{Profile: p.Name, Fingerprint: p.Fingerprint(h.plugins.Fingerprint(p.Provider))}}
		h.sessions[p.Name] = s
	}
	return s, nil
}

// Close releases every loaded plugin.
func (h *Host) Close() error { return h.plugins.Close(context.Background()) }

// KillPlugins kills every subprocess plugin this process started and that
// still runs, whichever Host started it. Close does so for a host's own
// plugins; a main function defers KillPlugins so that none outlives the
// program when it panics, since deferred calls run while a panic unwinds.
// (On Linux the kernel also kills plugins whose host process died.)
func KillPlugins() { plugin.KillAll() }

// Plugin is a provider plugin the host offers, as its describe says.
type Plugin struct {
	sdk.PluginInfo
	Source string // "built-in", "embedded", or the configured path
	Err    error  // why the plugin did not load; PluginInfo holds only its name then
}

// Plugins describes the named plugins, or every plugin the host offers when
// no name is given, sorted by name: the built-in providers, the modules the
// program ships and the configuration's [plugins]. A plugin that fails to
// load is listed with its error; an unknown name is a *ConfigError.
func (h *Host) Plugins(ctx context.Context, names ...string) ([]Plugin, error) {
	entries := h.plugins.Entries()
	source := map[string]string{}
	for _, e := range entries {
		source[e.Name] = e.Source
	}
	if len(names) == 0 {
		for _, e := range entries {
			names = append(names, e.Name)
		}
	}
	var out []Plugin
	for _, name := range names {
		if _, ok := source[name]; !ok {
			_, err := h.plugin(ctx, name)
			return nil, err
		}
		p, err := h.plugins.Load(ctx, name)
		if err != nil {
			out = append(out, Plugin{PluginInfo: sdk.PluginInfo{Name: name}, Source: source[name], Err: h.pluginError(err)})
			continue
		}
		info := p.Info()
		info.Name = name // the configuration key: how profiles and `plugins info` find it
		out = append(out, Plugin{PluginInfo: info, Source: source[name]})
	}
	return out, nil
}

// plugin loads the plugin profiles call name.
func (h *Host) plugin(ctx context.Context, name string) (*plugin.Plugin, error) {
	p, err := h.plugins.Load(ctx, name)
	return p, h.pluginError(err)
}

// pluginError turns the loader's configuration problems into *ConfigError.
func (h *Host) pluginError(err error) error {
	var ce *plugin.ConfigError
	if errors.As(err, &ce) {
		return &ConfigError{Err: ce.Err}
	}
	return err
}
