package engine

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/idplug/idplug/internal/plugin"
	"github.com/idplug/idplug/sdk"
)

var _ Hooks = (*plugin.Plugin)(nil)

// t0 is when every fake clock starts.
var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeClock is a Clock whose After returns at once, having moved the time
// forward by d: a poll loop runs through its schedule without sleeping.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(max(d, 0))
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// since returns the fake time passed since t0.
func (c *fakeClock) since() time.Duration { return c.Now().Sub(t0) }

// newServer starts a test provider on 127.0.0.1 with the given handlers
// (path → handler) and returns its URL.
func newServer(t *testing.T, handlers map[string]http.HandlerFunc) string {
	t.Helper()
	mux := http.NewServeMux()
	for p, h := range handlers {
		mux.HandleFunc(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// testConfig is the Config of a provider at base with the usual paths.
func testConfig(base string, clock Clock) Config {
	return Config{
		Provider: "test",
		Spec: sdk.ProviderSpec{
			Issuer: base,
			Endpoints: sdk.Endpoints{
				DeviceAuthorization: base + "/device",
				Token:               base + "/token",
				Userinfo:            base + "/userinfo",
				Revocation:          base + "/revoke",
				JWKS:                base + "/keys",
			},
			AuthStyle:     sdk.AuthNone,
			DefaultScopes: []string{"openid", "offline_access"},
		},
		Client: sdk.Client{ClientID: "cli"},
		Clock:  clock,
	}
}

// newClient connects to a provider at base with the usual paths.
func newClient(t *testing.T, base string, clock Clock, mod func(*Config)) *Client {
	t.Helper()
	cfg := testConfig(base, clock)
	if mod != nil {
		mod(&cfg)
	}
	c, err := Connect(background(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func background(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func oauthDevice(expiry time.Time, interval int64) *oauth2.DeviceAuthResponse {
	return &oauth2.DeviceAuthResponse{DeviceCode: "DC", UserCode: "U", VerificationURI: "https://idp.example/a", Expiry: expiry, Interval: interval}
}
