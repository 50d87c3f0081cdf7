// Package plugin is the host's view of a provider plugin, whatever carries
// it. A Transport only moves bytes: a JSON input document in, a result
// envelope out. Plugin owns the call contract on top of every transport: the
// call deadline, decoding the envelope, the first-line error policy, the
// contract version check and what a call on a closed plugin gets; it turns
// the documents into the contract's typed functions and calls the optional
// hooks only when the plugin declares them. Loader finds and loads plugins:
// providers linked in-process, WebAssembly modules and subprocess plugins.
package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
)

// Transport carries calls to one loaded plugin.
type Transport interface {
	// Call runs fn over the JSON document input and hands the plugin's
	// result envelope to keep, which must copy what it keeps. When keep
	// returns an error, or the call fails, the transport discards the
	// instance or process that answered; the next call gets a fresh one.
	// Call returns when ctx is done, whatever the plugin does.
	Call(ctx context.Context, fn wire.Function, input []byte, keep func(envelope []byte) error) error
	// Close releases the plugin's instances or process.
	Close(ctx context.Context) error
}

// DefaultCallTimeout bounds one call over any transport. Plugins compute
// over small JSON documents in well under a millisecond; two seconds only
// ever stops a broken one.
const DefaultCallTimeout = 2 * time.Second

// ErrClosed is wrapped by the error of a call on a closed Plugin.
var ErrClosed = errors.New("the plugin was closed")

// Plugin is a loaded provider plugin. It is safe for concurrent use.
type Plugin struct {
	name    string
	source  string
	info    sdk.PluginInfo
	t       Transport
	timeout time.Duration
	log     *slog.Logger
	closed  atomic.Bool
}

// Error is a failure of a plugin: it names the plugin so that the user knows
// which one to update or remove.
type Error struct {
	Plugin string        // the plugin's name in the configuration
	Func   wire.Function // the function that failed, if any
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

// newPlugin describes the plugin behind t and checks its contract version
// and what it declares (see checkInfo). name is how the configuration calls
// it, and how every error names it: the name the plugin gives itself in
// describe is only shown. source says where it came from. On error, t is
// closed.
func newPlugin(ctx context.Context, name, source string, t Transport, timeout time.Duration, log *slog.Logger) (*Plugin, error) {
	p := &Plugin{name: name, source: source, t: t, timeout: timeout, log: log.With("plugin", name)}
	if err := p.call(ctx, wire.FuncDescribe, struct{}{}, &p.info); err != nil {
		t.Close(ctx)
		return nil, err
	}
	if p.info.ContractVersion != sdk.ContractVersion {
		t.Close(ctx)
		return nil, &Error{Plugin: name, Err: &wire.ContractError{Version: fmt.Sprint(p.info.ContractVersion)}}
	}
	if err := checkInfo(p.info); err != nil {
		t.Close(ctx)
		return nil, &Error{Plugin: name, Func: wire.FuncDescribe, Err: err}
	}
	return p, nil
}

// Name returns the plugin's name in the configuration: the key of its
// [plugins] entry, or the name a built-in provider or embedded module is
// registered under. Messages name the plugin by it, never by Info().Name,
// which the plugin chose for itself.
func (p *Plugin) Name() string { return p.name }

// Source says where the plugin was loaded from.
func (p *Plugin) Source() string { return p.source }

// Info returns what the plugin's describe said, checked: known hooks and
// setting types, each setting named once with a TOML bare key.
func (p *Plugin) Info() sdk.PluginInfo { return p.info }

// has reports whether the plugin declares hook h.
func (p *Plugin) has(h sdk.Hook) bool { return slices.Contains(p.info.Hooks, h) }

// Configure validates settings and returns the provider's spec, or the
// configuration errors the plugin reported.
func (p *Plugin) Configure(ctx context.Context, settings map[string]string, client sdk.Client) (*sdk.ProviderSpec, []sdk.ConfigError, error) {
	var out wire.ConfigureOutput
	client.Scopes = orNone(client.Scopes)
	if err := p.call(ctx, wire.FuncConfigure, wire.ConfigureInput{Settings: orNoSettings(settings), Client: client}, &out); err != nil {
		return nil, nil, err
	}
	if out.OK == nil && len(out.Err) == 0 {
		return nil, nil, &Error{Plugin: p.name, Func: wire.FuncConfigure, Err: errors.New("returned neither a spec nor errors")}
	}
	return out.OK, out.Err, nil
}

// Prepare lets the plugin rewrite an outgoing request. Without the prepare
// hook it returns req unchanged and calls nothing.
func (p *Plugin) Prepare(ctx context.Context, ex sdk.Exchange, req sdk.HTTPRequest) (sdk.HTTPRequest, error) {
	if !p.has(sdk.HookPrepare) {
		return req, nil
	}
	var out sdk.HTTPRequest
	req.Headers = orNone(req.Headers)
	err := p.call(ctx, wire.FuncPrepare, wire.PrepareInput{Exchange: ex, Request: req}, &out)
	return out, err
}

// Interpret lets the plugin turn a response into the RFC shape. Without the
// interpret hook it returns resp unchanged and calls nothing.
func (p *Plugin) Interpret(ctx context.Context, ex sdk.Exchange, resp sdk.HTTPResponse) (sdk.HTTPResponse, error) {
	if !p.has(sdk.HookInterpret) {
		return resp, nil
	}
	var out sdk.HTTPResponse
	resp.Headers = orNone(resp.Headers)
	err := p.call(ctx, wire.FuncInterpret, wire.InterpretInput{Exchange: ex, Response: resp}, &out)
	return out, err
}

// Identity maps verified ID token claims and a userinfo response to an
// identity; settings are the profile's, as configure received them.
func (p *Plugin) Identity(ctx context.Context, settings map[string]string, idTokenClaims, userinfo sdk.Claims) (sdk.Identity, error) {
	var out sdk.Identity
	err := p.call(ctx, wire.FuncIdentity, wire.IdentityInput{IDTokenClaims: orEmpty(idTokenClaims), Userinfo: orEmpty(userinfo), Settings: orNoSettings(settings)}, &out)
	return out, err
}

// Close releases the plugin's instances or process. Later calls fail with
// ErrClosed.
func (p *Plugin) Close(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil
	}
	return p.t.Close(ctx)
}

// errDeadline is the cause of a call's context when its deadline passes.
var errDeadline = errors.New("call deadline exceeded")

// call runs fn over in, under the call deadline, and decodes the OK value of
// the result envelope into out. Every error is an *Error naming the plugin
// and fn.
func (p *Plugin) call(ctx context.Context, fn wire.Function, in, out any) error {
	fail := func(err error) error { return &Error{Plugin: p.name, Func: fn, Err: err} }
	if p.closed.Load() {
		return fail(ErrClosed)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return fail(err)
	}
	cctx, cancel := context.WithTimeoutCause(ctx, p.timeout, errDeadline)
	defer cancel()
	var ok []byte
	err = p.t.Call(cctx, fn, b, func(envelope []byte) error {
		v, detail, err := wire.Decode(envelope)
		if detail != "" {
			p.log.Debug("the plugin failed", "func", fn, "err", err, "detail", detail)
		}
		ok = v
		return err
	})
	switch {
	case err == nil:
	case p.closed.Load():
		return fail(ErrClosed)
	case context.Cause(cctx) == errDeadline:
		return fail(fmt.Errorf("exceeded the %v call deadline; the plugin was stopped: %w", p.timeout, context.DeadlineExceeded))
	case ctx.Err() != nil:
		return fail(fmt.Errorf("the call was abandoned (%w); the plugin was stopped", ctx.Err()))
	default:
		var pe *Error
		if errors.As(err, &pe) {
			return err
		}
		return fail(err)
	}
	if err := json.Unmarshal(ok, out); err != nil {
		return fail(fmt.Errorf("malformed result: %w", err))
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

func orNoSettings(s map[string]string) map[string]string {
	if s == nil {
		return map[string]string{}
	}
	return s
}

func orEmpty(c sdk.Claims) sdk.Claims {
	if c == nil {
		return sdk.Claims{}
	}
	return c
}
