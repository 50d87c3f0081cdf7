package sdk

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
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

// Info returns p's PluginInfo with the fields the SDK owns filled in: the
// contract version and the hooks p implements.
func Info(p Provider) PluginInfo {
	info := p.Describe()
	info.ContractVersion = ContractVersion
	info.Hooks = []Hook{}
	if _, ok := p.(Preparer); ok {
		info.Hooks = append(info.Hooks, HookPrepare)
	}
	if _, ok := p.(Interpreter); ok {
		info.Hooks = append(info.Hooks, HookInterpret)
	}
	if info.Settings == nil {
		info.Settings = []SettingSpec{}
	}
	return info
}

// Handle runs one contract function of p over its JSON input document and
// returns the JSON Result envelope. It never panics: a panic in p becomes an
// error envelope. Transports call it; plugin authors do not need to.
func Handle(p Provider, fn Function, input []byte) (out []byte) {
	defer func() {
		if r := recover(); r != nil {
			out = errorEnvelope(fmt.Errorf("panic in %s: %v\n%s", fn, r, debug.Stack()))
		}
	}()
	v, err := call(p, fn, input)
	if err != nil {
		return errorEnvelope(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return errorEnvelope(fmt.Errorf("encoding the result of %s: %w", fn, err))
	}
	out, _ = json.Marshal(Result{OK: b})
	return out
}

func call(p Provider, fn Function, input []byte) (any, error) {
	switch fn {
	case FuncDescribe:
		return Info(p), nil
	case FuncConfigure:
		var in ConfigureInput
		if err := decode(fn, input, &in); err != nil {
			return nil, err
		}
		spec, errs := p.Configure(in.Settings, in.Client)
		if len(errs) > 0 {
			return ConfigureOutput{Err: errs}, nil
		}
		if spec.DefaultScopes == nil {
			spec.DefaultScopes = []string{}
		}
		if spec.ExtraParams == nil {
			spec.ExtraParams = []Param{}
		}
		return ConfigureOutput{OK: &spec}, nil
	case FuncPrepare:
		h, ok := p.(Preparer)
		if !ok {
			return nil, fmt.Errorf("prepare is not implemented")
		}
		var in PrepareInput
		if err := decode(fn, input, &in); err != nil {
			return nil, err
		}
		return h.Prepare(in.Exchange, in.Request)
	case FuncInterpret:
		h, ok := p.(Interpreter)
		if !ok {
			return nil, fmt.Errorf("interpret is not implemented")
		}
		var in InterpretInput
		if err := decode(fn, input, &in); err != nil {
			return nil, err
		}
		return h.Interpret(in.Exchange, in.Response)
	case FuncIdentity:
		var in IdentityInput
		if err := decode(fn, input, &in); err != nil {
			return nil, err
		}
		if h, ok := p.(SettingsIdentifier); ok {
			if in.Settings == nil {
				in.Settings = map[string]string{}
			}
			return h.IdentityWithSettings(in.Settings, in.IDTokenClaims, in.Userinfo)
		}
		if h, ok := p.(Identifier); ok {
			return h.Identity(in.IDTokenClaims, in.Userinfo)
		}
		return StandardIdentity(in.IDTokenClaims, in.Userinfo), nil
	}
	return nil, fmt.Errorf("unknown function %q", fn)
}

func decode(fn Function, input []byte, v any) error {
	if err := json.Unmarshal(input, v); err != nil {
		return fmt.Errorf("decoding the input of %s: %w", fn, err)
	}
	return nil
}

func errorEnvelope(err error) []byte {
	out, _ := json.Marshal(Result{Error: err.Error()})
	return out
}
