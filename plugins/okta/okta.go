// Package okta is the Okta provider plugin: an org's custom authorization
// server ("default" or one of its own) or its org authorization server,
// with the device authorization grant at {issuer}/v1/device/authorize, and
// identity from the standard OpenID Connect claims and a groups claim.
//
// It registers itself with sdk.Register; programs that embed the host link
// it through package plugins, and ./cmd builds it as a WebAssembly module or
// a subprocess plugin (make plugins).
package okta

import (
	"strings"

	"github.com/idplug/idplug/sdk"
)

func init() { sdk.Register(Provider{}) }

// DefaultAuthorizationServer is the authorization_server setting's default:
// the custom authorization server Okta creates in every org with API Access
// Management and in every developer org.
const DefaultAuthorizationServer = "default"

// Provider is the Okta provider. Okta answers device-flow polls with the
// RFC 8628 error names and HTTP 400 (authorization_pending, slow_down,
// expired_token; its error catalogue gives access_denied as 403), and the
// host decides on the error member, never on the status, so it needs no
// wire hooks. A device code Okta does not know, or no longer knows, comes
// back as invalid_grant, which the host reports as it is.
//
// Groups come from the groups claim, which Okta sends only when an admin
// asks for it: on a custom authorization server, a claim named groups added
// on the server's Claims tab (Security > API; value type Groups, included
// in the ID token); on the org authorization server, the app's Groups claim
// filter (the app's Sign On tab), without which org-server ID tokens carry
// no groups, and which fills the claim when the profile's scopes include
// groups.
type Provider struct{}

// Describe implements sdk.Provider.
func (Provider) Describe() sdk.PluginInfo {
	return sdk.PluginInfo{
		Name:    "okta",
		Version: "1.0.0",
		Summary: "Okta: the device flow of an org's custom or org authorization server, OpenID Connect identity and groups",
		Settings: []sdk.SettingSpec{
			{
				Name: "domain", Type: sdk.SettingString, Required: true,
				Help: "the org's Okta domain, such as example.okta.com, or its custom domain; a full URL such as https://login.example.com is accepted too (http:// only for loopback hosts). " +
					"With a custom domain, the authorization server's Issuer (Security > API) must be the custom URL or Dynamic",
			},
			{
				Name: "authorization_server", Type: sdk.SettingString, Default: DefaultAuthorizationServer,
				Help: `the ID of the custom authorization server, such as default or aus9o8wzkhckw9TLa0h7z (Security > API); "" for the org authorization server, whose groups claim needs groups in the profile's scopes`,
			},
		},
	}
}

// Configure implements sdk.Provider.
//
// A custom authorization server's issuer is {domain}/oauth2/{id}, and its
// endpoints are under {issuer}/v1/. The org authorization server's issuer
// is the domain itself, and its endpoints are under {domain}/oauth2/v1/.
// Every endpoint is named here; the discovery document is read too, which
// checks the issuer and that the authorization server exists. A client with
// a client_secret authenticates with HTTP Basic, client_secret_basic, the
// method Okta gives a client unless told otherwise.
func (Provider) Configure(settings map[string]string, client sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	domain := strings.TrimSpace(settings["domain"])
	as, ok := settings["authorization_server"]
	if !ok {
		as = DefaultAuthorizationServer // an explicit "" is the org authorization server
	}
	as = strings.TrimSpace(as)
	if fix, ok := issuerFix(domain); ok {
		return sdk.ProviderSpec{}, []sdk.ConfigError{{Setting: "domain", Message: "must be the org's domain alone, not an issuer or endpoint URL; write " + fix}}
	}
	var errs []sdk.ConfigError
	base, cerr := sdk.DomainURL("domain", domain)
	if cerr != nil {
		errs = append(errs, *cerr)
	}
	if strings.ContainsFunc(as, notIDChar) {
		errs = append(errs, sdk.ConfigError{Setting: "authorization_server", Message: `must be the ID of a custom authorization server, letters and digits such as default or aus9o8wzkhckw9TLa0h7z (Security > API), or "" for the org authorization server; got "` + as + `"`})
	}
	if len(errs) > 0 {
		return sdk.ProviderSpec{}, errs
	}
	issuer, v1 := base+"/oauth2/"+as, base+"/oauth2/"+as+"/v1"
	if as == "" {
		issuer, v1 = base, base+"/oauth2/v1"
	}
	var style sdk.AuthStyle // none for a public client
	if client.ClientSecret != "" {
		style = sdk.AuthBasic
	}
	return sdk.ProviderSpec{
		Issuer:       issuer,
		DiscoveryURL: issuer + "/.well-known/openid-configuration",
		Endpoints: sdk.Endpoints{
			DeviceAuthorization: v1 + "/device/authorize",
			Token:               v1 + "/token",
			Userinfo:            v1 + "/userinfo",
			Revocation:          v1 + "/revoke",
			JWKS:                v1 + "/keys",
			EndSession:          v1 + "/logout",
		},
		AuthStyle: style,
		// Okta issues a refresh token only for offline_access, and only when
		// the app allows the Refresh Token grant.
		DefaultScopes: []string{"openid", "profile", "email", "offline_access"},
	}, nil
}

// issuerFix recognises an issuer or endpoint URL written as the domain,
// such as https://example.okta.com/oauth2/default or
// example.okta.com/oauth2/v1/token, and returns the settings to write.
func issuerFix(domain string) (string, bool) {
	base, rest, ok := strings.Cut(domain, "/oauth2/")
	if !ok || base == "" {
		return "", false
	}
	as, _, _ := strings.Cut(rest, "/")
	if as == "v1" {
		as = "" // the org authorization server's endpoints
	}
	return `domain = "` + base + `" and authorization_server = "` + as + `"`, true
}

// notIDChar reports whether r cannot be part of an authorization server's
// ID, which is ASCII letters and digits, such as default or
// aus9o8wzkhckw9TLa0h7z.
func notIDChar(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
}

// Identity implements sdk.Identifier: the standard claims (sub;
// preferred_username, which is the Okta login; name; email), and as groups
// the groups claim, an empty list without it.
func (Provider) Identity(idTokenClaims, userinfo sdk.Claims) (sdk.Identity, error) {
	id := sdk.StandardIdentity(idTokenClaims, userinfo)
	if id.Groups == nil {
		id.Groups = []string{}
	}
	return id, nil
}
