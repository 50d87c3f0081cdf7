// Package google is the Google provider plugin: the device flow of a Google
// OAuth client of type "TVs and Limited Input devices", with endpoints from
// Google's OpenID Connect discovery document and identity from its ID token
// and userinfo.
//
// It registers itself with sdk.Register; programs that embed the host link
// it through package plugins, and ./cmd builds it as a WebAssembly module or
// a subprocess plugin (make plugins).
package google

import (
	"cmp"
	"encoding/json"
	"strings"

	"github.com/idplug/idplug/sdk"
)

func init() { sdk.Register(Provider{}) }

// DefaultIssuer is the issuer setting's default: Google's accounts server.
const DefaultIssuer = "https://accounts.google.com"

// AllowedScopesURL lists the scopes Google grants to the device flow.
const AllowedScopesURL = "https://developers.google.com/identity/protocols/oauth2/limited-input-device#allowedscopes"

// Provider is the Google provider.
//
// Google answers token polls with authorization_pending as HTTP 428,
// slow_down and access_denied as 403, expired_token, invalid_grant and
// unsupported_grant_type as 400, and invalid_client as 401; the host
// decides on the error member, never on the status, so those need nothing.
// Its device authorization response names the verification URI
// verification_url, which the host reads too. A refresh returns no new
// refresh token (the old one stays valid) and may omit the ID token; the
// host keeps the ones it has.
//
// Interpret adds what to fix to Google's invalid_scope and invalid_client,
// makes an error of the device-code endpoint's quota answer, which has no
// error member, renames the token poll's admin_policy_enforced and
// org_internal to access_denied, and makes a success of a revocation that
// Google refuses with invalid_token (see Interpret).
type Provider struct{}

// Describe implements sdk.Provider.
func (Provider) Describe() sdk.PluginInfo {
	return sdk.PluginInfo{
		Name:    "google",
		Version: "1.0.0",
		Summary: `Google: the device flow of a "TVs and Limited Input devices" OAuth client (client_secret required), OpenID Connect identity`,
		Settings: []sdk.SettingSpec{{
			Name: "issuer", Type: sdk.SettingURL, Default: DefaultIssuer,
			Help: "Google's issuer URL; discovery is read from <issuer>/.well-known/openid-configuration. Change it only to point tests at a stand-in server",
		}},
	}
}

// Configure implements sdk.Provider.
//
// The spec names no endpoints: Google's discovery document names the device
// authorization, token, userinfo, revocation and JWKS endpoints, on origins
// other than the issuer's (oauth2.googleapis.com, openidconnect.googleapis.com,
// www.googleapis.com), and the host fills them from it and allows their
// origins. A client of type "TVs and Limited Input devices" authenticates
// with its client_secret in the request body, which Google requires.
func (Provider) Configure(settings map[string]string, client sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	if client.ClientSecret == "" {
		return sdk.ProviderSpec{}, []sdk.ConfigError{{Message: `Google requires the client_secret of a "TVs and Limited Input devices" OAuth client: ` +
			"set the profile's client_secret to the secret shown on the client's page in the Google Cloud console (APIs & Services > Credentials)"}}
	}
	// The host checked the issuer and applies its default; without the
	// host (sdktest), no issuer means the default too.
	issuer := cmp.Or(strings.TrimSuffix(settings["issuer"], "/"), DefaultIssuer)
	return sdk.ProviderSpec{
		Issuer:       issuer,
		DiscoveryURL: issuer + "/.well-known/openid-configuration",
		AuthStyle:    sdk.AuthPost,
		// The OpenID Connect scopes: the device flow allows only them and
		// a few API scopes (AllowedScopesURL). Google has no
		// offline_access: it always issues a refresh token to a device.
		DefaultScopes: []string{"openid", "email", "profile"},
	}, nil
}

// fixes says what to do about an OAuth error Google sends under its RFC
// name, by exchange and code.
var fixes = map[sdk.Exchange]map[string]string{
	sdk.ExchangeDeviceAuthorization: {
		"invalid_scope":  "the device flow allows only openid, email, profile and the API scopes listed at " + AllowedScopesURL + "; remove the others from the profile's scopes",
		"invalid_client": clientFix,
	},
	sdk.ExchangeTokenPoll: {
		"invalid_client": clientFix,
	},
}

// clientFix says what to check when Google does not know the client, or
// knows it as another type ("Invalid client type.").
const clientFix = `the client must be an OAuth client of type "TVs and Limited Input devices" and client_secret its secret ` +
	"(Google Cloud console, APIs & Services > Credentials)"

// refusals are Google's own names for a refusal of the sign-in, which end a
// token poll as access_denied does, with what to do about them.
var refusals = map[string]string{
	// The account's Google Workspace administrator does not allow the
	// scopes for this client.
	"admin_policy_enforced": "the Google Workspace administrator of the account restricts the scopes this client asked for; ask them to trust the app (Admin console > Security > API controls)",
	// The client's project accepts only accounts of its Google Cloud
	// organization (user type Internal).
	"org_internal": "the client's project accepts only accounts of its Google Cloud organization; sign in with such an account, or make the app's user type External (Google Auth Platform > Audience)",
}

// Interpret implements sdk.Interpreter. Google's own description is kept
// and what to do is added.
//
//   - Device authorization: invalid_scope (a scope the device flow does not
//     allow) and invalid_client (an unknown client, or one of another type)
//     get what to fix; the quota answer, HTTP 403 {"error_code":
//     "rate_limit_exceeded"}, becomes temporarily_unavailable.
//   - Token poll: invalid_client gets what to fix; admin_policy_enforced
//     and org_internal become access_denied.
//   - Revocation: Google refuses a token it no longer knows with HTTP 400
//     invalid_token, where RFC 7009 §2.2 answers 200. Revoking the refresh
//     token revokes the whole grant, so the host's revocation of the access
//     token that follows meets that answer: it becomes a 200.
//
// Other answers, among them RFC 8628's errors, which Google sends under
// their RFC names, pass unchanged.
func (Provider) Interpret(ex sdk.Exchange, resp sdk.HTTPResponse) (sdk.HTTPResponse, error) {
	code, desc := resp.OAuthError()
	switch {
	case fixes[ex][code] != "":
		return withFix(resp, code, desc, code, fixes[ex][code]), nil
	case ex == sdk.ExchangeTokenPoll && refusals[code] != "":
		return withFix(resp, code, desc, "access_denied", refusals[code]), nil
	case ex == sdk.ExchangeDeviceAuthorization && code == "" && quotaExceeded(resp):
		return resp.WithOAuthError("temporarily_unavailable",
			"Google answered rate_limit_exceeded: the client's quota of device-code requests is used up; wait a while, then run login again"), nil
	case ex == sdk.ExchangeRevocation && code == "invalid_token":
		return sdk.HTTPResponse{Status: 200, Headers: resp.Headers}, nil
	}
	return resp, nil
}

// withFix returns resp with the OAuth error to, described by Google's
// description desc of its error code, naming code when to differs, and
// then by fix.
func withFix(resp sdk.HTTPResponse, code, desc, to, fix string) sdk.HTTPResponse {
	switch {
	case desc == "":
		desc = "Google answered " + code
	case to != code:
		desc = strings.TrimSuffix(desc, ".") + " (Google: " + code + ")"
	default:
		desc = strings.TrimSuffix(desc, ".")
	}
	return resp.WithOAuthError(to, desc+"; "+fix)
}

// quotaExceeded reports whether resp is the device-code endpoint's answer
// to a client over its quota, which names the error error_code.
func quotaExceeded(resp sdk.HTTPResponse) bool {
	var body struct {
		Code any `json:"error_code"`
	}
	return json.Unmarshal([]byte(resp.Body), &body) == nil && body.Code == "rate_limit_exceeded"
}

// Identity implements sdk.Identifier with Google's claims: the subject is
// sub, the username the e-mail address (a Google account has no username),
// and there are no groups. A Google Workspace account's hosted domain, the
// hd claim, goes to Extra as {"hd": "example.com"}.
func (Provider) Identity(idTokenClaims, userinfo sdk.Claims) (sdk.Identity, error) {
	id := sdk.StandardIdentity(idTokenClaims, userinfo)
	id.Username = id.Email
	id.Groups = []string{}
	if hd := sdk.Merge(idTokenClaims, userinfo).String("hd"); hd != "" {
		id.Extra, _ = json.Marshal(map[string]string{"hd": hd}) // a map of strings
	}
	return id, nil
}
