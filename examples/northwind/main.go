// Command northwind is an idplug provider plugin for Northwind ID, a
// fictional identity provider with the device grant and a few quirks: it
// answers polls with its own status words, wants a client header, and names
// its claims its own way. It is written once against the idplug SDK and
// builds to both transports:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o northwind.wasm .
//	go build -o idplug-plugin-northwind .
//
// See README.md for loading it into idplug.
package main

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/idplug/idplug/sdk"
	"github.com/idplug/idplug/sdk/serve"
)

func init() { sdk.Register(Provider{}) }

func main() { serve.Main() }

// Provider adapts Northwind ID.
type Provider struct{}

// Describe implements sdk.Provider.
func (Provider) Describe() sdk.PluginInfo {
	return sdk.PluginInfo{
		Name:    "northwind",
		Version: "0.1.0",
		Summary: "Northwind ID, the (fictional) identity provider of Northwind Traders",
		Settings: []sdk.SettingSpec{
			{Name: "tenant", Type: sdk.SettingString, Required: true, Help: "your tenant: https://<tenant>.northwind-id.example"},
			{Name: "base_url", Type: sdk.SettingURL, Help: "the tenant's URL, when it is not https://<tenant>.northwind-id.example"},
			{Name: "api", Type: sdk.SettingString, Help: "the API the tokens are for, sent as audience"},
		},
	}
}

// Configure implements sdk.Provider.
func (Provider) Configure(settings map[string]string, client sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	tenant := settings["tenant"]
	if tenant == "" {
		return sdk.ProviderSpec{}, []sdk.ConfigError{{Setting: "tenant", Message: `is required: set tenant = "<tenant>", as in https://<tenant>.northwind-id.example`}}
	}
	if strings.ContainsAny(tenant, "./:") {
		return sdk.ProviderSpec{}, []sdk.ConfigError{{Setting: "tenant", Message: "is the tenant's name, not a URL: set base_url for a URL"}}
	}
	base := "https://" + tenant + ".northwind-id.example"
	if raw := settings["base_url"]; raw != "" {
		u, cerr := sdk.CheckURL("base_url", raw)
		if cerr != nil {
			return sdk.ProviderSpec{}, []sdk.ConfigError{*cerr}
		}
		base = u
	}
	spec := sdk.ProviderSpec{
		Issuer: base + "/",
		Endpoints: sdk.Endpoints{
			DeviceAuthorization: base + "/oauth2/device",
			Token:               base + "/oauth2/token",
			Userinfo:            base + "/oauth2/me",
			Revocation:          base + "/oauth2/revoke",
			JWKS:                base + "/oauth2/keys",
		},
		AuthStyle:     sdk.AuthNone,
		DefaultScopes: []string{"openid", "profile", "offline_access"},
	}
	if client.ClientSecret != "" {
		spec.AuthStyle = sdk.AuthPost
	}
	if api := settings["api"]; api != "" {
		spec.ExtraParams = []sdk.Param{{Exchange: sdk.ExchangeDeviceAuthorization, Name: "audience", Value: api}}
	}
	return spec, nil
}

// Prepare implements sdk.Preparer: Northwind wants to know the client.
func (Provider) Prepare(_ sdk.Exchange, req sdk.HTTPRequest) (sdk.HTTPRequest, error) {
	req.Headers = append(req.Headers, sdk.Header{Name: "Northwind-Client", Value: "idplug"})
	return req, nil
}

// statuses are Northwind's answers to a poll, as RFC 8628 errors.
var statuses = map[string]string{
	"waiting":  "authorization_pending",
	"slow":     "slow_down",
	"rejected": "access_denied",
	"timeout":  "expired_token",
}

// Interpret implements sdk.Interpreter: Northwind answers a pending poll
// with 202 {"status":"waiting"} rather than 400 authorization_pending.
func (Provider) Interpret(ex sdk.Exchange, resp sdk.HTTPResponse) (sdk.HTTPResponse, error) {
	if ex != sdk.ExchangeTokenPoll || resp.Status == 200 {
		return resp, nil
	}
	var body struct {
		Status string `json:"status"`
	}
	if json.Unmarshal([]byte(resp.Body), &body) != nil || body.Status == "" {
		return resp, nil
	}
	rfc, ok := statuses[body.Status]
	if !ok {
		return resp, errors.New("unknown poll status " + body.Status)
	}
	resp.Status = 400
	resp.Body = `{"error":"` + rfc + `"}`
	return resp, nil
}

// Identity implements sdk.Identifier: Northwind's login and teams claims.
func (Provider) Identity(idToken, userinfo sdk.Claims) (sdk.Identity, error) {
	id := sdk.StandardIdentity(idToken, userinfo)
	c := sdk.Merge(idToken, userinfo)
	if login := c.String("nw:login"); login != "" {
		id.Username = login
	}
	if name := c.String("display_name"); name != "" {
		id.Name = name
	}
	if teams := c.Strings("nw:teams"); len(teams) > 0 {
		id.Groups = teams
	}
	return id, nil
}
