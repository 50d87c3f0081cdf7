// Package auth0 is the Auth0 provider plugin: a tenant's endpoints from its
// domain, the API audience on the device-code request, groups from a
// namespaced custom claim, and Auth0's device-flow wire quirks.
//
// It registers itself with sdk.Register; programs that embed the host link
// it through package plugins, and ./cmd builds it as a WebAssembly module or
// a subprocess plugin (make plugins).
package auth0

import (
	"strings"

	"github.com/idplug/idplug/sdk"
)

func init() { sdk.Register(Provider{}) }

// Provider is the Auth0 provider.
//
// Auth0 answers device-flow polls with authorization_pending as HTTP 403,
// slow_down as 429, and access_denied and expired_token as 403; the host
// decides on the error member, never on the status, so those need nothing.
// expired_token comes only once, then invalid_grant: Interpret maps that
// to expired_token.
type Provider struct{}

// Describe implements sdk.Provider.
func (Provider) Describe() sdk.PluginInfo {
	return sdk.PluginInfo{
		Name:    "auth0",
		Version: "1.0.0",
		Summary: "Auth0: a tenant's device flow, API audience, namespaced groups claim",
		Settings: []sdk.SettingSpec{
			{
				Name: "domain", Type: sdk.SettingString, Required: true,
				Help: "the tenant's domain, such as example.us.auth0.com or a custom domain; a full URL such as https://login.example.com is accepted too (http:// only for loopback hosts)",
			},
			{
				Name: "audience", Type: sdk.SettingString,
				Help: "the identifier of the API to get an access token for, such as https://api.example.com; sent as audience on the device-code request",
			},
			{
				Name: "groups_claim", Type: sdk.SettingString,
				Help: "the claim holding the user's groups, such as https://example.com/groups (Auth0 puts custom claims under a namespaced key); default groups",
			},
		},
	}
}

// Configure implements sdk.Provider.
func (Provider) Configure(settings map[string]string, client sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	base, cerr := sdk.DomainURL("domain", strings.TrimSpace(settings["domain"]))
	if cerr != nil {
		return sdk.ProviderSpec{}, []sdk.ConfigError{*cerr}
	}
	spec := sdk.ProviderSpec{
		Issuer: base + "/", // Auth0's issuer ends with a slash
		Endpoints: sdk.Endpoints{
			DeviceAuthorization: base + "/oauth/device/code",
			Token:               base + "/oauth/token",
			Userinfo:            base + "/userinfo",
			Revocation:          base + "/oauth/revoke",
			JWKS:                base + "/.well-known/jwks.json",
			EndSession:          base + "/oidc/logout",
		},
		// offline_access gets a refresh token when the API allows offline
		// access.
		DefaultScopes: []string{"openid", "profile", "email", "offline_access"},
	}
	if aud := strings.TrimSpace(settings["audience"]); aud != "" {
		spec.ExtraParams = []sdk.Param{{Exchange: sdk.ExchangeDeviceAuthorization, Name: "audience", Value: aud}}
	}
	return spec, nil
}

// Interpret implements sdk.Interpreter. On the device-code request, an
// audience Auth0 does not know comes back as access_denied ("Service not
// found"), which is a configuration problem, not a refusal: it becomes
// invalid_request naming the setting. While polling, Auth0 sends
// expired_token once and invalid_grant after, for a device code that is
// expired, used up or unknown: in each case the login must start again, so
// invalid_grant becomes expired_token.
func (Provider) Interpret(ex sdk.Exchange, resp sdk.HTTPResponse) (sdk.HTTPResponse, error) {
	code, desc := resp.OAuthError()
	switch {
	case ex == sdk.ExchangeDeviceAuthorization && code == "access_denied" && strings.HasPrefix(desc, "Service not found"):
		return resp.WithOAuthError("invalid_request", desc+
			"; set the profile's audience setting to the identifier of an API of this tenant (Applications > APIs), or remove it"), nil
	case ex == sdk.ExchangeTokenPoll && code == "invalid_grant":
		if desc == "" {
			desc = "the device code is no longer valid"
		}
		return resp.WithOAuthError("expired_token", desc), nil
	}
	return resp, nil
}

// IdentityWithSettings implements sdk.SettingsIdentifier. Auth0's ID token
// has no preferred_username: the username is its nickname (the database
// username, or the e-mail's local part), else the e-mail. Groups come from
// the claim groups_claim names, "groups" by default.
func (Provider) IdentityWithSettings(settings map[string]string, idTokenClaims, userinfo sdk.Claims) (sdk.Identity, error) {
	id := sdk.StandardIdentity(idTokenClaims, userinfo)
	c := sdk.Merge(idTokenClaims, userinfo)
	if u := c.String("preferred_username"); u != "" {
		id.Username = u
	} else if n := c.String("nickname"); n != "" {
		id.Username = n
	}
	claim := strings.TrimSpace(settings["groups_claim"])
	if claim == "" {
		claim = "groups"
	}
	id.Groups = c.Strings(claim)
	if id.Groups == nil {
		id.Groups = []string{}
	}
	return id, nil
}
