// Package config reads idplug's TOML configuration file: the profiles a user
// can sign in with, the third-party plugins they use, and where tokens are
// stored (DESIGN.md §3). [Load] can lay the file over a default configuration
// compiled into an embedding tool (DESIGN.md §7).
//
// Parse and Load check the whole file and report every problem at once as
// [Errors], each naming the file (or the built-in defaults), line and key and
// saying what to change.
// Provider settings are kept as raw TOML values with their positions; the host
// validates them against the settings the provider plugin declares and reports
// problems with [Profile.SettingError].
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Store backends accepted in [store] backend.
const (
	BackendAuto    = "auto"    // the OS keyring, else files (with a warning)
	BackendKeyring = "keyring" // the OS keyring only
	BackendFile    = "file"    // 0600 files only
)

// Config is a parsed configuration: a file, possibly laid over an embedding
// tool's built-in defaults (see [Load]).
type Config struct {
	Path           string // the user's file; the built-in defaults' name when there is no file
	DefaultProfile string // "" when unset
	Store          Store
	Profiles       map[string]*Profile // by name
	Plugins        map[string]*Plugin  // by name
}

// Store is the [store] table: where token bundles are kept.
type Store struct {
	Backend string // BackendAuto (the default), BackendKeyring or BackendFile
	Dir     string // file backend directory; "" means the host's default ($XDG_STATE_HOME/<app>)
}

// Profile is one [profiles.NAME] table: a way to sign in.
type Profile struct {
	Name         string
	Provider     string // a built-in provider name or a key of [plugins]
	ClientID     string
	ClientSecret Secret           // optional, for confidential clients
	Scopes       []string         // nil when unset: the provider's default scopes apply
	NoPKCE       bool             // pkce = false: no RFC 7636 on the device grant (on by default)
	Settings     map[string]Value // the provider's settings, as written
	GitHosts     []string         // git_hosts: the hosts git-credential answers for, lower-case, host[:port]
	GitUsername  string           // git_username: the username git gets; "" means "oauth2"
	Pos          Position         // where the profile is defined
}

// Plugin is one [plugins.NAME] table: a third-party provider plugin.
// Exactly one of Wasm and Command is set; relative paths in the file are
// resolved against the configuration file's directory.
type Plugin struct {
	Name    string
	Wasm    string   // path of a WebAssembly module
	Command string   // path of a go-plugin executable
	SHA256  string   // pinned digest of the file, 64 lowercase hex digits; "" when not pinned
	Pos     Position // where the plugin is defined
}

// Value is the value of one provider setting as written in the file.
type Value struct {
	// Raw is the value as TOML decodes it: string, int64, float64, bool,
	// time.Time, []any or map[string]any.
	Raw any
	Pos Position // where the setting is written
}

// Type names the TOML type of v: "string", "integer", "float", "boolean",
// "datetime", "array" or "table".
func (v Value) Type() string { return typeName(v.Raw) }

// Secret is a string that formats as "[redacted]" so that it never reaches
// output or logs by accident. Convert it with string(s) to use it.
type Secret string

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString is String, so that %#v redacts too.
func (s Secret) GoString() string { return s.String() }

// LogValue redacts s in log/slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// ErrUnknownProfile is wrapped by the errors of [Config.Profile].
var ErrUnknownProfile = errors.New("unknown profile")

// example is printed when there is no configuration file.
const example = `[profiles.work]
provider  = "oidc"
client_id = "my-cli"
[profiles.work.settings]
issuer = "https://idp.example.com"`

// Load reads the configuration of the application app from the file that
// [Locate](app, flagValue) finds. An embedding tool may pass defaults, the
// TOML text of a configuration compiled into it, for the file to be laid
// over; nil means none. Relative plugin and store paths in the file are made
// absolute against its directory.
//
// The defaults are checked like a file; their problems are positioned in
// "<APP built-in defaults>", the name that also serves as Path when there is
// no file. Their plugin and store paths must be absolute. The user's file
// wins over them:
//   - a profile or plugin of the file replaces the defaults' one of the same
//     name entirely: none of the defaults' keys or settings remain;
//   - default_profile, and each key of [store], replaces the defaults' when
//     the file sets it.
//
// default_profile is checked against the merged profiles, so either source
// may name a profile of the other.
//
// When no file is found at the default location the defaults serve alone.
// Without defaults, or when the file was named by flagValue or $<APP>_CONFIG,
// a missing file is an error that wraps [fs.ErrNotExist] and shows how to
// write one. Any problems of the defaults and the file are returned together
// as [Errors].
func Load(app, flagValue string, defaults []byte) (*Config, error) {
	var sources []*parser
	if defaults != nil {
		sources = append(sources, decode("<"+app+" built-in defaults>", "", defaults))
	}
	path, named := locate(app, flagValue)
	data, err := readFile(path)
	switch {
	case err == nil:
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		sources = append(sources, decode(path, filepath.Dir(abs), data))
	case errors.Is(err, fs.ErrNotExist) && defaults != nil && !named:
		// The defaults serve alone.
	default:
		return nil, err
	}
	return merge(sources...)
}

// readFile reads the configuration file at path.
func readFile(path string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("no configuration file (home directory unknown): pass --config FILE: %w", fs.ErrNotExist)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w\ncreate it with at least one profile, for example:\n\n%s", err, example)
	}
	return data, err
}

// Parse parses the contents of a configuration file. name appears in error
// positions, and relative paths are resolved against its directory.
// Any problems are returned together as [Errors].
func Parse(name string, data []byte) (*Config, error) {
	return merge(decode(name, filepath.Dir(name), data))
}

// Profile returns the named profile. For name "" it returns the default
// profile, or the only profile when there is exactly one. Errors wrap
// [ErrUnknownProfile] and list the profiles there are.
func (c *Config) Profile(name string) (*Profile, error) {
	if name == "" {
		name = c.DefaultProfile
	}
	if p, ok := c.Profiles[name]; ok {
		return p, nil
	}
	names := slices.Sorted(maps.Keys(c.Profiles))
	switch {
	case len(names) == 0:
		return nil, fmt.Errorf("%w: %s defines no profiles; add a [profiles.NAME] table such as:\n\n%s", ErrUnknownProfile, c.Path, example)
	case name == "" && len(names) == 1:
		return c.Profiles[names[0]], nil
	case name == "":
		return nil, fmt.Errorf("%w: several profiles (%s) and no default_profile in %s: choose one with --profile or set default_profile",
			ErrUnknownProfile, strings.Join(names, ", "), c.Path)
	}
	return nil, fmt.Errorf("%w: no profile %q in %s%s; the profiles are: %s",
		ErrUnknownProfile, name, c.Path, Suggest(name, names), strings.Join(names, ", "))
}

// Setting returns the value of the provider setting key, if it is set.
func (p *Profile) Setting(key string) (Value, bool) {
	v, ok := p.Settings[key]
	return v, ok
}

// SettingError returns an error about the setting key positioned at its line,
// or at the profile's line when the setting is missing. An empty key makes
// it an error about the profile as a whole (a plugin's verdict on its
// client_secret, say). msg should say what to change.
func (p *Profile) SettingError(key, msg string) *Error {
	if key == "" {
		return &Error{Pos: p.Pos, Key: "profiles." + quoteKey(p.Name), Msg: msg}
	}
	pos := p.Pos
	if v, ok := p.Settings[key]; ok {
		pos = v.Pos
	}
	return &Error{Pos: pos, Key: "profiles." + quoteKey(p.Name) + ".settings." + quoteKey(key), Msg: msg}
}

// ProviderError returns err, a failure to find the profile's provider, as an
// *Error about the profile's provider key, positioned at the profile, whose
// message is err's text. (A failure about a [plugins] entry names that
// entry's position instead, and only it.)
func (p *Profile) ProviderError(err error) error {
	return &Error{Pos: p.Pos, Key: "profiles." + quoteKey(p.Name) + ".provider", Msg: err.Error()}
}

// Fingerprint returns a stable hex SHA-256 over everything that decides which
// tokens a profile gets: the provider, pluginSource (where the provider's
// plugin comes from, as the host identifies it), the client ID, the scopes
// (in any order) and the settings. Token bundles are keyed by it, so that
// editing a profile never reuses tokens obtained under the old one. The client
// secret is left out: rotating it does not change whose tokens they are.
func (p *Profile) Fingerprint(pluginSource string) string {
	var b strings.Builder
	b.WriteString("idplug profile v1\n")
	for _, s := range []string{p.Provider, pluginSource, p.ClientID} {
		b.WriteString(strconv.Quote(s) + "\n")
	}
	if p.Scopes == nil {
		b.WriteString("default scopes")
	} else {
		scopes := make([]any, len(p.Scopes))
		for i, s := range slices.Sorted(slices.Values(p.Scopes)) {
			scopes[i] = s
		}
		canonical(&b, scopes)
	}
	for _, k := range slices.Sorted(maps.Keys(p.Settings)) {
		b.WriteString("\n" + strconv.Quote(k) + "=")
		canonical(&b, p.Settings[k].Raw)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// canonical writes an unambiguous, deterministic encoding of a TOML value.
func canonical(b *strings.Builder, v any) {
	switch v := v.(type) {
	case string:
		b.WriteString("s" + strconv.Quote(v))
	case int64:
		b.WriteString("i" + strconv.FormatInt(v, 10))
	case float64:
		b.WriteString("f" + strconv.FormatFloat(v, 'g', -1, 64))
	case bool:
		b.WriteString("b" + strconv.FormatBool(v))
	case time.Time:
		if strings.HasSuffix(v.Location().String(), "-local") {
			// A local date or time: as written, not in the machine's time zone.
			b.WriteString("t" + v.Format("2006-01-02T15:04:05.999999999") + v.Location().String())
		} else {
			b.WriteString("t" + v.UTC().Format(time.RFC3339Nano))
		}
	case []map[string]any:
		l := make([]any, len(v))
		for i, m := range v {
			l[i] = m
		}
		canonical(b, l)
	case []any:
		b.WriteString("[")
		for _, e := range v {
			canonical(b, e)
			b.WriteString(",")
		}
		b.WriteString("]")
	case map[string]any:
		b.WriteString("{")
		for _, k := range slices.Sorted(maps.Keys(v)) {
			b.WriteString(strconv.Quote(k) + ":")
			canonical(b, v[k])
			b.WriteString(",")
		}
		b.WriteString("}")
	default:
		fmt.Fprintf(b, "?%T", v)
	}
}

// Locate returns the configuration file to use for the application app:
// flagValue (from --config) when set, else $<APP>_CONFIG (IDPLUG_CONFIG for
// app "idplug"), else $XDG_CONFIG_HOME/<app>/config.toml, else
// ~/.config/<app>/config.toml. It returns "" when none can be determined.
// A relative $XDG_CONFIG_HOME is ignored, as the XDG Base Directory
// specification requires.
func Locate(app, flagValue string) string {
	path, _ := locate(app, flagValue)
	return path
}

// locate is [Locate], also saying whether the user named the file (by flag
// or environment) rather than it being the default location.
func locate(app, flagValue string) (path string, named bool) {
	if flagValue != "" {
		return flagValue, true
	}
	if v := os.Getenv(EnvName(app, "CONFIG")); v != "" {
		return v, true
	}
	if x := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, app, "config.toml"), false
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".config", app, "config.toml"), false
	}
	return "", false
}

// EnvName returns the name of app's environment variable for name, such as
// IDPLUG_CONFIG for ("idplug", "CONFIG"). Characters of app other than ASCII
// letters and digits become underscores.
func EnvName(app, name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, app) + "_" + name
}
