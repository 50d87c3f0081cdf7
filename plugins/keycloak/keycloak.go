// Package keycloak is the Keycloak provider plugin: a realm's endpoints under
// {url}/realms/{realm}/protocol/openid-connect/, offline refresh tokens, and
// groups from the groups claim and the realm roles.
//
// It registers itself with sdk.Register; programs that embed the host link
// it through package plugins, and ./cmd builds it as a WebAssembly module or
// a subprocess plugin (make plugins).
package keycloak

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/idplug/idplug/sdk"
)

func init() { sdk.Register(Provider{}) }

// Provider is the Keycloak provider. Keycloak answers every OAuth error with
// HTTP 400 and the RFC 8628 error names, so it needs no wire hooks.
type Provider struct{}

// Describe implements sdk.Provider.
func (Provider) Describe() sdk.PluginInfo {
	return sdk.PluginInfo{
		Name:    "keycloak",
		Version: "1.0.0",
		Summary: "Keycloak: a realm's OpenID Connect endpoints, offline refresh tokens, groups and realm roles",
		Settings: []sdk.SettingSpec{
			{
				Name: "url", Type: sdk.SettingURL, Required: true,
				Help: "the Keycloak server's base URL, such as https://keycloak.example.com (with /auth for Keycloak 16 and older)",
			},
			{
				Name: "realm", Type: sdk.SettingString, Required: true,
				Help: "the realm the client belongs to",
			},
		},
	}
}

// realmsPath finds a URL that already names a realm; compiled on first
// use, as the provider is linked into every idplug process.
var realmsPath = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`/realms/([^/]+)`) })

// Configure implements sdk.Provider.
func (Provider) Configure(settings map[string]string, client sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	var errs []sdk.ConfigError
	base := strings.TrimSuffix(settings["url"], "/") // the host checked the url, a required url setting
	if m := realmsPath().FindStringSubmatch(base); m != nil {
		errs = append(errs, sdk.ConfigError{Setting: "url", Message: "must be the server's base URL, without /realms/…; write " +
			`url = "` + base[:strings.Index(base, m[0])] + `" and realm = "` + m[1] + `"`})
	}
	realm := strings.TrimSpace(settings["realm"])
	if strings.Contains(realm, "/") {
		errs = append(errs, sdk.ConfigError{Setting: "realm", Message: "must be a realm name, not a path: drop the /"})
	}
	if len(errs) > 0 {
		return sdk.ProviderSpec{}, errs
	}
	issuer := base + "/realms/" + url.PathEscape(realm)
	oidc := issuer + "/protocol/openid-connect"
	var style sdk.AuthStyle // none for a public client
	if client.ClientSecret != "" {
		style = sdk.AuthBasic
	}
	return sdk.ProviderSpec{
		Issuer: issuer,
		Endpoints: sdk.Endpoints{
			DeviceAuthorization: oidc + "/auth/device",
			Token:               oidc + "/token",
			Userinfo:            oidc + "/userinfo",
			Revocation:          oidc + "/revoke",
			JWKS:                oidc + "/certs",
			EndSession:          oidc + "/logout",
		},
		AuthStyle: style,
		// offline_access makes the refresh token an offline token, which
		// outlives the SSO session: what a command-line tool needs.
		DefaultScopes: []string{"openid", "profile", "email", "offline_access"},
	}, nil
}

// Identity implements sdk.Identifier: the standard claims, and as groups
// the groups claim (the Group Membership mapper: group paths such as
// "/admins") followed by the realm roles of realm_access.roles (the realm
// roles mapper; add it to the ID token or userinfo to see them).
func (Provider) Identity(idTokenClaims, userinfo sdk.Claims) (sdk.Identity, error) {
	id := sdk.StandardIdentity(idTokenClaims, userinfo)
	c := sdk.Merge(idTokenClaims, userinfo)
	groups := slices.Concat(c.Strings("groups"), c.Object("realm_access").Strings("roles"))
	id.Groups = []string{}
	for _, g := range groups {
		if !slices.Contains(id.Groups, g) {
			id.Groups = append(id.Groups, g)
		}
	}
	return id, nil
}
