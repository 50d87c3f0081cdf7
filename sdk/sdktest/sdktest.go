// Package sdktest calls a provider through the contract's JSON documents:
// in-process, without any transport (New), or as a WebAssembly module built
// in any language (Wasm). Plugin authors use it in unit tests:
//
//	p := sdktest.New(myprovider.Provider{})
//	spec, errs, err := p.Configure(map[string]string{"issuer": "https://idp.example.com"}, sdk.Client{ClientID: "cli"})
package sdktest

import (
	"encoding/json"
	"fmt"

	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
)

// Plugin is a provider reached through the contract's JSON documents.
type Plugin struct {
	// handle runs one function over its input document and returns the
	// result envelope.
	handle func(fn wire.Function, input []byte) []byte
}

// New wraps p, called in-process.
func New(p sdk.Provider) *Plugin {
	return &Plugin{handle: func(fn wire.Function, input []byte) []byte { return wire.Handle(p, fn, input) }}
}

// Describe calls describe.
func (t *Plugin) Describe() (sdk.PluginInfo, error) {
	var info sdk.PluginInfo
	err := t.call(wire.FuncDescribe, struct{}{}, &info)
	return info, err
}

// Configure calls configure. It returns the spec, or the configuration errors
// the provider reported; err is a failure of the call itself.
func (t *Plugin) Configure(settings map[string]string, client sdk.Client) (*sdk.ProviderSpec, []sdk.ConfigError, error) {
	var out wire.ConfigureOutput
	if err := t.call(wire.FuncConfigure, wire.ConfigureInput{Settings: settings, Client: client}, &out); err != nil {
		return nil, nil, err
	}
	return out.OK, out.Err, nil
}

// Prepare calls prepare.
func (t *Plugin) Prepare(ex sdk.Exchange, req sdk.HTTPRequest) (sdk.HTTPRequest, error) {
	var out sdk.HTTPRequest
	err := t.call(wire.FuncPrepare, wire.PrepareInput{Exchange: ex, Request: req}, &out)
	return out, err
}

// Interpret calls interpret.
func (t *Plugin) Interpret(ex sdk.Exchange, resp sdk.HTTPResponse) (sdk.HTTPResponse, error) {
	var out sdk.HTTPResponse
	err := t.call(wire.FuncInterpret, wire.InterpretInput{Exchange: ex, Response: resp}, &out)
	return out, err
}

// Identity calls identity with no settings.
func (t *Plugin) Identity(idTokenClaims, userinfo sdk.Claims) (sdk.Identity, error) {
	return t.IdentityWithSettings(map[string]string{}, idTokenClaims, userinfo)
}

// IdentityWithSettings calls identity with the profile's settings, as the
// host does.
func (t *Plugin) IdentityWithSettings(settings map[string]string, idTokenClaims, userinfo sdk.Claims) (sdk.Identity, error) {
	var out sdk.Identity
	err := t.call(wire.FuncIdentity, wire.IdentityInput{IDTokenClaims: idTokenClaims, Userinfo: userinfo, Settings: settings}, &out)
	return out, err
}

func (t *Plugin) call(fn wire.Function, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	ok, _, err := wire.Decode(t.handle(fn, b))
	if err != nil {
		return fmt.Errorf("%s: %w", fn, err)
	}
	return json.Unmarshal(ok, out)
}
