package engine

import (
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/edge"
	"github.com/idplug/idplug/sdk"
)

// TestConnectDiscoveryAllowsOrigins: the endpoints a discovery document
// names on another origin fill the spec, and that origin, and no other,
// becomes reachable.
func TestConnectDiscoveryAllowsOrigins(t *testing.T) {
	idp := newServer(t, map[string]http.HandlerFunc{
		"POST /device": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"device_code":"DC","user_code":"U","verification_uri":"https://idp.example/a"}`)
		},
	})
	other := newServer(t, map[string]http.HandlerFunc{"GET /": func(w http.ResponseWriter, r *http.Request) {}})
	var issuer string
	issuer = newServer(t, map[string]http.HandlerFunc{
		"GET /.well-known/openid-configuration": func(w http.ResponseWriter, r *http.Request) {
			if ua := r.UserAgent(); ua != "idplug/9.8.7" {
				t.Errorf("User-Agent = %q", ua)
			}
			fmt.Fprintf(w, `{"issuer":%q,"device_authorization_endpoint":"%s/device","token_endpoint":"%[2]s/token"}`, issuer, idp)
		},
	})
	h := &hooks{}
	c, err := Connect(background(t), Config{
		Provider: "test",
		Spec:     sdk.ProviderSpec{DiscoveryURL: issuer + wellKnown},
		Client:   sdk.Client{ClientID: "cli"},
		Hooks:    h,
		Version:  "9.8.7",
	})
	if err != nil {
		t.Fatal(err)
	}
	spec := c.Spec()
	if spec.Issuer != issuer || spec.Endpoints.DeviceAuthorization != idp+"/device" || spec.Endpoints.Token != idp+"/token" {
		t.Errorf("spec = %+v, want the discovered issuer and endpoints", spec)
	}
	if len(h.seen) == 0 || h.seen[0] != "prepare discovery" {
		t.Errorf("hook calls = %q, want discovery through the hooks", h.seen)
	}
	if _, err := c.DeviceAuth(background(t)); err != nil {
		t.Errorf("DeviceAuth at the discovered origin: %v", err)
	}
	resp, err := c.hc.Get(other)
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, edge.ErrNotAllowed) {
		t.Errorf("GET of an origin nobody named: error %v, want ErrNotAllowed", err)
	}
}

// TestAllowHTTPOnlyOnLoopback: an endpoint in clear text is refused unless
// it is on the local machine, and its origin is not allowed.
func TestAllowHTTPOnlyOnLoopback(t *testing.T) {
	newEdge := func() *edge.Edge {
		e, err := edge.New(edge.Options{Provider: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, ok := range []string{"http://127.0.0.1:8080/token", "http://localhost/x", "HTTP://LocalHost:9/x", "http://[::1]:80/", "https://idp.example/token"} {
		if err := allowSpec(newEdge(), sdk.ProviderSpec{Endpoints: sdk.Endpoints{Token: ok}}); err != nil {
			t.Errorf("allowSpec(token %q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"http://idp.example/token", "http://10.0.0.1/token", "http://localhost.evil.example/", "http://127.0.0.1.nip.io/"} {
		e := newEdge()
		err := allowSpec(e, sdk.ProviderSpec{Endpoints: sdk.Endpoints{Token: bad}})
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("allowSpec(token %q) = %v, want a refusal naming loopback", bad, err)
		}
		resp, err := e.Client().Get(bad)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, edge.ErrNotAllowed) {
			t.Errorf("after allowSpec(token %q), GET error = %v, want ErrNotAllowed", bad, err)
		}
	}
}

// TestAllowSpecEveryEndpoint: allowSpec allows the origin of every URL of a
// spec, and refuses one that is not http or https.
func TestAllowSpecEveryEndpoint(t *testing.T) {
	e, err := edge.New(edge.Options{Provider: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	srv := func() string {
		u := newServer(t, map[string]http.HandlerFunc{"GET /": func(w http.ResponseWriter, r *http.Request) {}})
		urls = append(urls, u)
		return u + "/x"
	}
	err = allowSpec(e, sdk.ProviderSpec{DiscoveryURL: srv(), Endpoints: sdk.Endpoints{
		DeviceAuthorization: srv(), Token: srv(), Refresh: srv(), Userinfo: srv(), Revocation: srv(), JWKS: srv(), EndSession: srv(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range urls {
		resp, err := e.Client().Get(u)
		if err != nil {
			t.Errorf("GET %s: %v", u, err)
			continue
		}
		resp.Body.Close()
	}
	if err := allowSpec(e, sdk.ProviderSpec{Endpoints: sdk.Endpoints{Token: "file:///etc/passwd"}}); err == nil {
		t.Error("a file URL was allowed")
	}
}

// TestDefaultScopes: a client without scopes asks for the provider's
// default scopes at device authorization; a client with scopes for its own.
func TestDefaultScopes(t *testing.T) {
	tests := []struct {
		name     string
		scopes   []string // the client's
		defaults []string // the spec's
		want     []string // the scope parameters sent
	}{
		{name: "defaults", defaults: []string{"openid", "offline_access"}, want: []string{"openid offline_access"}},
		{name: "the client's own", scopes: []string{"email"}, defaults: []string{"openid"}, want: []string{"email"}},
		{name: "none at all", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			base := newServer(t, map[string]http.HandlerFunc{
				"POST /device": func(w http.ResponseWriter, r *http.Request) {
					r.ParseForm()
					got = r.PostForm["scope"]
					fmt.Fprint(w, `{"device_code":"DC","user_code":"U","verification_uri":"https://idp.example/a"}`)
				},
			})
			c := newClient(t, base, newFakeClock(), func(cfg *Config) {
				cfg.Client.Scopes = tt.scopes
				cfg.Spec.DefaultScopes = tt.defaults
			})
			if _, err := c.DeviceAuth(background(t)); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("scope sent = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAutomaticAuthStyle: Spec reports the style Connect decided for a
// plugin that named none.
func TestAutomaticAuthStyle(t *testing.T) {
	for secret, want := range map[string]sdk.AuthStyle{"": sdk.AuthNone, "s": sdk.AuthPost} {
		c := newClient(t, "https://idp.example", nil, func(cfg *Config) {
			cfg.Spec.AuthStyle = ""
			cfg.Client.ClientSecret = secret
		})
		if got := c.Spec().AuthStyle; got != want {
			t.Errorf("with client_secret %q: AuthStyle = %q, want %q", secret, got, want)
		}
	}
}

// TestConnectCAFile: a provider behind a private CA is reached with
// Config.CAFile, and refused without it.
func TestConnectCAFile(t *testing.T) {
	var base string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"issuer":%q,"device_authorization_endpoint":"%[1]s/device","token_endpoint":"%[1]s/token"}`, base)
	}))
	defer srv.Close()
	base = srv.URL
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Provider: "test", Spec: sdk.ProviderSpec{DiscoveryURL: base + wellKnown}, Client: sdk.Client{ClientID: "cli"}}
	if _, err := Connect(background(t), cfg); err == nil {
		t.Error("Connect trusted a certificate of an unknown CA")
	}
	cfg.CAFile = file
	if _, err := Connect(background(t), cfg); err != nil {
		t.Errorf("Connect with the CA file: %v", err)
	}
}

// TestConnectTimeout: Config.Timeout bounds a request to the provider.
func TestConnectTimeout(t *testing.T) {
	done := make(chan struct{})
	base := newServer(t, map[string]http.HandlerFunc{
		"GET /.well-known/openid-configuration": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-done:
			}
		},
	})
	t.Cleanup(func() { close(done) }) // before the server closes
	start := time.Now()
	_, err := Connect(background(t), Config{
		Provider: "test",
		Spec:     sdk.ProviderSpec{DiscoveryURL: base + wellKnown},
		Client:   sdk.Client{ClientID: "cli"},
		Timeout:  100 * time.Millisecond,
	})
	if err == nil {
		t.Fatal("Connect succeeded against a provider that never answers")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Connect gave up after %v, want about 100ms", took)
	}
}
