package engine

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"

	"github.com/idplug/idplug/internal/edge"
	"github.com/idplug/idplug/sdk"
)

// queryHooks moves a form body into the query string, as the Cognito
// plugin does for the device-grant service.
type queryHooks struct{}

func (queryHooks) Prepare(_ context.Context, _ sdk.Exchange, req sdk.HTTPRequest) (sdk.HTTPRequest, error) {
	u, _ := url.Parse(req.URL)
	u.RawQuery, req.URL, req.Body = req.Body, "", ""
	req.URL = u.String()
	return req, nil
}

func (queryHooks) Interpret(_ context.Context, _ sdk.Exchange, resp sdk.HTTPResponse) (sdk.HTTPResponse, error) {
	return resp, nil
}

// TestNetErrorHidesQuerySecrets: a poll whose plugin put the device code in
// the query string fails without an answer, then is redirected away; neither
// the retrying event, the debug log nor the final error shows the code.
func TestNetErrorHidesQuerySecrets(t *testing.T) {
	const deviceCode = "device-CODE-in-the-query"
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer foreign.Close()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	polls := 0
	base := newServer(t, map[string]http.HandlerFunc{
		"POST /token": func(w http.ResponseWriter, r *http.Request) {
			polls++
			if polls == 1 {
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return
			}
			http.Redirect(w, r, foreign.URL+"/token?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
		},
	})
	c := newClient(t, base, newFakeClock(), func(cfg *Config) {
		cfg.Hooks = queryHooks{}
		cfg.Logger = log
	})
	da := oauthDevice(t0.Add(time.Hour), 5)
	da.DeviceCode = deviceCode
	var msgs []string
	_, err := c.Poll(background(t), da, func(ev PollEvent) {
		if ev.Err != nil {
			msgs = append(msgs, ev.Err.Error())
		}
	})
	if !errors.Is(err, edge.ErrNotAllowed) {
		t.Fatalf("Poll error = %v, want the redirect refused", err)
	}
	if len(msgs) == 0 {
		t.Fatal("no retrying event")
	}
	msgs = append(msgs, err.Error(), buf.String())
	for _, m := range msgs {
		if strings.Contains(m, deviceCode) {
			t.Errorf("the device code shows in %q", m)
		}
	}
}

// TestOAuthErrorHidesSecrets: a provider whose error_description echoes what
// it was sent, or carries terminal control sequences, does not put them in
// the error.
func TestOAuthErrorHidesSecrets(t *testing.T) {
	const (
		secret  = "client-SECRET-123"
		refresh = "refresh-TOKEN-123"
		device  = "device-CODE-12345"
		access  = "access-TOKEN-1234"
		jwt     = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl"
		setting = "setting-SECRET-12" // a secret setting a plugin sends along
	)
	echo := func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		var sent []string
		for _, vs := range r.Form {
			sent = append(sent, vs...)
		}
		sent = append(sent, r.Header.Get("Authorization"))
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"error":"invalid_grant","error_description":"rejected %s \u001b[2J\u009b31m %s","error_uri":"https://idp.example/e?t=%s"}`,
			strings.Join(sent, " "), jwt, url.QueryEscape(strings.Join(sent, " ")))
	}
	base := newServer(t, map[string]http.HandlerFunc{
		"POST /token":   echo,
		"POST /revoke":  echo,
		"GET /userinfo": echo,
	})
	c := newClient(t, base, newFakeClock(), func(cfg *Config) {
		cfg.Spec.AuthStyle = sdk.AuthPost
		cfg.Client.ClientSecret = secret
		cfg.Secrets = []string{setting}
		for _, ex := range []sdk.Exchange{sdk.ExchangeRefresh, sdk.ExchangeTokenPoll, sdk.ExchangeRevocation} {
			cfg.Spec.ExtraParams = append(cfg.Spec.ExtraParams, sdk.Param{Exchange: ex, Name: "api_key", Value: setting})
		}
	})
	ctx := background(t)
	var errs []error
	_, err := c.Refresh(ctx, refresh)
	errs = append(errs, err)
	da := oauthDevice(t0.Add(time.Hour), 5)
	da.DeviceCode = device
	_, err = c.Poll(ctx, da, nil)
	errs = append(errs, err)
	errs = append(errs, c.Revoke(ctx, access, "access_token"))
	_, err = c.Userinfo(ctx, access)
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("no error")
		}
		msg := err.Error()
		var oe *OAuthError
		if errors.As(err, &oe) {
			msg += oe.Description + oe.URI
		}
		for _, s := range []string{secret, refresh, device, access, jwt, setting, "\x1b", "\u009b"} {
			if strings.Contains(msg, s) {
				t.Errorf("error shows %q: %q", s, msg)
			}
		}
		if !strings.Contains(msg, "rejected") {
			t.Errorf("error lost the description: %q", msg)
		}
	}
}

func TestOAuthErrorLength(t *testing.T) {
	err := answerError(sdk.ExchangeRefresh, sdk.HTTPResponse{Status: 400,
		Body: `{"error":"invalid_grant","error_description":"` + strings.Repeat("x", 1<<16) + `"}`})
	if n := len(err.Error()); n > 1024 {
		t.Errorf("error of %d bytes", n)
	}
}

// TestVerifyIDTokenAuthorizedParty: OpenID Connect Core 1.0 §3.1.3.7 items
// 4 and 5: an azp must be the client, and a token for several audiences
// must name the client in azp.
func TestVerifyIDTokenAuthorizedParty(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: priv.Public(), KeyID: "k1", Algorithm: oidc.ES256}}}
	base := newServer(t, map[string]http.HandlerFunc{"GET /keys": keys.ServeHTTP})
	exp := t0.Add(time.Hour).Unix()
	c := newClient(t, base, newFakeClock(), nil)
	tests := []struct {
		name, claims string
		wantErr      bool
	}{
		{name: "single audience, no azp", claims: `"aud":"cli"`},
		{name: "azp is the client", claims: `"aud":["cli","api"],"azp":"cli"`},
		{name: "azp is another client", claims: `"aud":"cli","azp":"other"`, wantErr: true},
		{name: "several audiences, no azp", claims: `"aud":["cli","other"]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := oidctest.SignIDToken(priv, "k1", oidc.ES256, fmt.Sprintf(`{"iss":%q,%s,"sub":"u1","exp":%d}`, base, tt.claims, exp))
			_, err := c.VerifyIDToken(background(t), raw)
			if (err != nil) != tt.wantErr {
				t.Errorf("VerifyIDToken error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
