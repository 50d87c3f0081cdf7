package sdk_test

import (
	"strings"
	"testing"

	"github.com/idplug/idplug/sdk"
)

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		raw, want, wantErr string
	}{
		{raw: "https://idp.example.com/", want: "https://idp.example.com"},
		{raw: "https://example.com/gitlab", want: "https://example.com/gitlab"},
		{raw: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{raw: "http://[::1]:8080/", want: "http://[::1]:8080"},
		{raw: "http://localhost/idp", want: "http://localhost/idp"},
		{raw: "http://idp.example.com/x", wantErr: "url: http:// is accepted only for loopback hosts; use https://idp.example.com/x"},
		{raw: "idp.example.com", wantErr: `url: must be an absolute https URL such as https://idp.example.com, got "idp.example.com"`},
		{raw: "ftp://idp.example.com", wantErr: "url: must be an absolute https URL"},
		{raw: "https://idp.example.com/?a=b", wantErr: "url: must not carry a query or fragment"},
	} {
		got, cerr := sdk.CheckURL("url", tc.raw)
		if msg := errText(cerr); got != tc.want || !hasPrefix(msg, tc.wantErr) {
			t.Errorf("CheckURL(%q) = %q, %q; want %q, %q", tc.raw, got, msg, tc.want, tc.wantErr)
		}
	}
}

func TestDomainURL(t *testing.T) {
	for _, tc := range []struct {
		name, raw, want, wantErr string
	}{
		{name: "bare domain means https", raw: "example.okta.com", want: "https://example.okta.com"},
		{name: "bare domain with a port", raw: "login.example.com:8443", want: "https://login.example.com:8443"},
		{name: "bare domain, trailing slash", raw: "example.us.auth0.com/", want: "https://example.us.auth0.com"},
		{name: "full URL, trailing slash", raw: "https://login.example.com/", want: "https://login.example.com"},
		{name: "loopback http", raw: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{name: "loopback http, IPv6", raw: "http://[::1]:8080/", want: "http://[::1]:8080"},
		{name: "remote http", raw: "http://example.okta.com",
			wantErr: "domain: http:// is accepted only for loopback hosts; use https://example.okta.com"},
		{name: "URL with a path", raw: "https://example.okta.com/oauth2/default",
			wantErr: `domain: must not have a path; write domain = "https://example.okta.com"`},
		{name: "bare domain with a path", raw: "example.us.auth0.com/authorize",
			wantErr: `domain: must not have a path; write domain = "example.us.auth0.com"`},
		{name: "URL with a query", raw: "https://example.okta.com?x=1", wantErr: "domain: must not carry a query or fragment"},
		{name: "user info", raw: "admin@example.okta.com",
			wantErr: `domain: must be a domain such as login.example.com, or a URL such as https://login.example.com; got "admin@example.okta.com"`},
		{name: "bad port", raw: "example.okta.com:https", wantErr: "domain: must be a domain such as login.example.com"},
		{name: "spaces", raw: "example okta com", wantErr: "domain: must be a domain such as login.example.com"},
		{name: "empty", raw: "", wantErr: `domain: must be a domain such as login.example.com, or a URL such as https://login.example.com; got ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, cerr := sdk.DomainURL("domain", tc.raw)
			if msg := errText(cerr); got != tc.want || !hasPrefix(msg, tc.wantErr) {
				t.Errorf("DomainURL(%q) = %q, %q; want %q, %q", tc.raw, got, msg, tc.want, tc.wantErr)
			}
		})
	}
}

// errText is the text of a *ConfigError, "" for none.
func errText(cerr *sdk.ConfigError) string {
	if cerr == nil {
		return ""
	}
	return cerr.Error()
}

// hasPrefix reports whether msg starts with want, and is empty when want is.
func hasPrefix(msg, want string) bool {
	if want == "" {
		return msg == ""
	}
	return strings.HasPrefix(msg, want)
}
