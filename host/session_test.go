package host

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"

	"github.com/idplug/idplug/internal/store"
)

// fakeIdP is an OpenID provider with the device grant that approves every
// code at once. Its subjects can be changed between calls.
type fakeIdP struct {
	*httptest.Server
	mu          sync.Mutex
	loginSub    string // sub of the ID token of a login
	refreshSub  string // sub of the ID token of a refresh; "" sends none
	refuse      int    // with refuseBody, the answer to a refresh instead of tokens; 0 grants it
	refuseBody  string
	idTTL       time.Duration // lifetime of the ID tokens it issues
	userinfoSub string
	granted     chan struct{} // receives once per token response of a login
	refreshes   int
	discoveries int
}

func newFakeIdP(t *testing.T) *fakeIdP {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: priv.Public(), KeyID: "k1", Algorithm: oidc.ES256}}}
	idp := &fakeIdP{loginSub: "alice", refreshSub: "alice", userinfoSub: "alice", granted: make(chan struct{}, 16), idTTL: time.Hour}
	idToken := func(sub string) string {
		return oidctest.SignIDToken(priv, "k1", oidc.ES256, fmt.Sprintf(`{"iss":%q,"aud":"cli","sub":%q,"exp":%d}`,
			idp.URL, sub, time.Now().Add(idp.idTTL).Unix()))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		idp.set(func(idp *fakeIdP) { idp.discoveries++ })
		fmt.Fprintf(w, `{"issuer":%[1]q,"device_authorization_endpoint":"%[1]s/device","token_endpoint":"%[1]s/token","userinfo_endpoint":"%[1]s/userinfo","jwks_uri":"%[1]s/keys"}`, idp.URL)
	})
	mux.HandleFunc("GET /keys", keys.ServeHTTP)
	mux.HandleFunc("POST /device", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"device_code":"device-code-1","user_code":"ABCD-EFGH","verification_uri":"%s/activate","expires_in":60,"interval":1}`, idp.URL)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		idp.mu.Lock()
		defer idp.mu.Unlock()
		tok := map[string]any{"token_type": "Bearer", "expires_in": 60}
		switch r.FormValue("grant_type") {
		case "refresh_token":
			idp.refreshes++
			if idp.refuse != 0 {
				w.WriteHeader(idp.refuse)
				fmt.Fprint(w, idp.refuseBody)
				return
			}
			tok["access_token"] = fmt.Sprintf("access-refreshed-%d", idp.refreshes)
			tok["refresh_token"] = fmt.Sprintf("refresh-rotated-%d", idp.refreshes)
			if idp.refreshSub != "" {
				tok["id_token"] = idToken(idp.refreshSub)
			}
		default:
			tok["access_token"], tok["refresh_token"], tok["id_token"] = "access-login", "refresh-login", idToken(idp.loginSub)
			defer func() { idp.granted <- struct{}{} }()
		}
		json.NewEncoder(w).Encode(tok)
	})
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		idp.mu.Lock()
		defer idp.mu.Unlock()
		fmt.Fprintf(w, `{"sub":%q,"preferred_username":"alice"}`, idp.userinfoSub)
	})
	idp.Server = httptest.NewServer(mux)
	t.Cleanup(idp.Close)
	return idp
}

func (idp *fakeIdP) set(f func(*fakeIdP)) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	f(idp)
}

// testCache is the compilation cache the tests share, so that the built-in
// module compiles once.
var testCache = sync.OnceValue(func() string {
	dir, err := os.MkdirTemp("", "idplug-host-test-cache")
	if err != nil {
		panic(err)
	}
	return dir
})

func TestMain(m *testing.M) {
	code := m.Run()
	os.RemoveAll(testCache())
	os.Exit(code)
}

// openHost opens a host with one profile "work" of the built-in oidc
// provider at idp, storing tokens in plain files.
func openHost(t *testing.T, idp *fakeIdP, opts ...Option) *Host {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "config.toml")
	err := os.WriteFile(config, []byte(fmt.Sprintf(`
[store]
backend = "file"
dir = %q

[profiles.work]
provider  = "oidc"
client_id = "cli"
[profiles.work.settings]
issuer = %q
`, filepath.Join(dir, "tokens"), idp.URL)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]Option{WithConfigFile(config), WithCacheDir(testCache()), WithWarnings(&strings.Builder{})}, opts...)
	h, err := Open(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// loggedIn opens a host as openHost does and logs its profile "work" in.
func loggedIn(t *testing.T, idp *fakeIdP, opts ...Option) (*Host, *Session) {
	t.Helper()
	h := openHost(t, idp, opts...)
	s, err := h.Session("work")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(testContext(t), LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	return h, s
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestRefreshKeepsTheSubject: a refresh whose ID token names another user
// (OpenID Connect Core 1.0 §12.2) is refused, and the stored login stays.
func TestRefreshKeepsTheSubject(t *testing.T) {
	idp := newFakeIdP(t)
	h, s := loggedIn(t, idp, WithExpirySkew(time.Hour)) // every token is due for a refresh
	ctx := testContext(t)
	if _, err := s.Token(ctx); err != nil {
		t.Fatalf("a refresh with the same subject: %v", err)
	}
	idp.set(func(idp *fakeIdP) { idp.refreshSub = "mallory" })
	tok, err := s.Token(ctx)
	if err == nil || !strings.Contains(err.Error(), "mallory") {
		t.Fatalf("a refresh switching to another subject gave %v, %v; want an error naming it", tok, err)
	}
	b, err := h.store.Load(ctx, s.key)
	if err != nil {
		t.Fatal(err)
	}
	if b.AccessToken != "access-refreshed-1" || !strings.Contains(string(b.IDTokenClaims), `"alice"`) {
		t.Errorf("the stored bundle changed: %v, claims %s", b, b.IDTokenClaims)
	}
	// A refresh without an ID token keeps the verified identity.
	idp.set(func(idp *fakeIdP) { idp.refreshSub = "" })
	if _, err := s.Token(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestIdentityChecksTheUserinfoSubject: userinfo for another subject than
// the ID token's is not mapped into an identity (OpenID Connect Core 1.0
// §5.3.2).
func TestIdentityChecksTheUserinfoSubject(t *testing.T) {
	idp := newFakeIdP(t)
	h := openHost(t, idp)
	s, err := h.Session("work")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	id, err := s.Login(ctx, LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "alice" {
		t.Errorf("subject = %q", id.Subject)
	}
	idp.set(func(idp *fakeIdP) { idp.userinfoSub = "mallory" })
	if id, err := s.Identity(ctx); err == nil || !strings.Contains(err.Error(), "mallory") {
		t.Errorf("Identity = %+v, %v; want an error naming the other subject", id, err)
	}
}

// TestLoginSavesUnderTheLock: a login does not save while another process
// refreshes under the profile's lock, which would then write the old
// session's tokens over the new login's.
func TestLoginSavesUnderTheLock(t *testing.T) {
	idp := newFakeIdP(t)
	h := openHost(t, idp)
	s, err := h.Session("work")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	unlock, err := h.store.Lock(ctx, "work") // "another process" refreshing
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Login(ctx, LoginOptions{})
		done <- err
	}()
	<-idp.granted
	time.Sleep(300 * time.Millisecond)
	_, err = h.store.Load(ctx, s.key)
	unlock()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the login saved while another held the lock (Load: %v)", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.Load(ctx, s.key); err != nil {
		t.Errorf("the login saved nothing: %v", err)
	}
}

// TestSessionsShareAConnection: every Session of a profile is one, so that
// a program that asks for it again and again, or from many goroutines,
// connects to the provider once (one discovery, one HTTP client).
func TestSessionsShareAConnection(t *testing.T) {
	idp := newFakeIdP(t)
	h, first := loggedIn(t, idp)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			s, err := h.Session("")
			if err != nil {
				t.Error(err)
				return
			}
			if s != first {
				t.Error("Session returned another session for the same profile")
			}
			if _, err := s.Identity(testContext(t)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	idp.set(func(idp *fakeIdP) {
		if idp.discoveries != 1 {
			t.Errorf("the provider was discovered %d times, want once", idp.discoveries)
		}
	})
}
