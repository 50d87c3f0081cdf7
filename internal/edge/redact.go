package edge

import (
	"net/url"
	"regexp"
	"sync"
)

// redacted replaces a secret in debug logs.
const redacted = "[redacted]"

// secretKeys are the form, query and JSON keys whose values are secrets:
// client credentials, codes and tokens.
const secretKeys = `client_secret|code|device_code|refresh_token|access_token|id_token|token|password`

// secretPatterns are compiled on first use: most runs (a cached token)
// never redact anything, and should not pay for them at start-up.
var secretPatterns = sync.OnceValue(func() (p struct{ form, json, jwt *regexp.Regexp }) {
	// A form or query pair: key=value up to the next &.
	p.form = regexp.MustCompile(`(^|[&?])(` + secretKeys + `)=[^&]*`)
	// A JSON member with a string value, also when cut off by truncation.
	p.json = regexp.MustCompile(`("(?:` + secretKeys + `)"\s*:\s*)"(?:[^"\\]|\\.)*"?`)
	// A JWT (an ID token, or an access or refresh token of many providers)
	// wherever it is, also under a key that is not in secretKeys: a
	// base64url JOSE header, which starts with "eyJ" ('{"'), and at least
	// one more dot-separated part.
	p.jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)*`)
	return p
})

// Redact returns s with the secrets a log or an error must not show
// replaced by "[redacted]": the values of the form, query and JSON keys of
// tokens, codes and client secrets, whether s is form-encoded, JSON or the
// truncated head of either, and any JWT. Other text is kept as it is.
func Redact(s string) string {
	p := secretPatterns()
	s = p.form.ReplaceAllString(s, "${1}${2}="+redacted)
	s = p.json.ReplaceAllString(s, `${1}"`+redacted+`"`)
	return p.jwt.ReplaceAllString(s, redacted)
}

// redactURL returns u for a log: query secrets and any password removed.
func redactURL(u *url.URL) string {
	c := *u
	c.RawQuery = Redact(c.RawQuery)
	return c.Redacted()
}

// RedactURL returns the URL raw fit for an error or a log: its query
// secrets and any password removed. Text that does not parse as a URL is
// passed through Redact.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return Redact(raw)
	}
	return redactURL(u)
}
