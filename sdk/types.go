package sdk

import "encoding/json"

// ContractVersion is the version of the plugin contract (wit/idplug.wit) this SDK
// speaks. A host refuses a plugin whose contract version it does not speak.
const ContractVersion = 1

// Exchange names one of the HTTP exchanges the host performs with a provider.
type Exchange string

// The exchanges of the contract, in the order a login meets them.
const (
	ExchangeDiscovery           Exchange = "discovery"
	ExchangeDeviceAuthorization Exchange = "device_authorization"
	ExchangeTokenPoll           Exchange = "token_poll"
	ExchangeRefresh             Exchange = "refresh"
	ExchangeRevocation          Exchange = "revocation"
	ExchangeUserinfo            Exchange = "userinfo"
)

// Exchanges lists every exchange of the contract.
var Exchanges = []Exchange{
	ExchangeDiscovery, ExchangeDeviceAuthorization, ExchangeTokenPoll,
	ExchangeRefresh, ExchangeRevocation, ExchangeUserinfo,
}

// Hook names an optional function a plugin may implement.
type Hook string

// The optional hooks. The host calls a hook only when the plugin declares it.
const (
	HookPrepare   Hook = "prepare"
	HookInterpret Hook = "interpret"
)

// SettingType is the type of a provider setting's value in the TOML file.
type SettingType string

// The setting types. The host checks the TOML value against the type and hands
// the plugin its text form ("true", "42", "https://…").
const (
	SettingString SettingType = "string"
	SettingBool   SettingType = "bool"
	SettingInt    SettingType = "int"
	SettingURL    SettingType = "url"
)

// AuthStyle is how the client authenticates at the token endpoint.
type AuthStyle string

// The client authentication styles (RFC 6749 §2.3.1).
const (
	AuthNone  AuthStyle = "none"  // public client: client_id in the body, no secret
	AuthBasic AuthStyle = "basic" // HTTP Basic with client_id and client_secret
	AuthPost  AuthStyle = "post"  // client_id and client_secret in the body
)

// PluginInfo is what describe returns: who the plugin is and what it accepts.
type PluginInfo struct {
	Name            string        `json:"name"`
	Version         string        `json:"version"`
	ContractVersion uint32        `json:"contract_version"`
	Summary         string        `json:"summary"`
	Settings        []SettingSpec `json:"settings"`
	Hooks           []Hook        `json:"hooks"`
}

// SettingSpec declares one setting of a profile's [settings] table.
type SettingSpec struct {
	Name     string      `json:"name"`
	Type     SettingType `json:"type"`
	Required bool        `json:"required"`
	Secret   bool        `json:"secret"`
	Default  string      `json:"default,omitempty"`
	Help     string      `json:"help"`
}

// Client is the OAuth client of a profile, as configured.
type Client struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret,omitempty"`
	Scopes       []string `json:"scopes"`
}

// Endpoints are a provider's URLs. Empty means absent; when the spec names a
// discovery URL the host fills missing endpoints from the discovery document.
type Endpoints struct {
	DeviceAuthorization string `json:"device_authorization,omitempty"`
	Token               string `json:"token,omitempty"`
	Refresh             string `json:"refresh,omitempty"` // only when it differs from Token
	Userinfo            string `json:"userinfo,omitempty"`
	Revocation          string `json:"revocation,omitempty"`
	JWKS                string `json:"jwks,omitempty"`
	EndSession          string `json:"end_session,omitempty"`
}

// Param is an extra form parameter the host adds to one exchange's request,
// such as Auth0's audience on device authorization.
type Param struct {
	Exchange Exchange `json:"exchange"`
	Name     string   `json:"name"`
	Value    string   `json:"value"`
}

// ProviderSpec is what configure returns: everything the host's engine needs to
// talk to the provider.
type ProviderSpec struct {
	// Issuer is the issuer ID tokens must carry, or a template whose
	// {name} placeholders stand for the token's own string claims (see
	// wit/idplug.wit).
	Issuer        string    `json:"issuer,omitempty"`
	DiscoveryURL  string    `json:"discovery_url,omitempty"`
	Endpoints     Endpoints `json:"endpoints"`
	AuthStyle     AuthStyle `json:"auth_style"`
	DefaultScopes []string  `json:"default_scopes"`
	ExtraParams   []Param   `json:"extra_params"`
	// LogoutHint is, for a provider without a revocation endpoint, what
	// logout tells the user after deleting the tokens: how to revoke the
	// grant by hand. One line.
	LogoutHint string `json:"logout_hint,omitempty"`
}

// ConfigError reports a problem with one setting; Setting is empty for a
// problem with the profile as a whole.
type ConfigError struct {
	Setting string `json:"setting"`
	Message string `json:"message"`
}

// Error implements error.
func (e ConfigError) Error() string {
	if e.Setting == "" {
		return e.Message
	}
	return e.Setting + ": " + e.Message
}

// Header is one HTTP header field. A name may repeat.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// HTTPRequest is an outgoing request as the host is about to send it. Body is
// text: OAuth requests are form-encoded or empty.
type HTTPRequest struct {
	Method  string   `json:"method"`
	URL     string   `json:"url"`
	Headers []Header `json:"headers"`
	Body    string   `json:"body"`
}

// HTTPResponse is a response as the host received it. Body is text: OAuth
// responses are JSON.
type HTTPResponse struct {
	Status  uint16   `json:"status"`
	Headers []Header `json:"headers"`
	Body    string   `json:"body"`
}

// Identity is who the user is, mapped by the plugin from the ID token's claims
// and the userinfo response.
type Identity struct {
	Subject  string          `json:"subject"`
	Username string          `json:"username"`
	Name     string          `json:"name"`
	Email    string          `json:"email"`
	Groups   []string        `json:"groups"`
	Extra    json.RawMessage `json:"extra,omitempty"`
}

// Claims is a JSON object of claims: an ID token's payload or a userinfo response.
type Claims map[string]any
