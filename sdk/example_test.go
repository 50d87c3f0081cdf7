package sdk_test

import (
	"fmt"
	"strings"

	"github.com/idplug/idplug/sdk"
	"github.com/idplug/idplug/sdk/sdktest"
)

// Acme adapts a fictional IdP that names its denial "refused".
type Acme struct{}

// Describe implements sdk.Provider.
func (Acme) Describe() sdk.PluginInfo {
	return sdk.PluginInfo{
		Name: "acme", Version: "0.1.0", Summary: "Acme ID",
		Settings: []sdk.SettingSpec{{Name: "tenant", Type: sdk.SettingString, Required: true, Help: "your Acme tenant"}},
	}
}

// Configure implements sdk.Provider.
func (Acme) Configure(settings map[string]string, _ sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	tenant := settings["tenant"]
	if tenant == "" {
		return sdk.ProviderSpec{}, []sdk.ConfigError{{Setting: "tenant", Message: `is required, e.g. tenant = "example"`}}
	}
	base := "https://" + tenant + ".acme.example"
	return sdk.ProviderSpec{
		Issuer:    base,
		Endpoints: sdk.Endpoints{DeviceAuthorization: base + "/device", Token: base + "/token"},
		AuthStyle: sdk.AuthNone,
	}, nil
}

// Interpret turns Acme's "refused" into RFC 8628's access_denied.
func (Acme) Interpret(_ sdk.Exchange, resp sdk.HTTPResponse) (sdk.HTTPResponse, error) {
	resp.Body = strings.Replace(resp.Body, `"error":"refused"`, `"error":"access_denied"`, 1)
	return resp, nil
}

// A provider is unit-tested in-process with sdktest, through the same JSON
// documents a transport carries. In the plugin's package main:
//
//	func init() { sdk.Register(Acme{}) }
//	func main() { serve.Main() }
func Example() {
	p := sdktest.New(Acme{})

	info, _ := p.Describe()
	fmt.Println(info.Name, "contract", info.ContractVersion, "hooks", info.Hooks)

	_, errs, _ := p.Configure(map[string]string{}, sdk.Client{ClientID: "cli"})
	fmt.Println(errs[0])

	spec, _, _ := p.Configure(map[string]string{"tenant": "example"}, sdk.Client{ClientID: "cli"})
	fmt.Println(spec.Endpoints.Token)

	resp, _ := p.Interpret(sdk.ExchangeTokenPoll, sdk.HTTPResponse{Status: 400, Body: `{"error":"refused"}`})
	fmt.Println(resp.Body)
	// Output:
	// acme contract 1 hooks [interpret]
	// tenant: is required, e.g. tenant = "example"
	// https://example.acme.example/token
	// {"error":"access_denied"}
}
