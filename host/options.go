package host

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/idplug/idplug/sdk"
)

// Option configures Open. Options are applied in order; later ones win.
type Option func(*options)

type options struct {
	app        string
	command    string // what users type to run the commands; "" means app
	configFile string
	stateDir   string
	cacheDir   string
	version    string
	logger     *slog.Logger
	warnings   io.Writer
	expirySkew time.Duration
	defaults   string            // compiled-in configuration, TOML
	providers  []sdk.Provider    // in-process, on top of the registered ones
	modules    map[string][]byte // WebAssembly plugins shipped in the program
}

func defaults() options {
	return options{
		app:        "idplug",
		version:    "dev",
		logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		warnings:   os.Stderr,
		expirySkew: 10 * time.Second,
	}
}

// WithApp sets the embedding tool's name (default "idplug"). It renames the
// configuration path ($XDG_CONFIG_HOME/<app>/config.toml, $<APP>_CONFIG), the
// state directory holding token files, the compilation cache and the keyring
// service.
func WithApp(name string) Option { return func(o *options) { o.app = name } }

// WithCommand sets what users type to run the idplug commands, for the hints
// in errors such as "run `mytool auth login --profile work`". The default is
// the app name; host/cli sets it to where it mounted the commands.
func WithCommand(path string) Option { return func(o *options) { o.command = path } }

// WithConfigFile reads the configuration from path instead of looking for it
// (the --config flag). Empty means look it up.
func WithConfigFile(path string) Option { return func(o *options) { o.configFile = path } }

// WithStateDir sets the directory of the file token store when the
// configuration does not; the default is $XDG_STATE_HOME/<app>
// (~/.local/state/<app>).
func WithStateDir(dir string) Option { return func(o *options) { o.stateDir = dir } }

// WithCacheDir sets the directory of the WebAssembly compilation cache of
// third-party and shipped modules; the default is os.UserCacheDir()/<app>.
func WithCacheDir(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithVersion sets the version the host reports in its User-Agent
// (default "dev").
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// WithLogger sends the host's diagnostics, including plugin logs and redacted
// HTTP traces at debug level, to l. The default discards them.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithWarnings sets where the host writes warnings meant for the user, such
// as the one-time notice that tokens are stored in plain files because no
// keyring is reachable (default os.Stderr; io.Discard silences them).
func WithWarnings(w io.Writer) Option { return func(o *options) { o.warnings = w } }

// warn writes a warning for the user.
func (o *options) warn(msg string) { fmt.Fprintf(o.warnings, "%s: warning: %s\n", o.app, msg) }

// WithExpirySkew sets how long before its expiry an access token counts as
// expired and is refreshed (default 10 s), so that a token handed out is not
// rejected in flight.
func WithExpirySkew(d time.Duration) Option { return func(o *options) { o.expirySkew = d } }

// commandPath is what users type to run the idplug commands.
func (o *options) commandPath() string { return cmp.Or(o.command, o.app) }

// wasmCacheDir is where compiled WebAssembly plugins are cached: the cache
// directory's wazero folder, or "" (memory only) without a user cache dir.
func (o *options) wasmCacheDir() string {
	dir := o.cacheDir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(base, o.app)
	}
	return filepath.Join(dir, "wazero")
}

// WithDefaultConfig compiles in a default configuration, TOML text in the
// format of the configuration file. The user's file, when there is one, is
// read on top of it: it adds profiles and plugins, replaces a default profile
// of the same name as a whole, and its default_profile and [store] settings
// win. With no file at all the defaults alone serve, so that a tool's
// `login` works out of the box. Errors in the defaults name them as
// "<app> built-in defaults" with a line number.
func WithDefaultConfig(toml string) Option { return func(o *options) { o.defaults = toml } }

// WithProvider links provider p into this host in-process, under the name
// its Describe gives, like the built-in providers (and replacing one of the
// same name). A provider package can instead register itself for every host
// of the program with sdk.Register in an init function.
func WithProvider(p sdk.Provider) Option {
	return func(o *options) { o.providers = append(o.providers, p) }
}

// WithWasmPlugin ships a WebAssembly plugin inside the program: profiles
// can name it as their provider without a [plugins] entry. It runs in the
// sandbox like any module; being part of the program, it needs no sha256
// pin. A [plugins] entry of the same name in the configuration wins.
func WithWasmPlugin(name string, module []byte) Option {
	return func(o *options) {
		if o.modules == nil {
			o.modules = map[string][]byte{}
		}
		o.modules[name] = module
	}
}
