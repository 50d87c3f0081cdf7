package plugin

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
)

// recorder is a transport that answers from a provider in-process, through
// the contract's JSON dispatcher, and records which functions were called.
type recorder struct {
	p      sdk.Provider
	calls  []wire.Function
	closed bool
}

func (r *recorder) Call(_ context.Context, fn wire.Function, input []byte, keep func([]byte) error) error {
	r.calls = append(r.calls, fn)
	return keep(wire.Handle(r.p, fn, input))
}

func (r *recorder) Close(context.Context) error { r.closed = true; return nil }

// open describes the plugin behind t as New does for the Loader.
func open(name string, t Transport) (*Plugin, error) {
	return newPlugin(context.Background(), name, "test", t, DefaultCallTimeout, slog.New(slog.DiscardHandler))
}

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
	p, err := open("plain", r)
	if err != nil {
		t.Fatal(err)
	}
	gotReq, _ := p.Prepare(ctx, sdk.ExchangeTokenPoll, req)
	gotResp, _ := p.Interpret(ctx, sdk.ExchangeTokenPoll, resp)
	if gotReq.Body != req.Body || gotResp.Body != resp.Body || len(r.calls) != 1 {
		t.Errorf("a plugin without hooks was called %v and changed the exchange", r.calls)
	}

	r = &recorder{p: hooked{}}
	p, err = open("hooked", r)
	if err != nil {
		t.Fatal(err)
	}
	gotReq, _ = p.Prepare(ctx, sdk.ExchangeDeviceAuthorization, req)
	gotResp, _ = p.Interpret(ctx, sdk.ExchangeTokenPoll, resp)
	if gotReq.Body != "a=b&audience=api" || gotResp.Body != `{"error":"access_denied"}` {
		t.Errorf("hooks not applied: %q, %q", gotReq.Body, gotResp.Body)
	}
	if want := []wire.Function{wire.FuncDescribe, wire.FuncPrepare, wire.FuncInterpret}; len(r.calls) != 3 || r.calls[1] != want[1] || r.calls[2] != want[2] {
		t.Errorf("calls %v, want %v", r.calls, want)
	}
}

func TestConfigureErrors(t *testing.T) {
	ctx := context.Background()
	p, err := open("plain", &recorder{p: plain{}})
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

func (f *future) Call(ctx context.Context, fn wire.Function, input []byte, keep func([]byte) error) error {
	return f.recorder.Call(ctx, fn, input, func(out []byte) error {
		if fn == wire.FuncDescribe {
			out = bytes.Replace(out, []byte(`"contract_version":1`), []byte(`"contract_version":2`), 1)
		}
		return keep(out)
	})
}

func TestContractVersionRefused(t *testing.T) {
	f := &future{recorder{p: plain{}}}
	_, err := open("acme", f)
	var ce *wire.ContractError
	if !errors.As(err, &ce) || ce.Version != "2" || !strings.HasPrefix(err.Error(), `plugin "acme": speaks contract version 2: this idplug speaks contract version 1`) {
		t.Fatalf("err = %v; want a contract version error naming the plugin and the versions", err)
	}
	if !f.closed {
		t.Error("the refused plugin's transport was not closed")
	}
}

func TestErrorsNameThePlugin(t *testing.T) {
	ctx := context.Background()
	p, err := open("acme", &recorder{p: panicky{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Identity(ctx, nil, nil, nil)
	var pe *Error
	if !errors.As(err, &pe) || pe.Plugin != "acme" || pe.Func != wire.FuncIdentity || !strings.Contains(err.Error(), "panic") {
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

func (d *documents) Call(ctx context.Context, fn wire.Function, input []byte, keep func([]byte) error) error {
	d.inputs = append(d.inputs, string(input))
	return d.recorder.Call(ctx, fn, input, keep)
}

// TestInputsHaveNoNull checks that absent settings, scopes, headers and claims
// cross as empty objects and arrays, as wit/README.md specifies.
func TestInputsHaveNoNull(t *testing.T) {
	ctx := context.Background()
	d := &documents{recorder: recorder{p: hooked{}}}
	p, err := open("hooked", d)
	if err != nil {
		t.Fatal(err)
	}
	p.Configure(ctx, nil, sdk.Client{ClientID: "cli"})
	p.Prepare(ctx, sdk.ExchangeTokenPoll, sdk.HTTPRequest{Method: "POST", URL: "https://idp/token"})
	p.Interpret(ctx, sdk.ExchangeTokenPoll, sdk.HTTPResponse{Status: 200})
	p.Identity(ctx, nil, nil, nil)
	for _, in := range d.inputs {
		if strings.Contains(in, "null") {
			t.Errorf("input document with null: %s", in)
		}
	}
}

// replay is a transport whose plugin answers every call with the same bytes:
// whatever a broken or hostile plugin might send.
type replay struct{ out []byte }

func (r replay) Call(_ context.Context, _ wire.Function, _ []byte, keep func([]byte) error) error {
	return keep(r.out)
}
func (replay) Close(context.Context) error { return nil }

// FuzzPluginOutput feeds arbitrary plugin output to every typed function:
// the host must never panic, only return values or errors naming the plugin.
func FuzzPluginOutput(f *testing.F) {
	for _, seed := range []string{
		`{"ok":{"name":"x","contract_version":1,"hooks":["prepare","interpret"]}}`,
		`{"ok":{"ok":{"issuer":"https://idp"}}}`, `{"ok":{"err":[{"setting":"url","message":"bad"}]}}`,
		`{"ok":{"method":"POST","url":"https://idp/token","headers":[{"name":"a","value":"b"}],"body":"x=y"}}`,
		`{"ok":{"status":400,"body":"{\"error\":\"denied\"}"}}`, `{"ok":{"subject":"u","groups":["a",1,null]}}`,
		`{"error":"boom\nstack"}`, `{"ok":null}`, `{}`,
		`null`, `[]`, `"x"`, `{"ok":{"contract_version":-1}}`, `{"ok":{"hooks":null}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		ctx := context.Background()
		p, err := open("fuzz", replay{out})
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Plugin != "fuzz" {
				t.Fatalf("New: %v is not a *plugin.Error naming the plugin", err)
			}
			// Describe failed or spoke another contract: force the typed
			// functions anyway, as a later call could.
			p = &Plugin{name: "fuzz", t: replay{out}, timeout: DefaultCallTimeout, log: slog.New(slog.DiscardHandler),
				info: sdk.PluginInfo{Hooks: []sdk.Hook{sdk.HookPrepare, sdk.HookInterpret}}}
		}
		if _, _, err := p.Configure(ctx, nil, sdk.Client{}); err != nil && !strings.Contains(err.Error(), `plugin "fuzz"`) {
			t.Errorf("Configure: %v does not name the plugin", err)
		}
		p.Prepare(ctx, sdk.ExchangeTokenPoll, sdk.HTTPRequest{})
		p.Interpret(ctx, sdk.ExchangeTokenPoll, sdk.HTTPResponse{})
		p.Identity(ctx, nil, nil, nil)
	})
}

// misbehaving is a provider linked in-process whose configure misbehaves as
// settings["do"] says: panic, or block until release is closed.
type misbehaving struct{ release chan struct{} }

func (misbehaving) Describe() sdk.PluginInfo { return sdk.PluginInfo{Name: "x"} }

func (m misbehaving) Configure(settings map[string]string, _ sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	switch settings["do"] {
	case "panic":
		panic("boom")
	case "block":
		<-m.release
	}
	return sdk.ProviderSpec{Issuer: "https://x.example.com"}, nil
}

// loadMisbehaving returns provider x, misbehaving, loaded in-process by a
// Loader with call deadline timeout.
func loadMisbehaving(t *testing.T, timeout time.Duration) (*Loader, *Plugin) {
	t.Helper()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // ends a call that blocks
	l := NewLoader(Options{Providers: []sdk.Provider{misbehaving{release}}, CallTimeout: timeout})
	t.Cleanup(func() { l.Close(context.Background()) })
	p, err := l.Load(t.Context(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if p.Source() != "built-in" {
		t.Errorf("source %q, want built-in", p.Source())
	}
	return l, p
}

// configureDo calls configure on p with settings["do"] = do.
func configureDo(ctx context.Context, p *Plugin, do string) error {
	_, _, err := p.Configure(ctx, map[string]string{"do": do}, sdk.Client{ClientID: "cli"})
	return err
}

func TestInProcessPanic(t *testing.T) {
	_, p := loadMisbehaving(t, 0)
	err := configureDo(t.Context(), p, "panic")
	var pe *Error
	if want := `plugin "x": configure: panic in configure: boom`; !errors.As(err, &pe) || pe.Plugin != "x" || pe.Func != wire.FuncConfigure || err.Error() != want {
		t.Errorf("error = %v, want %s (the stack trace goes to the debug log)", err, want)
	}
	if err := configureDo(t.Context(), p, ""); err != nil {
		t.Errorf("the next call: %v", err)
	}
}

func TestInProcessDeadline(t *testing.T) {
	_, p := loadMisbehaving(t, 100*time.Millisecond)
	begin := time.Now()
	err := configureDo(t.Context(), p, "block")
	if want := `plugin "x": configure: exceeded the 100ms call deadline; the plugin was stopped`; err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want %s…", err, want)
	}
	if took := time.Since(begin); took > time.Second {
		t.Errorf("the call returned after %v", took)
	}
	if err := configureDo(t.Context(), p, ""); err != nil {
		t.Errorf("the next call: %v", err)
	}
}

func TestInProcessClosed(t *testing.T) {
	l, p := loadMisbehaving(t, 0)
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	err := configureDo(t.Context(), p, "")
	if want := `plugin "x": configure: the plugin was closed`; !errors.Is(err, ErrClosed) || err.Error() != want {
		t.Errorf("a call after Close: %v, want %s", err, want)
	}
}
