// Package entra is the Microsoft Entra ID provider plugin (formerly Azure
// Active Directory): the device authorization grant of the Microsoft
// identity platform's v2.0 endpoints under {authority}/{tenant}, on the
// global cloud or a national one, for one tenant or for many
// (organizations, common, consumers), with identity from the ID token.
//
// It registers itself with sdk.Register; programs that embed the host link
// it through package plugins, and ./cmd builds it as a WebAssembly module or
// a subprocess plugin (make plugins).
package entra

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/idplug/idplug/sdk"
)

func init() { sdk.Register(Provider{}) }

// DefaultAuthority is the authority setting's default: the sign-in host of
// Microsoft Entra ID's global cloud.
const DefaultAuthority = "https://login.microsoftonline.com"

// Provider is the Microsoft Entra ID provider.
//
// Entra answers token errors with HTTP 400 (401 for invalid_client) and,
// besides error and error_description, error_codes, timestamp, trace_id,
// correlation_id and error_uri; the description is an AADSTS message
// followed by lines with the trace ID, correlation ID and timestamp. Two device-flow errors carry
// Entra's own names, authorization_declined and bad_verification_code,
// which Interpret renames; authorization_pending, slow_down and
// expired_token are RFC 8628's. The device authorization response adds a
// message for the user and has no verification_uri_complete; the host
// needs neither.
//
// Entra has no revocation endpoint: logout deletes the tokens locally and
// says where to end the Microsoft session (the spec's LogoutHint). Its
// userinfo endpoint is Microsoft Graph's, at another origin, which answers
// only access tokens issued for Graph, not those of a profile whose scopes
// name another API: the identity comes from the ID token alone, and
// Interpret drops the discovery document's userinfo_endpoint so that the
// host does not fill it in.
type Provider struct{}

// logoutHint is what logout shows after deleting the tokens, once the host
// has said that the provider has no revocation endpoint.
const logoutHint = "your Microsoft sign-in and the refresh token stay valid at Microsoft; " +
	"to end them, sign out everywhere at https://myaccount.microsoft.com, or ask an administrator to revoke your sessions"

// Describe implements sdk.Provider.
func (Provider) Describe() sdk.PluginInfo {
	return sdk.PluginInfo{
		Name:    "entra",
		Version: "1.0.0",
		Summary: "Microsoft Entra ID (Azure AD): the device code flow of one tenant or many, on the global or a national cloud, identity and groups from the ID token; " +
			"no token revocation: sign out everywhere at https://myaccount.microsoft.com",
		Settings: []sdk.SettingSpec{
			{
				Name: "tenant", Type: sdk.SettingString, Required: true,
				Help: "who may sign in: one tenant, by its tenant ID (a GUID) or one of its domains such as contoso.onmicrosoft.com; " +
					"or organizations (any work or school account), common (work, school or personal Microsoft accounts) or consumers (personal Microsoft accounts only)",
			},
			{
				Name: "authority", Type: sdk.SettingURL, Default: DefaultAuthority,
				Help: "the sign-in host of the tenant's cloud, without the tenant: https://login.microsoftonline.com (global), " +
					"https://login.microsoftonline.us (Azure Government) or https://login.partner.microsoftonline.cn (operated by 21Vianet)",
			},
		},
	}
}

// Configure implements sdk.Provider. Every endpoint is under
// {authority}/{tenant}, and discovery is read from
// {authority}/{tenant}/v2.0/.well-known/openid-configuration to check the
// issuer; what the plugin names wins over the document.
//
// The issuer is the template {authority}/{tid}/v2.0, filled from each ID
// token's tid claim: a v2.0 token's iss names the tenant the user signed in
// to. For organizations and common, the discovery document's issuer is
// itself a template, {authority}/{tenantid}/v2.0, and each token must carry
// the issuer of its own tenant; for a tenant named by ID or domain, and for
// consumers (the personal accounts' tenant), the document names one issuer,
// which then replaces the template.
//
// The client authentication style is left to the host: none for a public
// client (an app registration with "Allow public client flows"), post with
// a client_secret.
func (Provider) Configure(settings map[string]string, client sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	var errs []sdk.ConfigError
	authority, cerr := authorityURL(settings["authority"])
	if cerr != nil {
		errs = append(errs, *cerr)
	}
	tenant, cerr := tenantName(settings["tenant"])
	if cerr != nil {
		errs = append(errs, *cerr)
	}
	if len(errs) > 0 {
		return sdk.ProviderSpec{}, errs
	}
	base := authority + "/" + tenant
	return sdk.ProviderSpec{
		Issuer:       authority + "/{tid}/v2.0",
		DiscoveryURL: base + "/v2.0/.well-known/openid-configuration",
		Endpoints: sdk.Endpoints{
			DeviceAuthorization: base + "/oauth2/v2.0/devicecode",
			Token:               base + "/oauth2/v2.0/token",
			JWKS:                base + "/discovery/v2.0/keys",
			EndSession:          base + "/oauth2/v2.0/logout",
		},
		// openid for the ID token, profile for oid, name and
		// preferred_username, email for the email claim, offline_access
		// for a refresh token.
		DefaultScopes: []string{"openid", "profile", "email", "offline_access"},
		LogoutHint:    logoutHint,
	}, nil
}

// authorityURL checks the authority setting and returns it without a
// trailing slash; empty means DefaultAuthority. Entra serves every tenant
// at the root of its sign-in host, so a path, such as the tenant of an
// MSAL-style authority https://login.microsoftonline.com/contoso.com, is
// refused, saying what to write instead.
func authorityURL(raw string) (string, *sdk.ConfigError) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return DefaultAuthority, nil
	}
	base, cerr := sdk.CheckURL("authority", raw)
	if cerr != nil {
		return "", cerr
	}
	if u, _ := url.Parse(base); u.Path != "" { // CheckURL parsed it
		return "", &sdk.ConfigError{Setting: "authority", Message: "must be the sign-in host alone, without a path; write " +
			`authority = "` + u.Scheme + "://" + u.Host + `", and the tenant in the tenant setting`}
	}
	return base, nil
}

// tenantName checks the tenant setting: one path segment naming a tenant
// by ID or domain, or organizations, common or consumers. Slashes around
// it, as in Microsoft's /common, are dropped.
func tenantName(raw string) (string, *sdk.ConfigError) {
	fail := func(msg string) (string, *sdk.ConfigError) {
		return "", &sdk.ConfigError{Setting: "tenant", Message: msg}
	}
	tenant := strings.Trim(strings.TrimSpace(raw), "/")
	user, domain, isUser := strings.Cut(tenant, "@")
	switch {
	case tenant == "":
		return fail(`must say who may sign in: a tenant ID or domain such as "contoso.onmicrosoft.com", or "organizations", "common" or "consumers"`)
	case strings.Contains(tenant, "://"):
		return fail("must be the tenant alone, not a URL; " + splitURL(tenant))
	case strings.Contains(tenant, "/"):
		return fail(`must be the tenant alone, without "/"; put the sign-in host in authority, and only the tenant ID or domain in tenant`)
	case isUser && user != "" && domain != "" && !strings.ContainsFunc(domain, notTenantRune):
		return fail(`must be a tenant, not a user; write the domain: tenant = "` + domain + `"`)
	case strings.ContainsFunc(tenant, notTenantRune):
		return fail(`must be a tenant ID (a GUID), a domain such as contoso.onmicrosoft.com, or organizations, common or consumers: ` +
			`letters, digits, "." and "-" only; got "` + tenant + `"`)
	}
	return tenant, nil
}

// splitURL says which settings to write for a tenant setting that is a
// URL, such as https://login.microsoftonline.com/contoso.com/v2.0.
func splitURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "put the sign-in host in authority, and only the tenant ID or domain in tenant"
	}
	msg := `write authority = "` + u.Scheme + "://" + u.Host + `"`
	if seg, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/"); seg != "" && !strings.ContainsFunc(seg, notTenantRune) {
		return msg + ` and tenant = "` + seg + `"`
	}
	return msg + ", and only the tenant ID or domain in tenant"
}

// notTenantRune reports whether r cannot be part of a tenant ID or domain.
func notTenantRune(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '-')
}

// errorNames maps Entra's own device-flow error names to RFC 8628's, with
// what to do about them; for access_denied the host says it.
var errorNames = map[string]struct{ code, hint string }{
	// The user declined the sign-in or the consent.
	"authorization_declined": {"access_denied", ""},
	// The device code is unknown or used up: the login must start again.
	"bad_verification_code": {"invalid_grant", "run login again"},
}

// Interpret implements sdk.Interpreter. On token polls and refreshes it
// renames Entra's authorization_declined to access_denied and
// bad_verification_code to invalid_grant, keeping Entra's description and
// adding what to do; other answers, RFC 8628's errors among them, pass
// unchanged. From the discovery document it drops userinfo_endpoint (see
// Provider).
func (Provider) Interpret(ex sdk.Exchange, resp sdk.HTTPResponse) (sdk.HTTPResponse, error) {
	switch ex {
	case sdk.ExchangeDiscovery:
		return withoutUserinfo(resp), nil
	case sdk.ExchangeTokenPoll, sdk.ExchangeRefresh:
		code, desc := resp.OAuthError()
		if m, ok := errorNames[code]; ok {
			return resp.WithOAuthError(m.code, description(desc, code, m.hint)), nil
		}
	}
	return resp, nil
}

// description rewrites the error_description desc of an error Entra named
// code, on one line: Entra's message, its name for the error, hint, then
// the trace ID, correlation ID and timestamp lines Entra appends. The hint
// comes before those, as the host quotes only the first 300 bytes of a
// description.
func description(desc, code, hint string) string {
	msg, diagnostics, _ := strings.Cut(desc, "\n")
	if msg = strings.TrimSuffix(strings.TrimSpace(msg), "."); msg == "" {
		msg = "Microsoft Entra answered " + code
	} else {
		msg += " (Microsoft Entra: " + code + ")"
	}
	if hint != "" {
		msg += "; " + hint
	}
	var lines []string
	for _, l := range strings.Split(diagnostics, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > 0 {
		msg += "; " + strings.Join(lines, ", ")
	}
	return msg
}

// withoutUserinfo returns the discovery response resp without the
// userinfo_endpoint member of its JSON object; any other answer unchanged.
func withoutUserinfo(resp sdk.HTTPResponse) sdk.HTTPResponse {
	var doc map[string]json.RawMessage
	if json.Unmarshal([]byte(resp.Body), &doc) != nil {
		return resp
	}
	if _, ok := doc["userinfo_endpoint"]; !ok {
		return resp
	}
	delete(doc, "userinfo_endpoint")
	b, _ := json.Marshal(doc) // values decoded from JSON
	resp.Body = string(b)
	return resp
}

// Identity implements sdk.Identifier over the claims of the v2.0 ID token
// alone (Entra's userinfo is not used, see Provider).
//
// The subject is oid, the user's object ID in the tenant, the same for
// every app, where sub is pairwise, different for each app; sub when oid
// is absent (oid needs the profile scope). The username is
// preferred_username, the sign-in name such as alice@contoso.com, else the
// e-mail. The e-mail is the email claim alone, present only when the user
// has an address and the email scope asks for it. The groups are the
// groups claim, which the app registration adds (groupMembershipClaims):
// the object IDs of the user's groups, or their names where the optional
// claim asks for them. A user in more groups than a token holds (200) gets
// a groups overage instead, a _claim_names entry for groups pointing at
// Microsoft Graph, which idplug does not follow: the groups are then empty.
func (Provider) Identity(idTokenClaims, _ sdk.Claims) (sdk.Identity, error) {
	id := sdk.StandardIdentity(idTokenClaims, nil)
	if oid := idTokenClaims.String("oid"); oid != "" {
		id.Subject = oid
	}
	id.Groups = []string{}
	if idTokenClaims.Object("_claim_names")["groups"] == nil {
		id.Groups = append(id.Groups, idTokenClaims.Strings("groups")...)
	}
	return id, nil
}
