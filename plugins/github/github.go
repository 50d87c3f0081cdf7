// Package github is the GitHub provider plugin: the OAuth device flow of
// GitHub.com, GitHub Enterprise Cloud with data residency (*.ghe.com) and
// GitHub Enterprise Server, for OAuth Apps and GitHub Apps. GitHub is not
// OpenID: there is no issuer, ID token or discovery, and the user's
// identity comes from the REST API's /user.
//
// It registers itself with sdk.Register; programs that embed the host link
// it through package plugins, and ./cmd builds it as a WebAssembly module or
// a subprocess plugin (make plugins).
package github

import (
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/idplug/idplug/sdk"
)

func init() { sdk.Register(Provider{}) }

// Provider is the GitHub provider.
//
// GitHub answers every token request with HTTP 200, an error in the body;
// the host decides on the error member, and adopts the longer interval a
// slow_down carries. Without "Accept: application/json" GitHub answers
// form-encoded, so Prepare asks for JSON. Tokens of OAuth Apps do not
// expire and come without a refresh token; user tokens of GitHub Apps with
// expiring tokens carry expires_in and refresh_token, and the host
// refreshes them at the token endpoint.
//
// GitHub has no RFC 7009 revocation endpoint (revoking needs the app's
// secret and the REST API), so the spec names none: logout deletes the
// tokens locally, and a user revokes the app's access in GitHub's settings,
// Settings > Applications > Authorized OAuth Apps or Authorized GitHub Apps
// (https://github.com/settings/applications).
type Provider struct{}

// DefaultURL is GitHub.com, the default of the url setting.
const DefaultURL = "https://github.com"

// APIVersion is the GitHub REST API version the userinfo request asks for.
const APIVersion = "2022-11-28"

// Describe implements sdk.Provider.
func (Provider) Describe() sdk.PluginInfo {
	return sdk.PluginInfo{
		Name:    "github",
		Version: "1.0.0",
		Summary: "GitHub and GitHub Enterprise: the device flow of an OAuth App or GitHub App, identity from the REST API; " +
			"no token revocation: revoke an app's access at Settings > Applications (https://github.com/settings/applications)",
		Settings: []sdk.SettingSpec{
			{
				Name: "url", Type: sdk.SettingURL, Default: DefaultURL,
				Help: "GitHub's base URL: https://github.com, a GitHub Enterprise Cloud data-residency URL such as https://example.ghe.com, or a GitHub Enterprise Server's base URL such as https://github.example.com",
			},
			{
				Name: "api_url", Type: sdk.SettingURL,
				Help: "the REST API's base URL; default https://api.github.com for github.com, https://api.<name>.ghe.com for <name>.ghe.com, else <url>/api/v3 (GitHub Enterprise Server)",
			},
		},
	}
}

// Configure implements sdk.Provider. The host has checked both url
// settings; Configure only derives the endpoints.
func (Provider) Configure(settings map[string]string, client sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	base := strings.TrimSuffix(strings.TrimSpace(settings["url"]), "/")
	if base == "" {
		base = DefaultURL
	}
	api := strings.TrimSuffix(strings.TrimSpace(settings["api_url"]), "/")
	if api == "" {
		api = apiURL(base)
	}
	return sdk.ProviderSpec{
		Endpoints: sdk.Endpoints{
			DeviceAuthorization: base + "/login/device/code",
			Token:               base + "/login/oauth/access_token",
			Userinfo:            api + "/user",
		},
		// An OAuth App's token carries the scopes asked for: read:user and
		// user:email let /user show the profile and the primary e-mail.
		// GitHub Apps ignore scopes; their permissions are the app's.
		DefaultScopes: []string{"read:user", "user:email"},
		LogoutHint: "GitHub cannot revoke a token for a device; the token stays valid until it expires, or for good: " +
			"revoke the app's access at " + base + "/settings/applications (Authorized OAuth Apps or Authorized GitHub Apps)",
	}, nil
}

// apiURL derives the REST API's base URL from GitHub's base URL base:
// api.github.com for github.com, api.<name>.ghe.com for GitHub Enterprise
// Cloud with data residency, <base>/api/v3 for GitHub Enterprise Server.
func apiURL(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base + "/api/v3"
	}
	host := strings.ToLower(u.Host)
	switch {
	case u.Path == "" && (host == "github.com" || host == "www.github.com"):
		return "https://api.github.com"
	case u.Path == "" && strings.HasSuffix(host, ".ghe.com") && !strings.HasPrefix(host, "api."):
		return u.Scheme + "://api." + u.Host
	}
	return base + "/api/v3"
}

// Prepare implements sdk.Preparer. The device-code, poll and refresh
// requests ask for JSON, which GitHub sends only when asked; the /user
// request asks for the REST API's media type and version. The host adds
// the Authorization: Bearer header itself.
func (Provider) Prepare(ex sdk.Exchange, req sdk.HTTPRequest) (sdk.HTTPRequest, error) {
	switch ex {
	case sdk.ExchangeDeviceAuthorization, sdk.ExchangeTokenPoll, sdk.ExchangeRefresh:
		req.Headers = setHeader(req.Headers, "Accept", "application/json")
	case sdk.ExchangeUserinfo:
		req.Headers = setHeader(req.Headers, "Accept", "application/vnd.github+json")
		req.Headers = setHeader(req.Headers, "X-GitHub-Api-Version", APIVersion)
	}
	return req, nil
}

// setHeader returns headers with every field named name (in any case)
// replaced by one with value.
func setHeader(headers []sdk.Header, name, value string) []sdk.Header {
	out := make([]sdk.Header, 0, len(headers)+1)
	for _, h := range headers {
		if !strings.EqualFold(h.Name, name) {
			out = append(out, h)
		}
	}
	return append(out, sdk.Header{Name: name, Value: value})
}

// errorNames maps GitHub's own error names to RFC 6749 §5.2 ones, with what
// to do about them. authorization_pending, slow_down, expired_token,
// access_denied and unsupported_grant_type are RFC 8628's and RFC 6749's
// names and pass unchanged.
var errorNames = map[string]struct{ code, hint string }{
	// The client_id (or, for a refresh, the client_secret) is unknown.
	"incorrect_client_credentials": {"invalid_client", "check the profile's client_id (and client_secret) against the app's settings on GitHub"},
	// The device code is unknown: the login must start again.
	"incorrect_device_code": {"invalid_grant", "run login again"},
	// The app has not enabled the device flow.
	"device_flow_disabled": {"unauthorized_client", "enable Device Flow in the app's settings on GitHub (Settings > Developer settings > the app > Enable Device Flow)"},
	// A refresh token that is unknown, expired or used.
	"bad_refresh_token": {"invalid_grant", "run login again"},
}

// Interpret implements sdk.Interpreter. It renames GitHub's own error names
// (incorrect_client_credentials, incorrect_device_code,
// device_flow_disabled, bad_refresh_token) to the RFC names the host acts
// on, keeping GitHub's description and adding what to do. Other answers,
// among them RFC 8628's errors, which GitHub sends under their RFC names,
// pass unchanged.
func (Provider) Interpret(ex sdk.Exchange, resp sdk.HTTPResponse) (sdk.HTTPResponse, error) {
	if ex == sdk.ExchangeUserinfo {
		return resp, nil
	}
	code, desc := resp.OAuthError()
	m, ok := errorNames[code]
	if !ok {
		return resp, nil
	}
	if desc == "" {
		desc = "GitHub answered " + code
	} else {
		desc = strings.TrimSuffix(desc, ".") + " (GitHub: " + code + ")"
	}
	return resp.WithOAuthError(m.code, desc+"; "+m.hint), nil
}

// Identity implements sdk.Identifier over the answer of the REST API's
// /user: the subject is the user's numeric id (stable, unlike the login,
// which a user may rename), the username the login. GitHub has no groups
// for a user; e-mail and name are empty when the user keeps them private.
func (Provider) Identity(idTokenClaims, userinfo sdk.Claims) (sdk.Identity, error) {
	sub, err := subject(userinfo["id"])
	if err != nil {
		return sdk.Identity{}, err
	}
	return sdk.Identity{
		Subject:  sub,
		Username: userinfo.String("login"),
		Name:     userinfo.String("name"),
		Email:    userinfo.String("email"),
		Groups:   []string{},
	}, nil
}

// subject formats GitHub's numeric user id, decoded from JSON as a float64,
// as a decimal integer without an exponent.
func subject(v any) (string, error) {
	switch id := v.(type) {
	case float64:
		if id == float64(int64(id)) && id > 0 {
			return strconv.FormatInt(int64(id), 10), nil
		}
		return strconv.FormatFloat(id, 'f', -1, 64), nil
	case json.Number:
		return id.String(), nil
	case string:
		if id != "" {
			return id, nil
		}
	}
	return "", errors.New("GitHub's /user answer has no numeric id; check the api_url setting")
}
