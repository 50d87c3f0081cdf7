package edge

import (
	"net/url"
	"regexp"
)

// redacted replaces a secret in debug logs.
const redacted = "[redacted]"

// secretKeys are the form, query and JSON keys whose values are secrets:
// client credentials, codes and tokens.
const secretKeys = `client_secret|code|device_code|refresh_token|access_token|id_token|token|password`

var (
	// A form or query pair: key=value up to the next &.
	formSecret = regexp.MustCompile(`(^|[&?])(` + secretKeys + `)=[^&]*`)
	// A JSON member with a string value, also when cut off by truncation.
	jsonSecret = regexp.MustCompile(`("(?:` + secretKeys + `)"\s*:\s*)"(?:[^"\\]|\\.)*"?`)
)

// redact replaces the values of secretKeys in s, whether s is form-encoded,
// JSON or the truncated head of either; other text is kept as it is.
func redact(s string) string {
	s = formSecret.ReplaceAllString(s, "${1}${2}="+redacted)
	return jsonSecret.ReplaceAllString(s, `${1}"`+redacted+`"`)
}

// redactURL returns u for a log: query secrets and any password removed.
func redactURL(u *url.URL) string {
	c := *u
	c.RawQuery = redact(c.RawQuery)
	return c.Redacted()
}
