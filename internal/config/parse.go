package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
)

// The keys each table accepts, in the order they are documented.
var (
	rootKeys    = []string{"default_profile", "store", "profiles", "plugins"}
	storeKeys   = []string{"backend", "dir"}
	profileKeys = []string{"provider", "client_id", "client_secret", "scopes", "pkce", "settings", "git_hosts", "git_username"}
	pluginKeys  = []string{"wasm", "command", "sha256"}
	backends    = []string{BackendAuto, BackendKeyring, BackendFile}
)

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9-]+$`)
	sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	scopeRE  = regexp.MustCompile(`^[\x21\x23-\x5b\x5d-\x7e]+$`) // RFC 6749 §3.3 scope-token
	quotedRE = regexp.MustCompile(`"[^"]*"|'[^']*'`)
)

// hostRE matches a host as git sends it; compiled on first use, since few
// profiles have git_hosts.
var hostRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)
})

// node is one TOML key with its value.
type node struct {
	key  toml.Key
	prim toml.Primitive // lets the decoder tell us where the key is
	val  any
}

func (n node) name() string { return n.key[len(n.key)-1] }

// parser checks a decoded source against the schema, collecting errors.
// Once done it also records what the source sets, for [merge].
type parser struct {
	file string // for positions
	dir  string // relative paths are resolved against it; "" refuses them
	md   toml.MetaData
	errs Errors

	cfg        *Config   // nil after a syntax error
	defaultPos *Position // where a string default_profile is set; nil when it is not
	backendSet bool      // [store] backend is set
}

// decode parses and checks one source, leaving the checks that span sources
// to [merge].
func decode(file, dir string, data []byte) *parser {
	var root map[string]toml.Primitive
	md, err := toml.Decode(string(data), &root)
	if err != nil {
		return &parser{file: file, errs: Errors{syntaxError(file, data, err)}}
	}
	p := &parser{file: file, dir: dir, md: md}
	p.cfg = p.config(p.fields(nil, root))
	return p
}

// merge lays the decoded sources over one another, later ones winning: a
// profile or plugin replaces one of the same name, default_profile and each
// [store] key replace the earlier value when set. It then checks that
// default_profile names a profile of the result, and returns the result or
// the problems of every source, source by source and line by line. The
// result's Path is the last source's.
func merge(sources ...*parser) (*Config, error) {
	c := &Config{
		Store:    Store{Backend: BackendAuto},
		Profiles: map[string]*Profile{},
		Plugins:  map[string]*Plugin{},
	}
	var def *parser // the source whose default_profile applies
	decoded := true
	for _, p := range sources {
		if p.cfg == nil {
			decoded = false
			continue
		}
		c.Path = p.cfg.Path
		if p.defaultPos != nil {
			c.DefaultProfile, def = p.cfg.DefaultProfile, p
		}
		if p.backendSet {
			c.Store.Backend = p.cfg.Store.Backend
		}
		if p.cfg.Store.Dir != "" {
			c.Store.Dir = p.cfg.Store.Dir
		}
		maps.Copy(c.Profiles, p.cfg.Profiles)
		maps.Copy(c.Plugins, p.cfg.Plugins)
	}
	// Unless a source is not valid TOML: it might define the profile named.
	if decoded && def != nil && c.Profiles[c.DefaultProfile] == nil {
		names := slices.Sorted(maps.Keys(c.Profiles))
		fix := "define [profiles." + quoteKey(c.DefaultProfile) + "]"
		if len(names) > 0 {
			fix += " or name one of: " + strings.Join(names, ", ")
		}
		def.errs = append(def.errs, &Error{Pos: *def.defaultPos, Key: "default_profile",
			Msg: fmt.Sprintf("there is no profile %q%s; %s", c.DefaultProfile, Suggest(c.DefaultProfile, names), fix)})
	}
	var errs Errors
	for _, p := range sources {
		slices.SortStableFunc(p.errs, func(a, b *Error) int { return a.Pos.Line - b.Pos.Line })
		errs = append(errs, p.errs...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// syntaxError converts a TOML decoding error. Quoted text in messages about
// a line that mentions a secret is hidden, since it may be the secret.
func syntaxError(file string, data []byte, err error) *Error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return &Error{Pos: Position{File: file}, Msg: err.Error()}
	}
	msg := pe.Message
	lines := bytes.Split(data, []byte("\n"))
	if strings.Contains(strings.ToLower(pe.LastKey), "secret") ||
		pe.Position.Line > 0 && pe.Position.Line <= len(lines) && bytes.Contains(bytes.ToLower(lines[pe.Position.Line-1]), []byte("secret")) {
		msg = quotedRE.ReplaceAllString(msg, `"…"`)
	}
	return &Error{Pos: Position{File: file, Line: pe.Position.Line, Col: pe.Position.Col}, Msg: "invalid TOML: " + msg}
}

func (p *parser) config(root map[string]node) *Config {
	c := &Config{
		Path:     p.file,
		Store:    Store{Backend: BackendAuto},
		Profiles: map[string]*Profile{},
		Plugins:  map[string]*Plugin{},
	}
	for _, n := range sorted(root) {
		switch n.name() {
		case "default_profile":
			if v, ok := p.str(n); ok {
				c.DefaultProfile = v
				pos := p.pos(n)
				p.defaultPos = &pos
			}
		case "store":
			p.store(n, &c.Store)
		case "profiles":
			for _, pn := range sorted(p.table(n, "write [profiles.NAME] tables")) {
				c.Profiles[pn.name()] = p.profile(pn)
			}
		case "plugins":
			for _, pn := range sorted(p.table(n, "write [plugins.NAME] tables")) {
				c.Plugins[pn.name()] = p.plugin(pn)
			}
		default:
			p.unknown(n, rootKeys)
		}
	}
	return c
}

func (p *parser) store(n node, s *Store) {
	for _, f := range sorted(p.table(n, "write [store] followed by backend = \"auto\"")) {
		switch f.name() {
		case "backend":
			if v, ok := p.str(f); ok {
				if slices.Contains(backends, v) {
					s.Backend, p.backendSet = v, true
				} else {
					p.errorf(f, "must be \"auto\", \"keyring\" or \"file\", not %q%s", v, Suggest(v, backends))
				}
			}
		case "dir":
			if v, ok := p.str(f); ok && v != "" {
				s.Dir = p.path(f, v)
			}
		default:
			p.unknown(f, storeKeys)
		}
	}
}

func (p *parser) profile(n node) *Profile {
	pr := &Profile{Name: n.name(), Pos: p.pos(n)}
	if pr.Name == "" {
		p.errorf(n, "a profile needs a name: write [profiles.NAME]")
	}
	fields := p.table(n, "write ["+n.key.String()+"] followed by provider = … and client_id = … lines")
	for _, f := range sorted(fields) {
		switch f.name() {
		case "provider":
			if v, ok := p.str(f); ok {
				if nameRE.MatchString(v) {
					pr.Provider = v
				} else {
					p.errorf(f, "%q is not a provider name: use a built-in provider or a key of [plugins] (lowercase letters, digits and \"-\")", v)
				}
			}
		case "client_id":
			if v, ok := p.str(f); ok {
				if v == "" {
					p.errorf(f, "must not be empty; set the client ID registered at the identity provider")
				}
				pr.ClientID = v
			}
		case "client_secret":
			v, _ := p.str(f)
			pr.ClientSecret = Secret(v)
		case "scopes":
			pr.Scopes = p.scopes(f)
		case "pkce":
			if v, ok := f.val.(bool); ok {
				pr.NoPKCE = !v
			} else {
				p.errorf(f, "must be true or false, not %s", article(typeName(f.val)))
			}
		case "git_hosts":
			pr.GitHosts = p.gitHosts(f)
		case "git_username":
			if v, ok := p.str(f); ok {
				if v == "" || strings.ContainsAny(v, "\n\x00") {
					p.errorf(f, `must be a username git can send, such as "oauth2"`)
				}
				pr.GitUsername = v
			}
		case "settings":
			settings := p.table(f, "write ["+f.key.String()+"] followed by key = value lines")
			pr.Settings = make(map[string]Value, len(settings))
			for k, s := range settings {
				pr.Settings[k] = Value{Raw: s.val, Pos: p.pos(s)}
			}
		default:
			p.unknown(f, profileKeys)
		}
	}
	if fields == nil {
		return pr // not a table: already reported
	}
	if _, ok := fields["provider"]; !ok {
		p.missing(n, "provider", `add provider = "NAME", a built-in provider or a key of [plugins]`)
	}
	if _, ok := fields["client_id"]; !ok {
		p.missing(n, "client_id", "add client_id = \"…\", the client ID registered at the identity provider")
	}
	return pr
}

func (p *parser) scopes(n node) []string {
	scopes := p.strings(n, `["openid", "profile"]`)
	for _, s := range scopes {
		if !scopeRE.MatchString(s) {
			p.errorf(n, "%q is not a scope: scopes are not empty and have no spaces, quotes or backslashes; write each scope as its own string", s)
		}
	}
	return scopes
}

// gitHosts reads git_hosts: the hosts, each with its port when git sends
// one, that git-credential answers for, lower-cased.
func (p *parser) gitHosts(n node) []string {
	hosts := p.strings(n, `["gitlab.example.com", "git.example.com:8443"]`)
	for i, h := range hosts {
		if !hostRE().MatchString(h) {
			p.errorf(n, "%q is not a host as git sends it: write the host name, with :PORT when the URL has one, without scheme or path", h)
		}
		hosts[i] = strings.ToLower(h)
	}
	return hosts
}

// strings reads a list of strings; example shows one.
func (p *parser) strings(n node, example string) []string {
	list, ok := n.val.([]any)
	if !ok {
		p.errorf(n, `must be a list of strings, such as %s, not %s`, example, article(typeName(n.val)))
		return nil
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			p.errorf(n, `must be a list of strings, such as %s; it contains %s`, example, article(typeName(e)))
			return nil
		}
		out = append(out, s)
	}
	return out
}

func (p *parser) plugin(n node) *Plugin {
	pl := &Plugin{Name: n.name(), Pos: p.pos(n)}
	if !nameRE.MatchString(pl.Name) {
		p.errorf(n, "plugin names have only lowercase letters, digits and \"-\"; rename the table and the providers that use it")
	}
	fields := p.table(n, "write ["+n.key.String()+"] followed by wasm = \"path/to/plugin.wasm\"")
	for _, f := range sorted(fields) {
		switch f.name() {
		case "wasm", "command":
			v, ok := p.str(f)
			if ok && v == "" {
				p.errorf(f, "must not be empty; give the path of the plugin file")
			} else if ok && f.name() == "wasm" {
				pl.Wasm = p.path(f, v)
			} else if ok {
				pl.Command = p.path(f, v)
			}
		case "sha256":
			if v, ok := p.str(f); ok {
				if sha256RE.MatchString(v) {
					pl.SHA256 = v
				} else {
					p.errorf(f, "must be 64 lowercase hexadecimal digits, as printed by `sha256sum FILE`")
				}
			}
		default:
			p.unknown(f, pluginKeys)
		}
	}
	_, wasm := fields["wasm"]
	_, command := fields["command"]
	switch {
	case fields == nil: // not a table: already reported
	case wasm && command:
		p.errorf(n, "sets both wasm and command; keep exactly one")
	case !wasm && !command:
		p.errorf(n, `needs wasm = "path/to/plugin.wasm" or command = "path/to/executable"`)
	}
	return pl
}

// path resolves the path s, the value of n, against the source's directory.
// A source without a directory (built-in defaults) accepts only absolute
// paths.
func (p *parser) path(n node, s string) string {
	switch {
	case filepath.IsAbs(s):
		return s
	case p.dir == "":
		p.errorf(n, "must be an absolute path: built-in defaults have no directory to resolve %q against", s)
		return s
	}
	return filepath.Join(p.dir, s)
}

// str returns n's value if it is a string, and reports an error otherwise.
func (p *parser) str(n node) (string, bool) {
	s, ok := n.val.(string)
	if !ok {
		p.errorf(n, `must be a string in quotes, such as %s = "…", not %s`, quoteKey(n.name()), article(typeName(n.val)))
	}
	return s, ok
}

// table returns the keys of n if it is a table, and reports an error saying
// how to write one otherwise.
func (p *parser) table(n node, how string) map[string]node {
	if _, ok := n.val.(map[string]any); !ok {
		p.errorf(n, "must be a table, not %s: %s", article(typeName(n.val)), how)
		return nil
	}
	return p.children(n)
}

// children returns the keys of the table n.
func (p *parser) children(n node) map[string]node {
	var prims map[string]toml.Primitive
	p.md.PrimitiveDecode(n.prim, &prims) // cannot fail: n is a table
	return p.fields(n.key, prims)
}

func (p *parser) fields(parent toml.Key, prims map[string]toml.Primitive) map[string]node {
	nodes := make(map[string]node, len(prims))
	for k, prim := range prims {
		n := node{key: append(parent[:len(parent):len(parent)], k), prim: prim}
		p.md.PrimitiveDecode(prim, &n.val) // cannot fail: any value fits
		nodes[k] = n
	}
	return nodes
}

func (p *parser) unknown(n node, known []string) {
	if hint := Suggest(n.name(), known); hint != "" {
		p.errorf(n, "unknown key%s", hint)
	} else {
		p.errorf(n, "unknown key; the keys here are: %s", strings.Join(known, ", "))
	}
}

func (p *parser) missing(table node, key, hint string) {
	p.errs = append(p.errs, &Error{Pos: p.pos(table), Key: append(table.key[:len(table.key):len(table.key)], key).String(), Msg: "missing; " + hint})
}

func (p *parser) errorf(n node, format string, args ...any) {
	p.errs = append(p.errs, &Error{Pos: p.pos(n), Key: n.key.String(), Msg: fmt.Sprintf(format, args...)})
}

// probe fails to decode anything, which makes the decoder report the
// position of the key it was decoding: BurntSushi/toml records positions but
// only exposes them in errors.
type probe struct{}

var errProbe = errors.New("probe")

func (probe) UnmarshalTOML(any) error { return errProbe }

// pos returns where n is defined: the line of its "key =" or [table] header.
func (p *parser) pos(n node) Position {
	return Position{File: p.file, Line: p.line(n)}
}

func (p *parser) line(n node) int {
	var pe toml.ParseError
	if errors.As(p.md.PrimitiveDecode(n.prim, probe{}), &pe) && pe.Position.Line > 0 {
		return pe.Position.Line
	}
	// Tables created implicitly, by [a.b] without [a] or by dotted keys,
	// have no position of their own: use that of their first key.
	line := 0
	if _, ok := n.val.(map[string]any); ok {
		for _, c := range p.children(n) {
			if l := p.line(c); l > 0 && (line == 0 || l < line) {
				line = l
			}
		}
	}
	return line
}

// sorted returns the nodes ordered by key, for deterministic reports.
func sorted(nodes map[string]node) []node {
	out := make([]node, 0, len(nodes))
	for _, k := range slices.Sorted(maps.Keys(nodes)) {
		out = append(out, nodes[k])
	}
	return out
}

func quoteKey(k string) string { return toml.Key{k}.String() }

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case time.Time:
		return "datetime"
	case []any:
		return "array"
	case []map[string]any:
		return "array of tables"
	case map[string]any:
		return "table"
	}
	return fmt.Sprintf("%T", v)
}

func article(s string) string {
	if strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}
