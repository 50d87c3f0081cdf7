// Package plugin is the host's view of a provider plugin, whatever carries it:
// a transport only moves JSON documents (Caller), and Plugin turns those into
// the contract's typed functions, checks the contract version, and calls the
// optional hooks only when the plugin declares them.
package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/idplug/idplug/sdk"
)

// Caller is a transport: it runs one contract function over a JSON input
// document and returns the OK value of the plugin's result envelope. An error
// envelope, a trap, a timeout or a crash is returned as an error, after which
// the transport discards the instance it used.
type Caller interface {
	Call(ctx context.Context, fn sdk.Function, input []byte) ([]byte, error)
	Close(ctx context.Context) error
}

// MaxMessage bounds, in bytes, a result envelope a plugin returns over any
// transport: the contract's documents are small, and a plugin must not make
// the host allocate without bound. A transport refuses a larger result as a
// violation of the contract.
const MaxMessage = 4 << 20

// Plugin is a loaded provider plugin. It is safe for concurrent use when its
// Caller is.
type Plugin struct {
	name   string
	source string
	info   sdk.PluginInfo
	c      Caller
}

// Error is a failure of a plugin: it names the plugin so that the user knows
// which one to update or remove.
type Error struct {
	Plugin string       // the plugin's name in the configuration
	Func   sdk.Function // the function that failed, if any
	Err    error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Func == "" {
		return fmt.Sprintf("plugin %q: %v", e.Plugin, e.Err)
	}
	return fmt.Sprintf("plugin %q: %s: %v", e.Plugin, e.Func, e.Err)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ErrContractVersion is wrapped by the error New returns for a plugin whose
// contract version the host does not speak.
var ErrContractVersion = errors.New("unsupported contract version")

// New describes the plugin behind c and checks its contract version. name is
// how the configuration calls it; source says where it came from (a path or
// "built-in"). On error, c is closed.
func New(ctx context.Context, name, source string, c Caller) (*Plugin, error) {
	p := &Plugin{name: name, source: source, c: c}
	if err := p.call(ctx, sdk.FuncDescribe, struct{}{}, &p.info); err != nil {
		c.Close(ctx)
		return nil, err
	}
	if p.info.ContractVersion != sdk.ContractVersion {
		c.Close(ctx)
		return nil, &Error{Plugin: name, Err: fmt.Errorf("%w %d: this idplug speaks contract version %d; install a build of the plugin for contract %d",
			ErrContractVersion, p.info.ContractVersion, sdk.ContractVersion, sdk.ContractVersion)}
	}
	return p, nil
}

// Name returns the plugin's name in the configuration.
func (p *Plugin) Name() string { return p.name }

// Source says where the plugin was loaded from.
func (p *Plugin) Source() string { return p.source }

// Info returns what the plugin's describe said.
func (p *Plugin) Info() sdk.PluginInfo { return p.info }

// Has reports whether the plugin declares hook h.
func (p *Plugin) Has(h sdk.Hook) bool { return slices.Contains(p.info.Hooks, h) }

// Configure validates settings and returns the provider's spec, or the
// configuration errors the plugin reported.
func (p *Plugin) Configure(ctx context.Context, settings map[string]string, client sdk.Client) (*sdk.ProviderSpec, []sdk.ConfigError, error) {
	var out sdk.ConfigureOutput
	if settings == nil {
		settings = map[string]string{}
	}
	client.Scopes = orNone(client.Scopes)
	if err := p.call(ctx, sdk.FuncConfigure, sdk.ConfigureInput{Settings: settings, Client: client}, &out); err != nil {
		return nil, nil, err
	}
	if out.OK == nil && len(out.Err) == 0 {
		return nil, nil, &Error{Plugin: p.name, Func: sdk.FuncConfigure, Err: errors.New("returned neither a spec nor errors")}
	}
	return out.OK, out.Err, nil
}

// Prepare lets the plugin rewrite an outgoing request. Without the prepare
// hook it returns req unchanged and calls nothing.
func (p *Plugin) Prepare(ctx context.Context, ex sdk.Exchange, req sdk.HTTPRequest) (sdk.HTTPRequest, error) {
	if !p.Has(sdk.HookPrepare) {
		return req, nil
	}
	var out sdk.HTTPRequest
	req.Headers = orNone(req.Headers)
	err := p.call(ctx, sdk.FuncPrepare, sdk.PrepareInput{Exchange: ex, Request: req}, &out)
	return out, err
}

// Interpret lets the plugin turn a response into the RFC shape. Without the
// interpret hook it returns resp unchanged and calls nothing.
func (p *Plugin) Interpret(ctx context.Context, ex sdk.Exchange, resp sdk.HTTPResponse) (sdk.HTTPResponse, error) {
	if !p.Has(sdk.HookInterpret) {
		return resp, nil
	}
	var out sdk.HTTPResponse
	resp.Headers = orNone(resp.Headers)
	err := p.call(ctx, sdk.FuncInterpret, sdk.InterpretInput{Exchange: ex, Response: resp}, &out)
	return out, err
}

// Identity maps verified ID token claims and a userinfo response to an
// identity, without settings.
func (p *Plugin) Identity(ctx context.Context, idTokenClaims, userinfo sdk.Claims) (sdk.Identity, error) {
	return p.IdentityWithSettings(ctx, nil, idTokenClaims, userinfo)
}

// IdentityWithSettings maps verified ID token claims and a userinfo response
// to an identity; settings are the profile's, as configure received them.
func (p *Plugin) IdentityWithSettings(ctx context.Context, settings map[string]string, idTokenClaims, userinfo sdk.Claims) (sdk.Identity, error) {
	if settings == nil {
		settings = map[string]string{}
	}
	var out sdk.Identity
	err := p.call(ctx, sdk.FuncIdentity, sdk.IdentityInput{IDTokenClaims: orEmpty(idTokenClaims), Userinfo: orEmpty(userinfo), Settings: settings}, &out)
	return out, err
}

// Close releases the plugin's instances or process.
func (p *Plugin) Close(ctx context.Context) error { return p.c.Close(ctx) }

func (p *Plugin) call(ctx context.Context, fn sdk.Function, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return &Error{Plugin: p.name, Func: fn, Err: err}
	}
	res, err := p.c.Call(ctx, fn, b)
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			return err
		}
		return &Error{Plugin: p.name, Func: fn, Err: err}
	}
	if err := json.Unmarshal(res, out); err != nil {
		return &Error{Plugin: p.name, Func: fn, Err: fmt.Errorf("malformed result: %w", err)}
	}
	return nil
}

// orNone returns s, or an empty list for nil: the ABI encodes a WIT list as a
// JSON array, never null, which plugins in other languages may refuse.
func orNone[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func orEmpty(c sdk.Claims) sdk.Claims {
	if c == nil {
		return sdk.Claims{}
	}
	return c
}
