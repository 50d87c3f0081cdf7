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

// DomainURL validates the domain setting named setting of a provider that
// serves at the root of a domain, such as an Auth0 tenant or an Okta org,
// and returns its base URL without a trailing slash. A bare host name, with
// an optional port (example.okta.com, login.example.com:8443), means https;
// a full URL is checked by CheckURL, so http:// is accepted only for a
// loopback host (http://127.0.0.1:8080, in tests). A trailing slash is
// dropped; any other path is refused, and the ConfigError names the value
// to write instead.
func DomainURL(setting, raw string) (string, *ConfigError) {
	fail := func(msg string) (string, *ConfigError) {
		return "", &ConfigError{Setting: setting, Message: msg}
	}
	if strings.Contains(raw, "://") {
		base, cerr := CheckURL(setting, raw)
		if cerr != nil {
			return "", cerr
		}
		if u, _ := url.Parse(base); u.Path != "" {
			return fail("must not have a path; write " + setting + " = " + quote(u.Scheme+"://"+u.Host))
		}
		return base, nil
	}
	host := strings.TrimSuffix(raw, "/")
	u, err := url.Parse("https://" + host)
	switch {
	case err == nil && u.Host == host && u.Hostname() != "":
		return "https://" + host, nil
	case err == nil && u.Hostname() != "" && strings.HasPrefix(host, u.Host+"/"):
		return fail("must not have a path; write " + setting + " = " + quote(u.Host))
	}
	return fail("must be a domain such as login.example.com, or a URL such as https://login.example.com; got " + quote(raw))
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
