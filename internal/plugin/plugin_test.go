package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/idplug/idplug/sdk"
)

// recorder is a transport that answers from a provider in-process, through
// the SDK's JSON dispatcher, and records which functions were called.
type recorder struct {
	p      sdk.Provider
	calls  []sdk.Function
	closed bool
}

func (r *recorder) Call(_ context.Context, fn sdk.Function, input []byte) ([]byte, error) {
	r.calls = append(r.calls, fn)
	var res sdk.Result
	if err := json.Unmarshal(sdk.Handle(r.p, fn, input), &res); err != nil {
		return nil, err
	}
	if res.Error != "" {
		return nil, errors.New(res.Error)
	}
	return res.OK, nil
}

func (r *recorder) Close(context.Context) error { r.closed = true; return nil }

type plain struct{}

func (plain) Describe() sdk.PluginInfo { return sdk.PluginInfo{Name: "plain"} }
func (plain) Configure(map[string]string, sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	return sdk.ProviderSpec{}, []sdk.ConfigError{{Setting: "url", Message: "is required"}}
}

type hooked struct{ plain }

func (hooked) Prepare(_ sdk.Exchange, req sdk.HTTPRequest) (sdk.HTTPRequest, error) {
	req.Body += "&audience=api"
	return req, nil
}

func (hooked) Interpret(_ sdk.Exchange, resp sdk.HTTPResponse) (sdk.HTTPResponse, error) {
	resp.Body = strings.ReplaceAll(resp.Body, `"denied"`, `"access_denied"`)
	return resp, nil
}

func TestHooksCalledOnlyWhenDeclared(t *testing.T) {
	ctx := context.Background()
	req := sdk.HTTPRequest{Method: "POST", URL: "https://idp/token", Body: "a=b"}
	resp := sdk.HTTPResponse{Status: 400, Body: `{"error":"denied"}`}

	r := &recorder{p: plain{}}
	p, err := New(ctx, "plain", "test", r)
	if err != nil {
		t.Fatal(err)
	}
	gotReq, _ := p.Prepare(ctx, sdk.ExchangeTokenPoll, req)
	gotResp, _ := p.Interpret(ctx, sdk.ExchangeTokenPoll, resp)
	if gotReq.Body != req.Body || gotResp.Body != resp.Body || len(r.calls) != 1 {
		t.Errorf("a plugin without hooks was called %v and changed the exchange", r.calls)
	}

	r = &recorder{p: hooked{}}
	p, err = New(ctx, "hooked", "test", r)
	if err != nil {
		t.Fatal(err)
	}
	gotReq, _ = p.Prepare(ctx, sdk.ExchangeDeviceAuthorization, req)
	gotResp, _ = p.Interpret(ctx, sdk.ExchangeTokenPoll, resp)
	if gotReq.Body != "a=b&audience=api" || gotResp.Body != `{"error":"access_denied"}` {
		t.Errorf("hooks not applied: %q, %q", gotReq.Body, gotResp.Body)
	}
	if want := []sdk.Function{sdk.FuncDescribe, sdk.FuncPrepare, sdk.FuncInterpret}; len(r.calls) != 3 || r.calls[1] != want[1] || r.calls[2] != want[2] {
		t.Errorf("calls %v, want %v", r.calls, want)
	}
}

func TestConfigureErrors(t *testing.T) {
	ctx := context.Background()
	p, err := New(ctx, "plain", "test", &recorder{p: plain{}})
	if err != nil {
		t.Fatal(err)
	}
	spec, errs, err := p.Configure(ctx, nil, sdk.Client{ClientID: "x"})
	if err != nil || spec != nil || len(errs) != 1 || errs[0].Setting != "url" {
		t.Errorf("configure = %v, %v, %v; want one error on url", spec, errs, err)
	}
}

// future speaks a contract version this host does not.
type future struct{ recorder }

func (f *future) Call(ctx context.Context, fn sdk.Function, input []byte) ([]byte, error) {
	out, err := f.recorder.Call(ctx, fn, input)
	if fn == sdk.FuncDescribe {
		out = []byte(strings.Replace(string(out), `"contract_version":1`, `"contract_version":2`, 1))
	}
	return out, err
}

func TestContractVersionRefused(t *testing.T) {
	f := &future{recorder{p: plain{}}}
	_, err := New(context.Background(), "acme", "test", f)
	if !errors.Is(err, ErrContractVersion) || !strings.Contains(err.Error(), `plugin "acme"`) || !strings.Contains(err.Error(), "speaks contract version 1") {
		t.Fatalf("err = %v; want a contract version error naming the plugin and the version spoken", err)
	}
	if !f.closed {
		t.Error("the refused plugin's transport was not closed")
	}
}

func TestErrorsNameThePlugin(t *testing.T) {
	ctx := context.Background()
	p, err := New(ctx, "acme", "test", &recorder{p: panicky{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Identity(ctx, nil, nil)
	var pe *Error
	if !errors.As(err, &pe) || pe.Plugin != "acme" || pe.Func != sdk.FuncIdentity || !strings.Contains(err.Error(), "panic") {
		t.Errorf("err = %v; want a *plugin.Error naming acme and identity", err)
	}
}

type panicky struct{ plain }

func (panicky) Identity(sdk.Claims, sdk.Claims) (sdk.Identity, error) { panic("claims went missing") }

// documents is a transport that keeps the input documents it carries.
type documents struct {
	recorder
	inputs []string
}

func (d *documents) Call(ctx context.Context, fn sdk.Function, input []byte) ([]byte, error) {
	d.inputs = append(d.inputs, string(input))
	return d.recorder.Call(ctx, fn, input)
}

// TestInputsHaveNoNull checks that absent settings, scopes, headers and claims
// cross as empty objects and arrays, as wit/README.md specifies.
func TestInputsHaveNoNull(t *testing.T) {
	ctx := context.Background()
	d := &documents{recorder: recorder{p: hooked{}}}
	p, err := New(ctx, "hooked", "test", d)
	if err != nil {
		t.Fatal(err)
	}
	p.Configure(ctx, nil, sdk.Client{ClientID: "cli"})
	p.Prepare(ctx, sdk.ExchangeTokenPoll, sdk.HTTPRequest{Method: "POST", URL: "https://idp/token"})
	p.Interpret(ctx, sdk.ExchangeTokenPoll, sdk.HTTPResponse{Status: 200})
	p.Identity(ctx, nil, nil)
	for _, in := range d.inputs {
		if strings.Contains(in, "null") {
			t.Errorf("input document with null: %s", in)
		}
	}
}

// replay is a transport whose plugin answers every call with the same bytes:
// whatever a broken or hostile plugin might send.
type replay struct{ out []byte }

func (r replay) Call(context.Context, sdk.Function, []byte) ([]byte, error) { return r.out, nil }
func (replay) Close(context.Context) error                                  { return nil }

// FuzzPluginOutput feeds arbitrary plugin output to every typed function:
// the host must never panic, only return values or errors naming the plugin.
func FuzzPluginOutput(f *testing.F) {
	for _, seed := range []string{
		`{"name":"x","contract_version":1,"hooks":["prepare","interpret"]}`,
		`{"ok":{"issuer":"https://idp"}}`, `{"err":[{"setting":"url","message":"bad"}]}`,
		`{"method":"POST","url":"https://idp/token","headers":[{"name":"a","value":"b"}],"body":"x=y"}`,
		`{"status":400,"body":"{\"error\":\"denied\"}"}`, `{"subject":"u","groups":["a",1,null]}`,
		`null`, `[]`, `"x"`, `{"contract_version":-1}`, `{"hooks":null}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		ctx := context.Background()
		p, err := New(ctx, "fuzz", "test", replay{out})
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Plugin != "fuzz" {
				t.Fatalf("New: %v is not a *plugin.Error naming the plugin", err)
			}
			// Describe failed or spoke another contract: force the typed
			// functions anyway, as a later call could.
			p = &Plugin{name: "fuzz", c: replay{out}, info: sdk.PluginInfo{Hooks: []sdk.Hook{sdk.HookPrepare, sdk.HookInterpret}}}
		}
		if _, _, err := p.Configure(ctx, nil, sdk.Client{}); err != nil && !strings.Contains(err.Error(), `plugin "fuzz"`) {
			t.Errorf("Configure: %v does not name the plugin", err)
		}
		p.Prepare(ctx, sdk.ExchangeTokenPoll, sdk.HTTPRequest{})
		p.Interpret(ctx, sdk.ExchangeTokenPoll, sdk.HTTPResponse{})
		p.Identity(ctx, nil, nil)
	})
}
