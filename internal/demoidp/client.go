package demoidp

import (
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// ClientID is the only registered client: a public client (no secret,
// token_endpoint_auth_method "none") allowed the device_code and
// refresh_token grants.
const ClientID = "idplug-demo"

// supportedScopes are the scopes the client may be granted; others are
// silently dropped from device authorization requests.
var supportedScopes = []string{
	oidc.ScopeOpenID,
	oidc.ScopeProfile,
	oidc.ScopeEmail,
	oidc.ScopeOfflineAccess,
}

// client implements op.Client for ClientID.
type client struct {
	idTokenLifetime time.Duration
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                       { return ClientID }
func (c *client) RedirectURIs() []string              { return nil }
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeNative }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodNone }
func (c *client) ResponseTypes() []oidc.ResponseType  { return nil }
func (c *client) LoginURL(string) string              { return "" }
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return c.idTokenLifetime }
func (c *client) DevMode() bool                       { return false }
func (c *client) ClockSkew() time.Duration            { return 0 }
func (c *client) IsScopeAllowed(s string) bool        { return slices.Contains(supportedScopes, s) }

func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeDeviceCode, oidc.GrantTypeRefreshToken}
}

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IDTokenUserinfoClaimsAssertion makes op put the profile and email claims
// into the ID token even though an access token is issued alongside it.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
