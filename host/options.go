package host

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"
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

// WithCacheDir sets the directory of the WebAssembly compilation cache; the
// default is os.UserCacheDir()/<app>.
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
