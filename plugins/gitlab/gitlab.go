// Package gitlab is the GitLab provider plugin: GitLab.com or a
// self-managed instance, with the device authorization grant (GitLab 17.1
// and later) at {url}/oauth/authorize_device, tokens at {url}/oauth/token,
// and identity from GitLab's OpenID Connect claims.
//
// It registers itself with sdk.Register; programs that embed the host link
// it through package plugins, and ./cmd builds it as a WebAssembly module or
// a subprocess plugin (make plugins).
package gitlab

import (
	"cmp"
	"slices"
	"strings"

	"github.com/idplug/idplug/sdk"
)

func init() { sdk.Register(Provider{}) }

// DefaultURL is the url setting's default: GitLab.com.
const DefaultURL = "https://gitlab.com"

// Provider is the GitLab provider. GitLab's OAuth server (the doorkeeper
// gem and its device authorization grant extension) answers token polls
// with HTTP 400 and the RFC 8628 error names, so it needs no wire hooks.
type Provider struct{}

// Describe implements sdk.Provider.
func (Provider) Describe() sdk.PluginInfo {
	return sdk.PluginInfo{
		Name:    "gitlab",
		Version: "1.0.0",
		Summary: "GitLab.com or a self-managed GitLab: the device grant at /oauth/authorize_device, OpenID Connect identity and groups",
		Settings: []sdk.SettingSpec{{
			Name: "url", Type: sdk.SettingURL, Default: DefaultURL,
			Help: "the GitLab instance's base URL, such as https://gitlab.example.com or https://example.com/gitlab (a relative URL root); GitLab.com by default",
		}},
	}
}

// Configure implements sdk.Provider.
//
// The issuer is the instance's base URL without a trailing slash, which is
// what GitLab puts in its discovery document and ID tokens. Discovery is
// read from {url}/.well-known/openid-configuration, but every endpoint
// idplug uses is also named here: GitLab's discovery document has no
// device_authorization_endpoint, and what the plugin names wins over
// discovery, so the endpoints are right even where the document lacks them.
func (Provider) Configure(settings map[string]string, client sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	base := strings.TrimSuffix(settings["url"], "/") // the host checked the url and applied its default
	return sdk.ProviderSpec{
		Issuer:       base,
		DiscoveryURL: base + "/.well-known/openid-configuration",
		Endpoints: sdk.Endpoints{
			DeviceAuthorization: base + "/oauth/authorize_device",
			Token:               base + "/oauth/token",
			Userinfo:            base + "/oauth/userinfo",
			Revocation:          base + "/oauth/revoke",
			JWKS:                base + "/oauth/discovery/keys",
		},
		// GitLab refuses a device authorization request for a scope its
		// application was not registered with (invalid_scope), so the
		// defaults are the fewest that give an identity: openid for the ID
		// token, profile for name and username, email for the address.
		// read_user, api and the like grant REST API access, which a profile
		// asks for through its scopes. GitLab has no offline_access: it
		// always issues a refresh token.
		DefaultScopes: []string{"openid", "profile", "email"},
	}, nil
}

// Identity implements sdk.Identifier: the standard claims, with the GitLab
// username from nickname (preferred_username, where GitLab also sends it,
// otherwise), and as groups the groups claim: the full paths of every group
// the user belongs to, directly or through an ancestor, such as
// "gitlab-org/security". GitLab sends groups in userinfo only; the ID token
// carries groups_direct, the direct memberships, which is not used.
func (Provider) Identity(idTokenClaims, userinfo sdk.Claims) (sdk.Identity, error) {
	id := sdk.StandardIdentity(idTokenClaims, userinfo)
	c := sdk.Merge(idTokenClaims, userinfo)
	if u := cmp.Or(c.String("nickname"), c.String("preferred_username")); u != "" {
		id.Username = u
	}
	id.Groups = []string{}
	for _, g := range c.Strings("groups") {
		if !slices.Contains(id.Groups, g) {
			id.Groups = append(id.Groups, g)
		}
	}
	return id, nil
}
