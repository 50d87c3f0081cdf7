package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/edge"
	"github.com/idplug/idplug/sdk"
)

// rewriter is a plugin whose hooks rewrite every request and answer with
// prepare and interpret, when set.
type rewriter struct {
	prepare   func(*sdk.HTTPRequest)
	interpret func(*sdk.HTTPResponse)
}

func (h rewriter) Prepare(_ context.Context, _ sdk.Exchange, req sdk.HTTPRequest) (sdk.HTTPRequest, error) {
	if h.prepare != nil {
		h.prepare(&req)
	}
	return req, nil
}

func (h rewriter) Interpret(_ context.Context, _ sdk.Exchange, resp sdk.HTTPResponse) (sdk.HTTPResponse, error) {
	if h.interpret != nil {
		h.interpret(&resp)
	}
	return resp, nil
}

// checkHookError fails t unless err is plugin acme's *HookError of hook on
// exchange ex whose message starts with want.
func checkHookError(t *testing.T, err error, hook sdk.Hook, ex sdk.Exchange, want string) {
	t.Helper()
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v\nwant %s…", err, want)
	}
	var he *HookError
	if !errors.As(err, &he) || he.Plugin != "acme" || he.Hook != hook || he.Exchange != ex {
		t.Errorf("err = %#v, want plugin acme's *HookError of %s on %s", err, hook, ex)
	}
}

// TestPrepareOutputChecked: a request prepare rewrote into one the engine
// must not send is never sent, and the error names the plugin and the hook,
// not the provider.
func TestPrepareOutputChecked(t *testing.T) {
	var hits atomic.Int32
	count := func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }
	base := newServer(t, map[string]http.HandlerFunc{"/": count})
	foreign := httptest.NewServer(http.HandlerFunc(count))
	t.Cleanup(foreign.Close)
	for _, tc := range []struct {
		name    string
		prepare func(*sdk.HTTPRequest)
		want    string // after `plugin "acme": prepare (device_authorization): `
	}{
		{"file URL", func(r *sdk.HTTPRequest) { r.URL = "file:///etc/passwd" },
			`returned a request to "file:///etc/passwd", which is not an https URL (http:// only on a loopback host); the plugin is broken, report it to its author`},
		{"clear text", func(r *sdk.HTTPRequest) { r.URL = "http://idp.example/device" },
			`returned a request to "http://idp.example/device", which is not an https URL`},
		{"CR LF in a header value", func(r *sdk.HTTPRequest) {
			r.Headers = append(r.Headers, sdk.Header{Name: "X-Tenant", Value: "t1\r\nX-Injected: yes"})
		}, `returned a request whose header "X-Tenant" has a control character (such as CR or LF) in its value; the plugin is broken, report it to its author`},
		{"CR LF in a header name", func(r *sdk.HTTPRequest) {
			r.Headers = append(r.Headers, sdk.Header{Name: "X-Tenant: t1\r\nX-Injected", Value: "yes"})
		}, `returned a request with the invalid header name "X-Tenant: t1\r\nX-Injected"`},
		{"header changed in place", func(r *sdk.HTTPRequest) { r.Headers[0].Value = "text/plain\n" },
			`returned a request whose header "Content-Type" has a control character`},
		{"method", func(r *sdk.HTTPRequest) { r.Method = "POST /x HTTP/1.1\r\n" },
			`returned a request with the invalid method "POST /x HTTP/1.1\r\n"`},
		{"origin not allowed", func(r *sdk.HTTPRequest) { r.URL = foreign.URL + "/device" },
			`moved the request from ` + originOf(base) + ` to ` + originOf(foreign.URL) + `, and the host refused to send it: Post "` + foreign.URL + `/device": origin not allowed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits.Store(0)
			c := newClient(t, base, newFakeClock(), func(cfg *Config) {
				cfg.Provider, cfg.Hooks = "acme", rewriter{prepare: tc.prepare}
			})
			_, err := c.DeviceAuth(background(t))
			checkHookError(t, err, sdk.HookPrepare, sdk.ExchangeDeviceAuthorization, `plugin "acme": prepare (device_authorization): `+tc.want)
			if msg := err.Error(); strings.Contains(msg, "the provider answered") || strings.Contains(msg, "no answer from the provider") || strings.Contains(msg, "X-Injected: yes") {
				t.Errorf("err = %s; it blames the provider or quotes a header's value", msg)
			}
			if tc.name == "origin not allowed" && !errors.Is(err, edge.ErrNotAllowed) {
				t.Errorf("err = %v, want it to match edge.ErrNotAllowed", err)
			}
			if n := hits.Load(); n != 0 {
				t.Errorf("%d requests were sent", n)
			}
		})
	}
}

// TestPrepareErrorOnPollIsFinal: a poll whose request prepare broke fails
// at once, naming the plugin, instead of being retried as a provider's
// transient fault until the code expires.
func TestPrepareErrorOnPollIsFinal(t *testing.T) {
	base := newServer(t, map[string]http.HandlerFunc{"/": func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("%s %s was sent", r.Method, r.URL)
	}})
	c := newClient(t, base, newFakeClock(), func(cfg *Config) {
		cfg.Provider = "acme"
		cfg.Hooks = rewriter{prepare: func(r *sdk.HTTPRequest) {
			r.Headers = append(r.Headers, sdk.Header{Name: "X-Tenant", Value: "t1\r\n"})
		}}
	})
	retries := 0
	_, err := c.Poll(background(t), oauthDevice(t0.Add(time.Hour), 5), func(ev PollEvent) {
		if ev.Kind == PollRetrying {
			retries++
		}
	})
	checkHookError(t, err, sdk.HookPrepare, sdk.ExchangeTokenPoll, `plugin "acme": prepare (token_poll): returned a request whose header "X-Tenant"`)
	if retries != 0 {
		t.Errorf("%d retries", retries)
	}
}

// TestPrepareHidesSecrets: a URL prepare returned is quoted without the
// profile's secret settings.
func TestPrepareHidesSecrets(t *testing.T) {
	const secret = "api-KEY-0123456789"
	c := newClient(t, "http://127.0.0.1:1", newFakeClock(), func(cfg *Config) {
		cfg.Provider, cfg.Secrets = "acme", []string{secret}
		cfg.Hooks = rewriter{prepare: func(r *sdk.HTTPRequest) { r.URL = "http://idp.example/device?key=" + secret }}
	})
	_, err := c.DeviceAuth(background(t))
	checkHookError(t, err, sdk.HookPrepare, sdk.ExchangeDeviceAuthorization,
		`plugin "acme": prepare (device_authorization): returned a request to "http://idp.example/device?key=[redacted]"`)
	if strings.Contains(err.Error(), secret) {
		t.Errorf("err = %v shows the secret", err)
	}
}

// TestInterpretOutputChecked: an answer interpret rewrote into one the
// engine cannot use is the plugin's error, naming the hook and the status
// the provider really sent; an answer the provider itself got wrong stays
// the provider's.
func TestInterpretOutputChecked(t *testing.T) {
	const (
		device = `{"device_code":"DC","user_code":"ABCD-EFGH","verification_uri":"https://idp.example/activate","expires_in":600,"interval":5}`
		token  = `{"access_token":"AT","token_type":"Bearer","expires_in":3600}`
	)
	for _, tc := range []struct {
		name      string
		ex        sdk.Exchange
		status    int    // what the provider answers
		body      string // what the provider answers
		interpret func(*sdk.HTTPResponse)
		want      string // the error's beginning: the plugin's, or the provider's
		transient bool   // whether a poll would be retried
	}{
		{name: "token 200 into 400", ex: sdk.ExchangeTokenPoll, status: 200, body: token,
			interpret: func(r *sdk.HTTPResponse) { r.Status, r.Body = 400, "<h1>Bad Request</h1>" },
			want:      `plugin "acme": interpret (token_poll): turned the provider's answer (HTTP 200 OK) into HTTP 400 Bad Request without an OAuth error`},
		{name: "token 200 into 503", ex: sdk.ExchangeTokenPoll, status: 200, body: token,
			interpret: func(r *sdk.HTTPResponse) { r.Status = 503 },
			want:      `plugin "acme": interpret (token_poll): turned the provider's answer (HTTP 200 OK) into HTTP 503 Service Unavailable without an OAuth error`,
			transient: true},
		{name: "token without access_token", ex: sdk.ExchangeTokenPoll, status: 200, body: token,
			interpret: func(r *sdk.HTTPResponse) { r.Body = strings.Replace(r.Body, "access_token", "accessToken", 1) },
			want:      `plugin "acme": interpret (token_poll): turned the provider's answer (HTTP 200 OK) into HTTP 200 OK with no access_token; the plugin is broken, report it to its author`},
		{name: "refresh into malformed JSON", ex: sdk.ExchangeRefresh, status: 200, body: token,
			interpret: func(r *sdk.HTTPResponse) { r.Body = "access_token=AT" },
			want:      `plugin "acme": interpret (refresh): turned the provider's answer (HTTP 200 OK) into HTTP 200 OK with malformed JSON`},
		{name: "javascript verification_uri", ex: sdk.ExchangeDeviceAuthorization, status: 200, body: device,
			interpret: func(r *sdk.HTTPResponse) {
				r.Body = strings.Replace(r.Body, "https://idp.example/activate", "javascript:alert(1)", 1)
			},
			want: `plugin "acme": interpret (device_authorization): turned the provider's answer (HTTP 200 OK) into HTTP 200 OK with no https verification_uri (http only on a loopback host); the plugin is broken, report it to its author`},
		{name: "user_code with control characters", ex: sdk.ExchangeDeviceAuthorization, status: 200, body: device,
			interpret: func(r *sdk.HTTPResponse) { r.Body = strings.Replace(r.Body, "ABCD-EFGH", `AB\u001b[2JCD`, 1) },
			want:      `plugin "acme": interpret (device_authorization): turned the provider's answer (HTTP 200 OK) into HTTP 200 OK with a user_code with control characters; the plugin is broken`},
		{name: "the provider's 502 stays the provider's", ex: sdk.ExchangeTokenPoll, status: 502, body: "<h1>Bad Gateway</h1>",
			interpret: func(r *sdk.HTTPResponse) { r.Body = strings.ToLower(r.Body) },
			want:      `token_poll: the provider answered 502 Bad Gateway without an OAuth error`, transient: true},
		{name: "the provider's malformed JSON stays the provider's", ex: sdk.ExchangeDeviceAuthorization, status: 200, body: "<html>",
			interpret: func(r *sdk.HTTPResponse) { r.Headers = append(r.Headers, sdk.Header{Name: "X-Seen", Value: "1"}) },
			want:      `device_authorization: the provider answered 200 OK with malformed JSON`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer := func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}
			base := newServer(t, map[string]http.HandlerFunc{"POST /device": answer, "POST /token": answer})
			c := newClient(t, base, newFakeClock(), func(cfg *Config) {
				cfg.Provider, cfg.Hooks = "acme", rewriter{interpret: tc.interpret}
			})
			var err error
			switch tc.ex {
			case sdk.ExchangeDeviceAuthorization:
				_, err = c.DeviceAuth(background(t))
			case sdk.ExchangeTokenPoll:
				_, err = c.pollOnce(background(t), "DC")
			case sdk.ExchangeRefresh:
				_, err = c.Refresh(background(t), "RT")
			}
			if !strings.HasPrefix(tc.want, "plugin") {
				if err == nil || !strings.HasPrefix(err.Error(), tc.want) || errors.As(err, new(*HookError)) {
					t.Errorf("err = %v, want the provider's %s", err, tc.want)
				}
			} else {
				checkHookError(t, err, sdk.HookInterpret, tc.ex, tc.want)
				if strings.Contains(err.Error(), "the provider answered") {
					t.Errorf("err = %v; it says the provider answered what it did not", err)
				}
			}
			if got := transient(err); got != tc.transient {
				t.Errorf("transient = %v, want %v", got, tc.transient)
			}
		})
	}
}
