package engine

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"
	"github.com/google/go-cmp/cmp"

	"github.com/idplug/idplug/sdk"
)

func TestClientAuthentication(t *testing.T) {
	tests := []struct {
		style    sdk.AuthStyle
		secret   string
		wantForm url.Values
		wantUser string // decoded Basic user and password, "" for none
		wantPass string
	}{
		{style: sdk.AuthNone, wantForm: url.Values{"client_id": {"c i"}}},
		{style: sdk.AuthPost, secret: "s&p", wantForm: url.Values{"client_id": {"c i"}, "client_secret": {"s&p"}}},
		// RFC 6749 §2.3.1: form-urlencoded, then Basic.
		{style: sdk.AuthBasic, secret: "s&p", wantForm: url.Values{}, wantUser: "c+i", wantPass: "s%26p"},
		// No style from the plugin: post with a client_secret, else none.
		{style: "", secret: "s&p", wantForm: url.Values{"client_id": {"c i"}, "client_secret": {"s&p"}}},
		{style: "", wantForm: url.Values{"client_id": {"c i"}}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q with secret %q", tt.style, tt.secret), func(t *testing.T) {
			base := newServer(t, map[string]http.HandlerFunc{
				"POST /token": func(w http.ResponseWriter, r *http.Request) {
					r.ParseForm()
					form := url.Values{}
					for _, k := range []string{"client_id", "client_secret"} {
						if v, ok := r.PostForm[k]; ok {
							form[k] = v
						}
					}
					if diff := cmp.Diff(tt.wantForm, form); diff != "" {
						t.Errorf("client credentials in the form (-want +got):\n%s", diff)
					}
					user, pass, _ := r.BasicAuth()
					if user != tt.wantUser || pass != tt.wantPass {
						t.Errorf("Basic = %q:%q, want %q:%q", user, pass, tt.wantUser, tt.wantPass)
					}
					fmt.Fprint(w, `{"access_token":"AT2","token_type":"Bearer"}`)
				},
			})
			c := newClient(t, base, newFakeClock(), func(cfg *Config) {
				cfg.Spec.AuthStyle = tt.style
				cfg.Client = sdk.Client{ClientID: "c i", ClientSecret: tt.secret}
			})
			if _, err := c.Refresh(background(t), "RT"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConnectErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want []string // all in the error
	}{
		{"no client_id", func(c *Config) { c.Client.ClientID = "" }, []string{"set client_id"}},
		{"no token endpoint", func(c *Config) { c.Spec.Endpoints.Token = "" },
			[]string{`provider "acme" names no device authorization or token endpoint`, "RFC 8628"}},
		{"no device authorization endpoint", func(c *Config) { c.Spec.Endpoints.DeviceAuthorization = "" },
			[]string{`provider "acme" names no device authorization or token endpoint: the identity provider may not support the device grant (RFC 8628)`}},
		{"basic without secret", func(c *Config) { c.Spec.AuthStyle = sdk.AuthBasic }, []string{`provider "acme"`, "set client_secret"}},
		{"post without secret", func(c *Config) { c.Spec.AuthStyle = sdk.AuthPost }, []string{`provider "acme"`, "set client_secret"}},
		{"none with a secret", func(c *Config) { c.Spec.AuthStyle = sdk.AuthNone; c.Client.ClientSecret = "s" },
			[]string{`provider "acme"`, "remove client_secret"}},
		{"unknown style", func(c *Config) { c.Spec.AuthStyle = "jwt" }, []string{`plugin "acme"`, "none, basic, post"}},
		{"http endpoint off loopback", func(c *Config) { c.Spec.Endpoints.Token = "http://idp.example/token" },
			[]string{`plugin "acme" returned an unusable endpoint`, "token_endpoint", "http://idp.example/token", "loopback"}},
		{"file URL", func(c *Config) { c.Spec.Endpoints.JWKS = "file:///etc/keys" }, []string{`plugin "acme"`, "jwks_uri"}},
		{"unreadable CA file", func(c *Config) { c.CAFile = "/nonexistent/ca.pem" }, []string{"CA file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{
				Provider: "acme",
				Spec:     sdk.ProviderSpec{Endpoints: sdk.Endpoints{DeviceAuthorization: "https://idp.example/device", Token: "https://idp.example/token"}},
				Client:   sdk.Client{ClientID: "cli"},
			}
			tt.mod(&cfg)
			_, err := Connect(background(t), cfg)
			if err == nil {
				t.Fatalf("Connect succeeded, want an error saying %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Connect error = %v, want one saying %q", err, w)
				}
			}
		})
	}
}

func TestRefresh(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantRT  string
		wantErr string
	}{
		{name: "rotated", status: 200, body: `{"access_token":"AT2","refresh_token":"RT2","expires_in":60}`, wantRT: "RT2"},
		{name: "kept", status: 200, body: `{"access_token":"AT2","expires_in":60}`, wantRT: "RT"},
		{name: "session over", status: 400, body: `{"error":"invalid_grant"}`, wantErr: "refresh: the provider answered invalid_grant"},
		{name: "no access token", status: 200, body: `{"token_type":"Bearer"}`, wantErr: "no access_token"},
		{name: "not JSON", status: 200, body: `access_token=AT2`, wantErr: "malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := newServer(t, map[string]http.HandlerFunc{
				"POST /refresh": func(w http.ResponseWriter, r *http.Request) {
					if r.FormValue("grant_type") != "refresh_token" || r.FormValue("refresh_token") != "RT" {
						t.Errorf("refresh form = %v", r.Form)
					}
					w.WriteHeader(tt.status)
					fmt.Fprint(w, tt.body)
				},
			})
			c := newClient(t, base, newFakeClock(), func(cfg *Config) { cfg.Spec.Endpoints.Refresh = base + "/refresh" })
			tok, err := c.Refresh(background(t), "RT")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Refresh error = %v, want one saying %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "AT2") {
					t.Errorf("error %q shows a token", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != "AT2" || tok.RefreshToken != tt.wantRT || !tok.Expiry.Equal(t0.Add(time.Minute)) {
				t.Errorf("token = %+v", tok)
			}
		})
	}
}

func TestRevoke(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr error // matched with errors.Is; errAny for any error
	}{
		{name: "revoked", status: 200},
		{name: "revoked with a body", status: 200, body: `{}`},
		{name: "unsupported token type", status: 400, body: `{"error":"unsupported_token_type"}`, wantErr: ErrNotSupported},
		{name: "unavailable", status: 503, wantErr: errAny},
		{name: "error with 200", status: 200, body: `{"error":"invalid_client"}`, wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := newServer(t, map[string]http.HandlerFunc{
				"POST /revoke": func(w http.ResponseWriter, r *http.Request) {
					if r.FormValue("token") != "RT" || r.FormValue("token_type_hint") != "refresh_token" {
						t.Errorf("revocation form = %v", r.Form)
					}
					w.WriteHeader(tt.status)
					fmt.Fprint(w, tt.body)
				},
			})
			c := newClient(t, base, newFakeClock(), nil)
			err := c.Revoke(background(t), "RT", "refresh_token")
			if (err != nil) != (tt.wantErr != nil) || tt.wantErr != errAny && !errors.Is(err, tt.wantErr) {
				t.Errorf("Revoke error = %v, want %v", err, tt.wantErr)
			}
		})
	}
	t.Run("no endpoint", func(t *testing.T) {
		c := newClient(t, "https://idp.example", nil, func(cfg *Config) { cfg.Spec.Endpoints.Revocation = "" })
		if err := c.Revoke(background(t), "RT", ""); !errors.Is(err, ErrNotSupported) {
			t.Errorf("Revoke error = %v, want ErrNotSupported", err)
		}
	})
}

var errAny = errors.New("any error")

func TestUserinfo(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		header   string // WWW-Authenticate
		body     string
		want     map[string]any
		wantCode string
		rejected bool // the error matches ErrTokenRejected
	}{
		{name: "claims", status: 200, body: `{"sub":"u1","email":"u@example.com"}`, want: map[string]any{"sub": "u1", "email": "u@example.com"}},
		{name: "refused in the header", status: 401, header: `Bearer realm="x", error="invalid_token", error_description="expired"`, wantCode: CodeInvalidToken, rejected: true},
		{name: "refused in the body", status: 401, body: `{"error":"invalid_token"}`, wantCode: CodeInvalidToken, rejected: true},
		{name: "refused without a reason", status: 401, rejected: true},
		{name: "server fault", status: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := newServer(t, map[string]http.HandlerFunc{
				"GET /userinfo": func(w http.ResponseWriter, r *http.Request) {
					if got := r.Header.Get("Authorization"); got != "Bearer AT" {
						t.Errorf("Authorization = %q", got)
					}
					if tt.header != "" {
						w.Header().Set("WWW-Authenticate", tt.header)
					}
					w.WriteHeader(tt.status)
					fmt.Fprint(w, tt.body)
				},
			})
			c := newClient(t, base, newFakeClock(), nil)
			got, err := c.Userinfo(background(t), "AT")
			var oe *OAuthError
			if tt.wantCode != "" && (!errors.As(err, &oe) || oe.Code != tt.wantCode) {
				t.Fatalf("Userinfo error = %v, want %s", err, tt.wantCode)
			}
			if errors.Is(err, ErrTokenRejected) != tt.rejected {
				t.Errorf("Userinfo error = %v; matches ErrTokenRejected: %v, want %v", err, !tt.rejected, tt.rejected)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyIDToken(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: priv.Public(), KeyID: "k1", Algorithm: oidc.ES256}}}
	base := newServer(t, map[string]http.HandlerFunc{"GET /keys": keys.ServeHTTP})
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(claims string) string {
		return oidctest.SignIDToken(priv, "k1", oidc.ES256, strings.ReplaceAll(claims, "ISS", base))
	}
	exp := t0.Add(time.Hour).Unix()
	tests := []struct {
		name    string
		raw     string
		wantErr bool
	}{
		{name: "valid", raw: sign(fmt.Sprintf(`{"iss":"ISS","aud":["other","cli"],"azp":"cli","sub":"u1","exp":%d}`, exp))},
		{name: "other audience", raw: sign(fmt.Sprintf(`{"iss":"ISS","aud":"other","sub":"u1","exp":%d}`, exp)), wantErr: true},
		{name: "other issuer", raw: sign(fmt.Sprintf(`{"iss":"https://evil.example","aud":"cli","sub":"u1","exp":%d}`, exp)), wantErr: true},
		{name: "expired", raw: sign(fmt.Sprintf(`{"iss":"ISS","aud":"cli","sub":"u1","exp":%d}`, t0.Add(-time.Hour).Unix())), wantErr: true},
		{name: "other key", raw: oidctest.SignIDToken(other, "k1", oidc.ES256, fmt.Sprintf(`{"iss":%q,"aud":"cli","sub":"u1","exp":%d}`, base, exp)), wantErr: true},
		{name: "malformed", raw: "a.b.c", wantErr: true},
	}
	c := newClient(t, base, newFakeClock(), nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := c.VerifyIDToken(background(t), tt.raw)
			if tt.wantErr {
				if err == nil {
					t.Fatal("VerifyIDToken accepted a bad token")
				}
				if strings.Contains(err.Error(), tt.raw) {
					t.Errorf("error %q shows the token", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if claims["sub"] != "u1" {
				t.Errorf("claims = %v", claims)
			}
		})
	}
}

// TestDiscover: Connect fetches the discovery document a spec names and
// fills the issuer and endpoints from it, or refuses a document that names
// another issuer or an endpoint in clear text off the local machine.
func TestDiscover(t *testing.T) {
	doc := func(issuer, token string) string {
		return fmt.Sprintf(`{"issuer":%q,"device_authorization_endpoint":"ISS/device","token_endpoint":%q,"userinfo_endpoint":"ISS/userinfo","revocation_endpoint":"ISS/revoke","jwks_uri":"ISS/keys","end_session_endpoint":"ISS/logout"}`, issuer, token)
	}
	tests := []struct {
		name       string
		body       string
		wantIssuer string // "" derives it from the discovery URL
		wantErr    string
	}{
		{name: "ok", body: doc("ISS", "ISS/token")},
		{name: "ok with the issuer given", body: doc("ISS", "ISS/token"), wantIssuer: "ISS"},
		{name: "issuer mismatch", body: doc("ISS/", "ISS/token"), wantErr: "not"},
		{name: "http endpoint off loopback", body: doc("ISS", "http://idp.example/token"), wantErr: "token_endpoint"},
		{name: "not JSON", body: `<html>`, wantErr: "JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var base string
			base = newServer(t, map[string]http.HandlerFunc{
				"GET /.well-known/openid-configuration": func(w http.ResponseWriter, r *http.Request) {
					fmt.Fprint(w, strings.ReplaceAll(tt.body, "ISS", base))
				},
			})
			c, err := Connect(background(t), Config{
				Provider: "test",
				Spec:     sdk.ProviderSpec{DiscoveryURL: base + wellKnown, Issuer: strings.ReplaceAll(tt.wantIssuer, "ISS", base)},
				Client:   sdk.Client{ClientID: "cli"},
			})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Connect error = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := discovery{Issuer: base, Endpoints: sdk.Endpoints{
				DeviceAuthorization: base + "/device", Token: base + "/token", Userinfo: base + "/userinfo",
				Revocation: base + "/revoke", JWKS: base + "/keys", EndSession: base + "/logout",
			}}
			spec := c.Spec()
			if diff := cmp.Diff(want, discovery{Issuer: spec.Issuer, Endpoints: spec.Endpoints}); diff != "" {
				t.Errorf("discovery (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	spec := sdk.ProviderSpec{
		DiscoveryURL: "https://idp.example" + wellKnown,
		Endpoints:    sdk.Endpoints{DeviceAuthorization: "https://device.example/code", Refresh: "https://idp.example/r"},
		AuthStyle:    sdk.AuthNone,
	}
	d := discovery{Issuer: "https://idp.example", Endpoints: sdk.Endpoints{
		DeviceAuthorization: "https://idp.example/device", Token: "https://idp.example/token", JWKS: "https://idp.example/keys",
	}}
	want := spec
	want.Issuer = "https://idp.example"
	want.Endpoints.Token = "https://idp.example/token"
	want.Endpoints.JWKS = "https://idp.example/keys"
	if diff := cmp.Diff(want, resolve(spec, d)); diff != "" {
		t.Errorf("resolve (-want +got):\n%s", diff)
	}
}

// hooks is a plugin that adds a header to every request, and maps a
// provider's non-standard "denied" to access_denied.
type hooks struct{ seen []string }

func (h *hooks) Prepare(_ context.Context, ex sdk.Exchange, req sdk.HTTPRequest) (sdk.HTTPRequest, error) {
	h.seen = append(h.seen, "prepare "+string(ex))
	req.Headers = append(req.Headers, sdk.Header{Name: "X-Tenant", Value: "t1"})
	return req, nil
}

func (h *hooks) Interpret(_ context.Context, ex sdk.Exchange, resp sdk.HTTPResponse) (sdk.HTTPResponse, error) {
	h.seen = append(h.seen, "interpret "+string(ex))
	resp.Body = strings.Replace(resp.Body, `"denied"`, `"access_denied"`, 1)
	return resp, nil
}

func TestHooksAndExtraParams(t *testing.T) {
	base := newServer(t, map[string]http.HandlerFunc{
		"POST /device": func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Tenant") != "t1" || r.FormValue("audience") != "https://api.example" || r.FormValue("scope") != "openid email" {
				t.Errorf("device request: header %q, form %v", r.Header.Get("X-Tenant"), r.Form)
			}
			fmt.Fprint(w, `{"device_code":"DC","user_code":"U","verification_uri":"https://idp.example/a","expires_in":600,"interval":1}`)
		},
		"POST /token": func(w http.ResponseWriter, r *http.Request) {
			if r.FormValue("audience") != "" {
				t.Errorf("audience leaked into the token poll: %v", r.Form)
			}
			w.WriteHeader(403)
			fmt.Fprint(w, `{"error":"denied"}`)
		},
	})
	h := &hooks{}
	c := newClient(t, base, newFakeClock(), func(cfg *Config) {
		cfg.Hooks = h
		cfg.Client.Scopes = []string{"openid", "email"}
		cfg.Spec.ExtraParams = []sdk.Param{{Exchange: sdk.ExchangeDeviceAuthorization, Name: "audience", Value: "https://api.example"}}
	})
	da, err := c.DeviceAuth(background(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Poll(background(t), da, nil); !errors.Is(err, ErrDenied) {
		t.Errorf("Poll error = %v, want ErrDenied", err)
	}
	want := []string{"prepare device_authorization", "interpret device_authorization", "prepare token_poll", "interpret token_poll"}
	if diff := cmp.Diff(want, h.seen); diff != "" {
		t.Errorf("hook calls (-want +got):\n%s", diff)
	}
}
