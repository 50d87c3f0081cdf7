package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// reply is one scripted answer of the token endpoint.
type reply struct {
	status int
	body   string
	drop   bool // close the connection without answering
}

func pending(status int) reply {
	return reply{status: status, body: `{"error":"authorization_pending"}`}
}

var (
	granted  = reply{status: 200, body: `{"access_token":"AT","token_type":"Bearer","expires_in":"3600","refresh_token":"RT","id_token":"IDT"}`}
	slowDown = reply{status: 400, body: `{"error":"slow_down"}`}
	down     = reply{status: 503, body: `<html>maintenance</html>`}
)

func TestPoll(t *testing.T) {
	const device = `{"device_code":"DC","user_code":"ABCD-EFGH","verification_uri":"https://idp.example/activate","expires_in":600,"interval":5}`
	s := time.Second
	tests := []struct {
		name    string
		device  string  // device authorization response
		replies []reply // token endpoint answers, in order; the last repeats
		cancel  bool    // cancel the context at the first event
		want    []time.Duration
		events  []PollEventKind
		wantErr error // nil: a token; else matched with errors.Is
		code    string
	}{{
		name:    "pending then success",
		device:  device,
		replies: []reply{pending(400), pending(403), pending(200), granted},
		want:    []time.Duration{5 * s, 10 * s, 15 * s, 20 * s},
		events:  []PollEventKind{PollPending, PollPending, PollPending, PollAuthorized},
	}, {
		name:    "slow_down twice",
		device:  device,
		replies: []reply{slowDown, slowDown, pending(400), granted},
		want:    []time.Duration{5 * s, 15 * s, 30 * s, 45 * s},
		events:  []PollEventKind{PollSlowDown, PollSlowDown, PollPending, PollAuthorized},
	}, {
		name:    "slow_down naming a longer interval (GitHub) is adopted, a shorter one is not",
		device:  device,
		replies: []reply{{status: 200, body: `{"error":"slow_down","interval":30}`}, {status: 200, body: `{"error":"slow_down","interval":10}`}, pending(200), granted},
		want:    []time.Duration{5 * s, 35 * s, 70 * s, 105 * s},
		events:  []PollEventKind{PollSlowDown, PollSlowDown, PollPending, PollAuthorized},
	}, {
		name:    "missing interval means 5 s",
		device:  `{"device_code":"DC","user_code":"U","verification_uri":"https://idp.example/a","expires_in":"600"}`,
		replies: []reply{pending(400), granted},
		want:    []time.Duration{5 * s, 10 * s},
		events:  []PollEventKind{PollPending, PollAuthorized},
	}, {
		name:    "expiry by lifetime",
		device:  `{"device_code":"DC","user_code":"U","verification_uri":"https://idp.example/a","expires_in":12,"interval":5}`,
		replies: []reply{pending(400)},
		want:    []time.Duration{5 * s, 10 * s},
		events:  []PollEventKind{PollPending, PollPending},
		wantErr: ErrExpired,
	}, {
		name:    "missing expires_in is capped",
		device:  `{"device_code":"DC","user_code":"U","verification_uri":"https://idp.example/a","interval":300}`,
		replies: []reply{pending(400)},
		want:    []time.Duration{300 * s, 600 * s},
		events:  []PollEventKind{PollPending, PollPending},
		wantErr: ErrExpired,
	}, {
		name:    "expired_token from the provider",
		device:  device,
		replies: []reply{pending(400), {status: 400, body: `{"error":"expired_token"}`}},
		want:    []time.Duration{5 * s, 10 * s},
		events:  []PollEventKind{PollPending},
		wantErr: ErrExpired,
		code:    CodeExpiredToken,
	}, {
		name:    "access_denied",
		device:  device,
		replies: []reply{{status: 403, body: `{"error":"access_denied","error_description":"user said no"}`}},
		want:    []time.Duration{5 * s},
		wantErr: ErrDenied,
		code:    CodeAccessDenied,
	}, {
		name:    "other OAuth error",
		device:  device,
		replies: []reply{{status: 401, body: `{"error":"invalid_client"}`}},
		want:    []time.Duration{5 * s},
		code:    CodeInvalidClient,
	}, {
		name:    "503 twice then success",
		device:  device,
		replies: []reply{down, down, granted},
		want:    []time.Duration{5 * s, 10 * s, 20 * s},
		events:  []PollEventKind{PollRetrying, PollRetrying, PollAuthorized},
	}, {
		name:    "backoff doubles up to the cap, then resets",
		device:  device,
		replies: []reply{down, down, down, down, down, pending(400), down, granted},
		want:    []time.Duration{5 * s, 10 * s, 20 * s, 40 * s, 80 * s, 140 * s, 145 * s, 150 * s},
		events: []PollEventKind{PollRetrying, PollRetrying, PollRetrying, PollRetrying, PollRetrying,
			PollPending, PollRetrying, PollAuthorized},
	}, {
		name:    "network error then success",
		device:  device,
		replies: []reply{{drop: true}, granted},
		want:    []time.Duration{5 * s, 10 * s},
		events:  []PollEventKind{PollRetrying, PollAuthorized},
	}, {
		name:    "429 without an OAuth error then success",
		device:  device,
		replies: []reply{{status: 429}, {status: 500, body: `{"error":"temporarily_unavailable"}`}, granted},
		want:    []time.Duration{5 * s, 10 * s, 20 * s},
		events:  []PollEventKind{PollRetrying, PollRetrying, PollAuthorized},
	}, {
		name:    "context cancelled",
		device:  device,
		replies: []reply{pending(400)},
		cancel:  true,
		want:    []time.Duration{5 * s},
		events:  []PollEventKind{PollPending},
		wantErr: context.Canceled,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			var (
				mu    sync.Mutex
				polls []time.Duration
			)
			base := newServer(t, map[string]http.HandlerFunc{
				"POST /device": func(w http.ResponseWriter, r *http.Request) {
					fmt.Fprint(w, tt.device)
				},
				"POST /token": func(w http.ResponseWriter, r *http.Request) {
					if r.FormValue("grant_type") != GrantTypeDeviceCode || r.FormValue("device_code") != "DC" || r.FormValue("client_id") != "cli" {
						t.Errorf("poll form = %v", r.Form)
					}
					mu.Lock()
					polls = append(polls, clock.since())
					rp := tt.replies[min(len(polls), len(tt.replies))-1]
					mu.Unlock()
					if rp.drop {
						conn, _, _ := w.(http.Hijacker).Hijack()
						conn.Close()
						return
					}
					w.WriteHeader(rp.status)
					fmt.Fprint(w, rp.body)
				},
			})
			c := newClient(t, base, clock, nil)
			ctx, cancel := context.WithCancel(background(t))
			defer cancel()
			da, err := c.DeviceAuth(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var events []PollEventKind
			tok, err := c.Poll(ctx, da, func(ev PollEvent) {
				events = append(events, ev.Kind)
				if ev.Kind != PollAuthorized && ev.Next.Sub(t0) <= clock.since() {
					t.Errorf("event %s: next poll %v is not in the future", ev.Kind, ev.Next.Sub(t0))
				}
				if ev.Kind == PollRetrying && ev.Err == nil {
					t.Error("retrying event without its error")
				}
				if tt.cancel {
					cancel()
				}
			})
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(tt.want, polls); diff != "" {
				t.Errorf("poll times (one POST each) (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.events, events); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			switch {
			case tt.wantErr == nil && tt.code == "":
				if err != nil {
					t.Fatalf("Poll: %v", err)
				}
				if tok.AccessToken != "AT" || tok.RefreshToken != "RT" || IDToken(tok) != "IDT" || !tok.Expiry.Equal(t0.Add(tt.want[len(tt.want)-1]+time.Hour)) {
					t.Errorf("token = %+v, id_token %q", tok, IDToken(tok))
				}
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("Poll error = %v, want %v", err, tt.wantErr)
			}
			if tt.code != "" {
				var oe *OAuthError
				if !errors.As(err, &oe) || oe.Code != tt.code {
					t.Errorf("Poll error = %v, want OAuth error %s", err, tt.code)
				}
			}
		})
	}
}

func TestPollEventTimes(t *testing.T) {
	clock := newFakeClock()
	base := newServer(t, map[string]http.HandlerFunc{
		"POST /token": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"slow_down"}`)
		},
	})
	c := newClient(t, base, clock, nil)
	da := oauthDevice(clock.Now().Add(40*time.Second), 5)
	var got []PollEvent
	_, err := c.Poll(background(t), da, func(ev PollEvent) { got = append(got, ev) })
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("Poll error = %v, want ErrExpired", err)
	}
	s := time.Second
	want := []PollEvent{
		{Kind: PollSlowDown, Interval: 10 * s, Next: t0.Add(15 * s), Remaining: 35 * s},
		{Kind: PollSlowDown, Interval: 15 * s, Next: t0.Add(30 * s), Remaining: 25 * s},
		{Kind: PollSlowDown, Interval: 20 * s, Next: t0.Add(50 * s), Remaining: 10 * s},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
