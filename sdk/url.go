package sdk

import (
	"net/netip"
	"net/url"
	"strings"
)

// CheckURL validates the URL setting named setting: absolute, https, or http
// only for a loopback host (127.0.0.1, ::1, localhost). It returns the URL
// without a trailing slash, or a ConfigError saying what to write instead.
func CheckURL(setting, raw string) (string, *ConfigError) {
	fail := func(msg string) (string, *ConfigError) {
		return "", &ConfigError{Setting: setting, Message: msg}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fail("must be an absolute https URL such as https://idp.example.com, got " + quote(raw))
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
		return fail("http:// is accepted only for loopback hosts; use https://" + u.Host + u.Path)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fail("must not carry a query or fragment")
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// IsLoopback reports whether host names the local machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func quote(s string) string { return "\"" + s + "\"" }
