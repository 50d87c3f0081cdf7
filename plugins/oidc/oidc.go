// Package oidc is the generic OpenID Connect provider plugin: it takes an
// issuer and finds every endpoint through OpenID Connect discovery.
//
// It registers itself with sdk.Register; programs that embed the host link
// it through package plugins, and ./cmd builds it as a WebAssembly module or
// a subprocess plugin (make plugins).
package oidc

import (
	"strings"

	"github.com/idplug/idplug/sdk"
)

func init() { sdk.Register(Provider{}) }

// Provider is the generic OpenID Connect provider.
type Provider struct{}

// Describe implements sdk.Provider.
func (Provider) Describe() sdk.PluginInfo {
	return sdk.PluginInfo{
		Name:    "oidc",
		Version: "1.0.0",
		Summary: "Any OpenID Connect provider with the device grant, configured by discovery from its issuer",
		Settings: []sdk.SettingSpec{{
			Name: "issuer", Type: sdk.SettingURL, Required: true,
			Help: "the issuer URL; discovery is read from <issuer>/.well-known/openid-configuration",
		}},
	}
}

// Configure implements sdk.Provider.
func (Provider) Configure(settings map[string]string, client sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	// The host checked the issuer, a required url setting.
	raw := settings["issuer"]
	return sdk.ProviderSpec{
		// The issuer keeps the exact form the user wrote (some providers end
		// theirs with a slash): ID tokens must carry it verbatim.
		Issuer:        raw,
		DiscoveryURL:  strings.TrimSuffix(raw, "/") + "/.well-known/openid-configuration",
		DefaultScopes: []string{"openid", "profile", "email", "offline_access"},
	}, nil
}
