package wire

// The contract's documents, read and written without reflection. A Go
// WebAssembly plugin spends most of a hook call in encoding/json, whose
// reflection and byte-at-a-time scanner run many times slower under a
// WebAssembly runtime than natively; these functions do the same work for
// the few document types of the contract. They read JSON into the values
// encoding/json reads (a test compares them over fuzzed input; member names
// match exactly, where encoding/json also takes other cases of a name) and
// write exactly the bytes json.Marshal writes (a test compares those too).

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/idplug/idplug/sdk"
)

// maxDepth bounds the nesting of a document, as encoding/json does.
const maxDepth = 10000

// parser reads one JSON document into the values encoding/json gives an
// interface{}: map[string]any, []any, string, float64, bool and nil.
type parser struct {
	data  []byte
	i     int
	depth int
}

// parseJSON reads data, one JSON value and nothing else but white space.
func parseJSON(data []byte) (any, error) {
	p := parser{data: data}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.data) {
		return nil, p.fail("after the top-level value")
	}
	return v, nil
}

func (p *parser) fail(what string) error {
	if p.i >= len(p.data) {
		return errors.New("unexpected end of JSON input")
	}
	return fmt.Errorf("invalid character %q %s at offset %d", p.data[p.i], what, p.i)
}

func (p *parser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value() (any, error) {
	p.space()
	if p.i >= len(p.data) {
		return nil, p.fail("")
	}
	switch c := p.data[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case p.literal("true"):
		return true, nil
	case p.literal("false"):
		return false, nil
	case p.literal("null"):
		return nil, nil
	}
	return nil, p.fail("looking for beginning of value")
}

func (p *parser) literal(word string) bool {
	if len(p.data)-p.i >= len(word) && string(p.data[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

func (p *parser) nest() error {
	if p.depth++; p.depth > maxDepth {
		return errors.New("exceeded max depth")
	}
	return nil
}

func (p *parser) object() (any, error) {
	if err := p.nest(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.i++ // {
	m := map[string]any{}
	p.space()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return m, nil
	}
	for {
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return nil, p.fail("looking for beginning of object key string")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return nil, p.fail("after object key")
		}
		p.i++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		m[k] = v
		p.space()
		if p.i < len(p.data) {
			switch p.data[p.i] {
			case ',':
				p.i++
				continue
			case '}':
				p.i++
				return m, nil
			}
		}
		return nil, p.fail("after object key:value pair")
	}
}

func (p *parser) array() (any, error) {
	if err := p.nest(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.i++ // [
	a := []any{}
	p.space()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return a, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		p.space()
		if p.i < len(p.data) {
			switch p.data[p.i] {
			case ',':
				p.i++
				continue
			case ']':
				p.i++
				return a, nil
			}
		}
		return nil, p.fail("after array element")
	}
}

// number reads a number of JSON's grammar as a float64.
func (p *parser) number() (any, error) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.data) && '0' <= p.data[p.i] && p.data[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.data[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.data) && p.data[p.i] == '0':
		p.i++
	case digits() == 0:
		return nil, p.fail("in numeric literal")
	}
	if p.i < len(p.data) && p.data[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.fail("after decimal point in numeric literal")
		}
	}
	if p.i < len(p.data) && (p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		p.i++
		if p.i < len(p.data) && (p.data[p.i] == '+' || p.data[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.fail("in exponent of numeric literal")
		}
	}
	f, err := strconv.ParseFloat(string(p.data[start:p.i]), 64)
	if err != nil {
		return nil, fmt.Errorf("number %s does not fit a float64", p.data[start:p.i])
	}
	return f, nil
}

// str reads a string, unescaping it as encoding/json does: a lone or
// mismatched UTF-16 surrogate and each byte of invalid UTF-8 become U+FFFD.
func (p *parser) str() (string, error) {
	p.i++ // "
	start := p.i
	// The common case: no escapes, valid UTF-8.
	for p.i < len(p.data) {
		c := p.data[p.i]
		if c == '"' {
			s := string(p.data[start:p.i])
			p.i++
			return s, nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		p.i++
	}
	b := append([]byte(nil), p.data[start:p.i]...)
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), nil
		case c < 0x20:
			return "", p.fail("in string literal")
		case c == '\\':
			p.i++
			if p.i >= len(p.data) {
				return "", p.fail("")
			}
			switch e := p.data[p.i]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := p.hex4(p.i + 1)
				if !ok {
					return "", p.fail("in \\u hexadecimal character escape")
				}
				p.i += 4 // at the escape's last digit
				if utf16.IsSurrogate(r) {
					// A second escape completes a pair, or is read on its own.
					next := rune(-1)
					if p.i+2 < len(p.data) && p.data[p.i+1] == '\\' && p.data[p.i+2] == 'u' {
						if v, ok := p.hex4(p.i + 3); ok {
							next = v
						}
					}
					if r = utf16.DecodeRune(r, next); r != utf8.RuneError {
						p.i += 6
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				return "", p.fail("in string escape code")
			}
			p.i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.data[p.i:])
			b = utf8.AppendRune(b, r) // U+FFFD for a byte of invalid UTF-8
			p.i += size
		}
	}
	return "", p.fail("")
}

// hex4 reads the four hexadecimal digits at data[i:].
func (p *parser) hex4(i int) (rune, bool) {
	if i+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range p.data[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// The readers of the contract's input documents from parsed values. A
// member of the wrong type is an error, as for encoding/json; a member that
// is absent or null leaves the zero value; other members are ignored.

// object is a parsed JSON object.
type object = map[string]any

// fields reads members of parsed objects; its first error sticks, and
// later reads return zero values.
type fields struct{ err error }

func (f *fields) fail(format string, args ...any) {
	if f.err == nil {
		f.err = fmt.Errorf(format, args...)
	}
}

// object returns v, the member what, as an object; nil for null.
func (f *fields) object(v any, what string) object {
	o, ok := v.(map[string]any)
	if !ok && v != nil {
		f.fail("%s is not an object", what)
	}
	return o
}

func (f *fields) str(o object, key string) string {
	s, ok := o[key].(string)
	if !ok && o[key] != nil {
		f.fail("%s is not a string", key)
	}
	return s
}

func (f *fields) strings(o object, key string) []string {
	a, ok := o[key].([]any)
	if !ok {
		if o[key] != nil {
			f.fail("%s is not an array", key)
		}
		return nil
	}
	out := make([]string, len(a))
	for i, v := range a {
		s, ok := v.(string)
		if !ok && v != nil {
			f.fail("%s[%d] is not a string", key, i)
		}
		out[i] = s
	}
	return out
}

func (f *fields) stringMap(o object, key string) map[string]string {
	m := f.object(o[key], key)
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok && v != nil {
			f.fail("%s.%s is not a string", key, k)
		}
		out[k] = s
	}
	return out
}

func (f *fields) claims(o object, key string) sdk.Claims {
	if m := f.object(o[key], key); m != nil {
		return sdk.Claims(m)
	}
	return nil
}

func (f *fields) headers(o object, key string) []sdk.Header {
	a, ok := o[key].([]any)
	if !ok {
		if o[key] != nil {
			f.fail("%s is not an array", key)
		}
		return nil
	}
	out := make([]sdk.Header, len(a))
	for i, v := range a {
		h := f.object(v, key)
		out[i] = sdk.Header{Name: f.str(h, "name"), Value: f.str(h, "value")}
	}
	return out
}

// status reads an HTTP status, a u16.
func (f *fields) status(o object, key string) uint16 {
	switch s := o[key].(type) {
	case float64:
		if s != float64(uint16(s)) {
			f.fail("%s %v is not a u16", key, s)
		}
		return uint16(s)
	case nil:
	default:
		f.fail("%s is not a number", key)
	}
	return 0
}

// readInput reads fn's input document into its Go value.
func readInput(fn Function, data []byte) (any, error) {
	v, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	var f fields
	doc := f.object(v, "the document")
	var in any
	switch fn {
	case FuncConfigure:
		settings := f.stringMap(doc, "settings")
		c := f.object(doc["client"], "client")
		in = ConfigureInput{Settings: settings, Client: sdk.Client{
			ClientID: f.str(c, "client_id"), ClientSecret: f.str(c, "client_secret"), Scopes: f.strings(c, "scopes"),
		}}
	case FuncPrepare:
		ex := f.str(doc, "exchange")
		r := f.object(doc["request"], "request")
		in = PrepareInput{Exchange: sdk.Exchange(ex), Request: sdk.HTTPRequest{
			Method: f.str(r, "method"), URL: f.str(r, "url"), Headers: f.headers(r, "headers"), Body: f.str(r, "body"),
		}}
	case FuncInterpret:
		ex := f.str(doc, "exchange")
		r := f.object(doc["response"], "response")
		in = InterpretInput{Exchange: sdk.Exchange(ex), Response: sdk.HTTPResponse{
			Status: f.status(r, "status"), Headers: f.headers(r, "headers"), Body: f.str(r, "body"),
		}}
	case FuncIdentity:
		in = IdentityInput{
			IDTokenClaims: f.claims(doc, "id_token_claims"), Userinfo: f.claims(doc, "userinfo"), Settings: f.stringMap(doc, "settings"),
		}
	default:
		return nil, fmt.Errorf("no input document for %q", fn)
	}
	if f.err != nil {
		return nil, f.err
	}
	return in, nil
}

// writer appends JSON to b exactly as json.Marshal writes it.
type writer struct{ b []byte }

func (w *writer) raw(s string) { w.b = append(w.b, s...) }

// str writes s quoted, escaping as encoding/json does (HTML characters and
// U+2028/U+2029 included, invalid UTF-8 as U+FFFD).
func (w *writer) str(s string) {
	const hexDigits = "0123456789abcdef"
	w.b = append(w.b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			w.b = append(w.b, s[start:i]...)
			switch c {
			case '"', '\\':
				w.b = append(w.b, '\\', c)
			case '\b':
				w.b = append(w.b, '\\', 'b')
			case '\f':
				w.b = append(w.b, '\\', 'f')
			case '\n':
				w.b = append(w.b, '\\', 'n')
			case '\r':
				w.b = append(w.b, '\\', 'r')
			case '\t':
				w.b = append(w.b, '\\', 't')
			default:
				w.b = append(w.b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			w.b = append(w.b, s[start:i]...)
			w.b = append(w.b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			w.b = append(w.b, s[start:i]...)
			w.b = append(w.b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	w.b = append(w.b, s[start:]...)
	w.b = append(w.b, '"')
}

// key writes a member's name and colon, after a comma unless first.
func (w *writer) key(name string, first bool) {
	if !first {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, name...)
	w.b = append(w.b, '"', ':')
}

func (w *writer) bool(v bool) {
	if v {
		w.raw("true")
	} else {
		w.raw("false")
	}
}

// list writes items with each, as json.Marshal writes a slice: null when
// nil, else an array.
func list[T any](w *writer, items []T, each func(T)) {
	if items == nil {
		w.raw("null")
		return
	}
	w.b = append(w.b, '[')
	for i, item := range items {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		each(item)
	}
	w.b = append(w.b, ']')
}

func (w *writer) strings(a []string) { list(w, a, w.str) }

func (w *writer) headers(hs []sdk.Header) {
	list(w, hs, func(h sdk.Header) {
		w.b = append(w.b, '{')
		w.key("name", true)
		w.str(h.Name)
		w.key("value", false)
		w.str(h.Value)
		w.b = append(w.b, '}')
	})
}

func (w *writer) info(info sdk.PluginInfo) {
	w.key("name", true)
	w.str(info.Name)
	w.key("version", false)
	w.str(info.Version)
	w.key("contract_version", false)
	w.b = strconv.AppendUint(w.b, uint64(info.ContractVersion), 10)
	w.key("summary", false)
	w.str(info.Summary)
	w.key("settings", false)
	list(w, info.Settings, func(s sdk.SettingSpec) {
		w.b = append(w.b, '{')
		w.key("name", true)
		w.str(s.Name)
		w.key("type", false)
		w.str(string(s.Type))
		w.key("required", false)
		w.bool(s.Required)
		w.key("secret", false)
		w.bool(s.Secret)
		if s.Default != "" {
			w.key("default", false)
			w.str(s.Default)
		}
		w.key("help", false)
		w.str(s.Help)
		w.b = append(w.b, '}')
	})
	w.key("hooks", false)
	list(w, info.Hooks, func(h sdk.Hook) { w.str(string(h)) })
	w.b = append(w.b, '}')
}

func (w *writer) spec(s *sdk.ProviderSpec) {
	first := true
	member := func(name string) { w.key(name, first); first = false }
	if s.Issuer != "" {
		member("issuer")
		w.str(s.Issuer)
	}
	if s.DiscoveryURL != "" {
		member("discovery_url")
		w.str(s.DiscoveryURL)
	}
	member("endpoints")
	efirst := true
	for _, e := range []struct{ name, url string }{
		{"device_authorization", s.Endpoints.DeviceAuthorization}, {"token", s.Endpoints.Token},
		{"refresh", s.Endpoints.Refresh}, {"userinfo", s.Endpoints.Userinfo}, {"revocation", s.Endpoints.Revocation},
		{"jwks", s.Endpoints.JWKS}, {"end_session", s.Endpoints.EndSession},
	} {
		if e.url != "" {
			if efirst {
				w.b = append(w.b, '{')
			}
			w.key(e.name, efirst)
			efirst = false
			w.str(e.url)
		}
	}
	if efirst {
		w.b = append(w.b, '{')
	}
	w.b = append(w.b, '}')
	member("auth_style")
	w.str(string(s.AuthStyle))
	member("default_scopes")
	w.strings(s.DefaultScopes)
	member("extra_params")
	list(w, s.ExtraParams, func(p sdk.Param) {
		w.b = append(w.b, '{')
		w.key("exchange", true)
		w.str(string(p.Exchange))
		w.key("name", false)
		w.str(p.Name)
		w.key("value", false)
		w.str(p.Value)
		w.b = append(w.b, '}')
	})
	if s.LogoutHint != "" {
		member("logout_hint")
		w.str(s.LogoutHint)
	}
	w.b = append(w.b, '}')
}

// value writes v, one of the results call returns, as json.Marshal does.
func (w *writer) value(v any) error {
	w.b = append(w.b, '{')
	switch v := v.(type) {
	case sdk.PluginInfo:
		w.info(v)
	case ConfigureOutput:
		switch {
		case v.OK != nil:
			w.key("ok", true)
			w.b = append(w.b, '{')
			w.spec(v.OK)
		case len(v.Err) > 0:
			w.key("err", true)
			list(w, v.Err, func(e sdk.ConfigError) {
				w.b = append(w.b, '{')
				w.key("setting", true)
				w.str(e.Setting)
				w.key("message", false)
				w.str(e.Message)
				w.b = append(w.b, '}')
			})
		}
		w.b = append(w.b, '}')
	case sdk.HTTPRequest:
		w.key("method", true)
		w.str(v.Method)
		w.key("url", false)
		w.str(v.URL)
		w.key("headers", false)
		w.headers(v.Headers)
		w.key("body", false)
		w.str(v.Body)
		w.b = append(w.b, '}')
	case sdk.HTTPResponse:
		w.key("status", true)
		w.b = strconv.AppendUint(w.b, uint64(v.Status), 10)
		w.key("headers", false)
		w.headers(v.Headers)
		w.key("body", false)
		w.str(v.Body)
		w.b = append(w.b, '}')
	case sdk.Identity:
		w.key("subject", true)
		w.str(v.Subject)
		w.key("username", false)
		w.str(v.Username)
		w.key("name", false)
		w.str(v.Name)
		w.key("email", false)
		w.str(v.Email)
		w.key("groups", false)
		w.strings(v.Groups)
		if len(v.Extra) > 0 {
			// json.Marshal checks and compacts a RawMessage; so does this.
			extra, err := json.Marshal(v.Extra)
			if err != nil {
				return err
			}
			w.key("extra", false)
			w.b = append(w.b, extra...)
		}
		w.b = append(w.b, '}')
	default:
		return fmt.Errorf("no JSON writer for %T", v)
	}
	return nil
}
