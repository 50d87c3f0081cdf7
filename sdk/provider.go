package sdk

// Provider adapts one identity provider to the host. It is the one interface a
// plugin author implements; the optional hooks are the separate interfaces
// Preparer, Interpreter and Identifier, detected by type assertion.
//
// A Provider is sans-IO: it has no network, files, environment or real clock,
// and computes only over its arguments. Methods may be called concurrently.
type Provider interface {
	// Describe says who the plugin is and which settings it accepts. The SDK
	// fills ContractVersion and Hooks.
	Describe() PluginInfo
	// Configure validates a profile's settings (text values, keyed by name)
	// and returns the provider's endpoints. Problems are returned as
	// ConfigErrors naming the setting and the fix.
	Configure(settings map[string]string, client Client) (ProviderSpec, []ConfigError)
}

// Preparer is implemented by providers that rewrite outgoing requests.
type Preparer interface {
	Prepare(exchange Exchange, req HTTPRequest) (HTTPRequest, error)
}

// Interpreter is implemented by providers that turn a provider's responses
// into the RFC shape, such as a non-standard error name into access_denied.
type Interpreter interface {
	Interpret(exchange Exchange, resp HTTPResponse) (HTTPResponse, error)
}

// Identifier is implemented by providers whose identity claims differ from
// the OpenID Connect standard ones. Without it, StandardIdentity applies.
type Identifier interface {
	Identity(idTokenClaims, userinfo Claims) (Identity, error)
}

// SettingsIdentifier is implemented by providers whose identity mapping
// depends on the profile's settings, such as a setting naming the claim that
// holds the groups. It receives the settings configure received, and takes
// precedence over Identifier.
type SettingsIdentifier interface {
	IdentityWithSettings(settings map[string]string, idTokenClaims, userinfo Claims) (Identity, error)
}
