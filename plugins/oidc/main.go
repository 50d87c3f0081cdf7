// Command oidc is the generic OpenID Connect provider plugin: it takes an
// issuer and finds every endpoint through OpenID Connect discovery.
//
// Build it as a WebAssembly module, or as a subprocess plugin:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o oidc.wasm ./plugins/oidc
//	go build -o idplug-plugin-oidc ./plugins/oidc
package main

import "github.com/idplug/idplug/sdk"

func init() { sdk.Register(Provider{}) }

func main() { sdk.Main() }

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
	raw, ok := settings["issuer"]
	if !ok || raw == "" {
		return sdk.ProviderSpec{}, []sdk.ConfigError{{Setting: "issuer", Message: `is required: set issuer = "https://idp.example.com"`}}
	}
	issuer, cerr := sdk.CheckURL("issuer", raw)
	if cerr != nil {
		return sdk.ProviderSpec{}, []sdk.ConfigError{*cerr}
	}
	style := sdk.AuthNone
	if client.ClientSecret != "" {
		style = sdk.AuthBasic
	}
	return sdk.ProviderSpec{
		// The issuer keeps the exact form the user wrote (some providers end
		// theirs with a slash): ID tokens must carry it verbatim.
		Issuer:        raw,
		DiscoveryURL:  issuer + "/.well-known/openid-configuration",
		AuthStyle:     style,
		DefaultScopes: []string{"openid", "profile", "email", "offline_access"},
	}, nil
}
