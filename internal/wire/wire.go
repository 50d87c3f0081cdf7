// Package wire is the plugin contract's wire format, which the host and the
// plugin side both import: the functions as the transports carry them, the
// JSON input documents and result envelope, the dispatch of a call to an
// sdk.Provider, the gRPC service of subprocess plugins (generated from
// wit/idplug.proto) and the go-plugin handshake.
//
// The records inside the documents are the sdk's types: plugin authors write
// against those, and wit/idplug.wit is the source of truth for both. The
// gRPC and go-plugin parts are not built for wasip1: a WebAssembly plugin
// links only the documents and the dispatch.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/idplug/idplug/sdk"
)

// Function names one function of the contract as the transports carry it.
type Function string

// The contract's functions.
const (
	FuncDescribe  Function = "describe"
	FuncConfigure Function = "configure"
	FuncPrepare   Function = "prepare"
	FuncInterpret Function = "interpret"
	FuncIdentity  Function = "identity"
)

// Functions lists every function of the contract.
var Functions = []Function{FuncDescribe, FuncConfigure, FuncPrepare, FuncInterpret, FuncIdentity}

// Export is the name of fn's export in a WebAssembly plugin.
func (fn Function) Export() string { return "idplug_" + string(fn) }

// MaxMessage bounds, in bytes, a result envelope a plugin returns over any
// transport: the contract's documents are small, and a plugin must not make
// the host allocate without bound.
const MaxMessage = 4 << 20

// ContractError is a transport's finding that a plugin speaks another
// contract version than sdk.ContractVersion, before any call.
type ContractError struct {
	Version string // the version the plugin speaks, as the transport found it
}

// Error implements error.
func (e *ContractError) Error() string {
	return fmt.Sprintf("speaks contract version %s: this idplug speaks contract version %d; install a build of the plugin for contract %d",
		e.Version, sdk.ContractVersion, sdk.ContractVersion)
}

// The input documents of the contract's functions: one JSON document per
// call, whose fields are the WIT parameters. describe takes {}.

// ConfigureInput is the input of configure.
type ConfigureInput struct {
	Settings map[string]string `json:"settings"`
	Client   sdk.Client        `json:"client"`
}

// ConfigureOutput is the result of configure, WIT result<provider-spec,
// list<config-error>>: exactly one of OK and Err is set.
type ConfigureOutput struct {
	OK  *sdk.ProviderSpec `json:"ok,omitempty"`
	Err []sdk.ConfigError `json:"err,omitempty"`
}

// PrepareInput is the input of prepare.
type PrepareInput struct {
	Exchange sdk.Exchange    `json:"exchange"`
	Request  sdk.HTTPRequest `json:"request"`
}

// InterpretInput is the input of interpret.
type InterpretInput struct {
	Exchange sdk.Exchange     `json:"exchange"`
	Response sdk.HTTPResponse `json:"response"`
}

// IdentityInput is the input of identity. Settings are the profile's
// settings as configure received them; a host older than this field sends
// none, which reads as empty.
type IdentityInput struct {
	IDTokenClaims sdk.Claims        `json:"id_token_claims"`
	Userinfo      sdk.Claims        `json:"userinfo"`
	Settings      map[string]string `json:"settings"`
}

// Result is the envelope every call returns across a transport: the
// function's value in OK, or a failure message in Error. An Error means the
// plugin could not do its job (a panic, a malformed input); the host treats
// it like a trap.
type Result struct {
	OK    json.RawMessage `json:"ok,omitempty"`
	Error string          `json:"error,omitempty"`
}

// Decode returns the OK value of the result envelope out. A failure the
// plugin reported is returned with its first line only; the rest, such as a
// stack trace, is in detail, for whoever debugs the plugin.
func Decode(out []byte) (ok []byte, detail string, err error) {
	var res Result
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, "", fmt.Errorf("returned a malformed result envelope: %w", err)
	}
	if res.Error != "" {
		msg, rest, _ := strings.Cut(res.Error, "\n")
		return nil, rest, errors.New(msg)
	}
	if res.OK == nil {
		return nil, "", errors.New(`returned an envelope with neither "ok" nor "error"`)
	}
	return res.OK, "", nil
}

// describe returns p's PluginInfo with the fields the SDK owns filled in: the
// contract version and the hooks p implements.
func describe(p sdk.Provider) sdk.PluginInfo {
	info := p.Describe()
	info.ContractVersion = sdk.ContractVersion
	info.Hooks = []sdk.Hook{}
	if _, ok := p.(sdk.Preparer); ok {
		info.Hooks = append(info.Hooks, sdk.HookPrepare)
	}
	if _, ok := p.(sdk.Interpreter); ok {
		info.Hooks = append(info.Hooks, sdk.HookInterpret)
	}
	if info.Settings == nil {
		info.Settings = []sdk.SettingSpec{}
	}
	return info
}

// Handle runs one contract function of p over its JSON input document and
// returns the JSON Result envelope. It never panics: a panic in p becomes an
// error envelope whose first line names the function and the panic, followed
// by the stack. Every transport ends in Handle.
func Handle(p sdk.Provider, fn Function, input []byte) (out []byte) {
	defer func() {
		if r := recover(); r != nil {
			out = errorEnvelope(fmt.Errorf("panic in %s: %v\n%s", fn, r, debug.Stack()))
		}
	}()
	v, err := call(p, fn, input)
	if err != nil {
		return errorEnvelope(err)
	}
	w := writer{b: make([]byte, 0, 512)}
	w.raw(`{"ok":`)
	if err := w.value(v); err != nil {
		return errorEnvelope(fmt.Errorf("encoding the result of %s: %w", fn, err))
	}
	w.raw("}")
	return w.b
}

func call(p sdk.Provider, fn Function, input []byte) (any, error) {
	switch fn {
	case FuncDescribe:
		return describe(p), nil
	case FuncPrepare:
		if _, ok := p.(sdk.Preparer); !ok {
			return nil, errors.New("prepare is not implemented")
		}
	case FuncInterpret:
		if _, ok := p.(sdk.Interpreter); !ok {
			return nil, errors.New("interpret is not implemented")
		}
	case FuncConfigure, FuncIdentity:
	default:
		return nil, fmt.Errorf("unknown function %q", fn)
	}
	v, err := readInput(fn, input)
	if err != nil {
		return nil, fmt.Errorf("decoding the input of %s: %w", fn, err)
	}
	switch in := v.(type) {
	case ConfigureInput:
		spec, errs := p.Configure(in.Settings, in.Client)
		if len(errs) > 0 {
			return ConfigureOutput{Err: errs}, nil
		}
		if spec.DefaultScopes == nil {
			spec.DefaultScopes = []string{}
		}
		if spec.ExtraParams == nil {
			spec.ExtraParams = []sdk.Param{}
		}
		return ConfigureOutput{OK: &spec}, nil
	case PrepareInput:
		return p.(sdk.Preparer).Prepare(in.Exchange, in.Request)
	case InterpretInput:
		return p.(sdk.Interpreter).Interpret(in.Exchange, in.Response)
	case IdentityInput:
		if h, ok := p.(sdk.SettingsIdentifier); ok {
			if in.Settings == nil {
				in.Settings = map[string]string{}
			}
			return h.IdentityWithSettings(in.Settings, in.IDTokenClaims, in.Userinfo)
		}
		if h, ok := p.(sdk.Identifier); ok {
			return h.Identity(in.IDTokenClaims, in.Userinfo)
		}
		return sdk.StandardIdentity(in.IDTokenClaims, in.Userinfo), nil
	}
	return nil, fmt.Errorf("unknown function %q", fn)
}

func errorEnvelope(err error) []byte {
	w := writer{}
	w.raw(`{"error":`)
	w.str(err.Error())
	w.raw("}")
	return w.b
}
