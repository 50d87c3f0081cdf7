package edge

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestOrigin(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{in: "https://IdP.Example/path?q=1", want: "https://idp.example:443"},
		{in: "https://idp.example:443", want: "https://idp.example:443"},
		{in: "http://127.0.0.1:8080/x", want: "http://127.0.0.1:8080"},
		{in: "HTTP://localhost", want: "http://localhost:80"},
		{in: "https://[::1]:8443/", want: "https://[::1]:8443"},
		{in: "https://idp.example:8443", want: "https://idp.example:8443"},
		{in: "ftp://idp.example", wantErr: "not an http"},
		{in: "/relative", wantErr: "not an http"},
		{in: "https:///nohost", wantErr: "no host"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := origin(u)
		if got != tt.want || (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("origin(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// server counts the requests it gets and answers with handler.
func server(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func newEdge(t *testing.T, log *slog.Logger, allow ...string) *Edge {
	t.Helper()
	e, err := New(Options{Provider: "acme", Version: "1.2.3", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	e.backoff = time.Millisecond
	if err := e.Allow(allow...); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestAllowlist(t *testing.T) {
	foreign, foreignHits := server(t, func(w http.ResponseWriter, r *http.Request) {})
	home, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, foreign.URL+"/steal", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/ok":
			fmt.Fprint(w, r.UserAgent())
		}
	})
	e := newEdge(t, nil, "", home.URL+"/token")
	tests := []struct {
		name    string
		url     string
		wantErr []string // all in the error; nil for success
	}{
		{name: "allowed", url: home.URL + "/ok"},
		{name: "redirect to an allowed origin", url: home.URL + "/here"},
		{name: "foreign origin", url: foreign.URL + "/x", wantErr: []string{foreign.URL, `not an endpoint of provider "acme"`}},
		{name: "redirect to a foreign origin", url: home.URL + "/away", wantErr: []string{"redirect", foreign.URL, `not an endpoint of provider "acme"`}},
		{name: "same host, other port", url: strings.Replace(home.URL, "127.0.0.1:", "127.0.0.1:1", 1), wantErr: []string{"not an endpoint"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.Client().Get(tt.url)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var b bytes.Buffer
				b.ReadFrom(resp.Body)
				if b.String() != "idplug/1.2.3" {
					t.Errorf("User-Agent = %q", b.String())
				}
				return
			}
			if !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("error = %v, want ErrNotAllowed", err)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
	if n := foreignHits.Load(); n != 0 {
		t.Errorf("the foreign origin got %d requests", n)
	}
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		statuses []int // answers in order; the last repeats
		want     int   // final status
		hits     int32
	}{
		{name: "GET 503 twice", method: "GET", statuses: []int{503, 502, 200}, want: 200, hits: 3},
		{name: "GET gives up", method: "GET", statuses: []int{504}, want: 504, hits: maxAttempts},
		{name: "GET 500 is not transient", method: "GET", statuses: []int{500, 200}, want: 500, hits: 1},
		{name: "GET 404", method: "GET", statuses: []int{404}, want: 404, hits: 1},
		{name: "POST 503 is never retried", method: "POST", statuses: []int{503, 200}, want: 503, hits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var i atomic.Int32
			srv, hits := server(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.statuses[min(int(i.Add(1)), len(tt.statuses))-1])
			})
			e := newEdge(t, nil, srv.URL)
			var body *strings.Reader
			req, _ := http.NewRequest(tt.method, srv.URL, nil)
			if tt.method == "POST" {
				body = strings.NewReader("a=b")
				req, _ = http.NewRequest(tt.method, srv.URL, body)
			}
			resp, err := e.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want || hits.Load() != tt.hits {
				t.Errorf("status %d after %d requests, want %d after %d", resp.StatusCode, hits.Load(), tt.want, tt.hits)
			}
		})
	}
}

func TestRetryConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + l.Addr().String()
	l.Close()
	var buf bytes.Buffer
	e := newEdge(t, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), addr)
	if _, err := e.Client().Get(addr + "/jwks"); err == nil {
		t.Fatal("GET of a closed port succeeded")
	}
	if got := strings.Count(buf.String(), "connection refused"); got != maxAttempts {
		t.Errorf("%d attempts logged, want %d:\n%s", got, maxAttempts, buf.String())
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"client_id=c&client_secret=s3&code=c0&user_code=UC", "client_id=c&client_secret=[redacted]&code=[redacted]&user_code=UC"},
		{"token=t&token_type_hint=refresh_token", "token=[redacted]&token_type_hint=refresh_token"},
		{"password=p&username=u", "password=[redacted]&username=u"},
		{`{"access_token":"a.b.c","refresh_token" : "r","id_token":"x\"y","token_type":"Bearer"}`,
			`{"access_token":"[redacted]","refresh_token" : "[redacted]","id_token":"[redacted]","token_type":"Bearer"}`},
		{`{"device_code":"DC","user_code":"UC"}`, `{"device_code":"[redacted]","user_code":"UC"}`},
		{`{"nested":{"access_token":"a"}}`, `{"nested":{"access_token":"[redacted]"}}`},
		{`{"access_token":"cut off by trunc`, `{"access_token":"[redacted]"`},
		{`<html>plain</html>`, `<html>plain</html>`},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	u, _ := url.Parse("https://u:pw@idp.example/cb?code=c0&state=s")
	if got, want := redactURL(u), "https://u:xxxxx@idp.example/cb?code=[redacted]&state=s"; got != want {
		t.Errorf("redactURL = %q, want %q", got, want)
	}
}

func TestCAFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := New(Options{CAFile: dir + "/missing.pem"}); err == nil {
		t.Error("a missing CA file was accepted")
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	file := dir + "/ca.pem"
	writePEM(t, file, srv.Certificate().Raw)
	e, err := New(Options{CAFile: file})
	if err != nil {
		t.Fatal(err)
	}
	e.Allow(srv.URL)
	resp, err := e.Client().Get(srv.URL)
	if err != nil {
		t.Fatalf("GET with the test CA trusted: %v", err)
	}
	resp.Body.Close()
}
func writePEM(t *testing.T, file string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestAllowOrigins: Allow adds each URL's origin once, skips empty strings
// and refuses what has no http or https origin. (Which URLs are safe to
// allow is internal/engine's rule: see its TestAllowHTTPOnlyOnLoopback.)
func TestAllowOrigins(t *testing.T) {
	e := newEdge(t, nil)
	err := e.Allow("https://idp.example/.well-known/openid-configuration", "https://device.example:8443/code", "", "https://idp.example/token")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://idp.example:443", "https://device.example:8443"}; !slices.Equal(e.origins, want) {
		t.Errorf("origins = %q, want %q", e.origins, want)
	}
	for _, bad := range []string{"file:///etc/passwd", "/relative", "https:///nohost", "http://bad host/"} {
		e := newEdge(t, nil)
		if err := e.Allow(bad); err == nil {
			t.Errorf("Allow(%q) succeeded", bad)
		}
		if len(e.origins) != 0 {
			t.Errorf("Allow(%q) allowed %q", bad, e.origins)
		}
	}
}

// TestRedirectErrorHidesSecrets: a refused redirect of a request that
// carries a secret in its query does not quote the secret.
func TestRedirectErrorHidesSecrets(t *testing.T) {
	foreign, _ := server(t, func(w http.ResponseWriter, r *http.Request) {})
	home, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, foreign.URL+"/x", http.StatusTemporaryRedirect)
	})
	e := newEdge(t, nil, home.URL)
	_, err := e.Client().Get(home.URL + "/token?device_code=SECRET-DC&access_token=SECRET-AT")
	if !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("error = %v, want ErrNotAllowed", err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = RedactURL(ue.URL)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error shows a secret: %v", err)
	}
}

func TestRedactJWT(t *testing.T) {
	const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2ln-_"
	tests := []struct{ in, want string }{
		{`{"accessToken":"` + jwt + `"}`, `{"accessToken":"[redacted]"}`},
		{"bearer " + jwt + " was refused", "bearer [redacted] was refused"},
		{"an eyJ in prose.", "an eyJ in prose."},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got, want := RedactURL("https://idp.example/cb?x="+jwt+"&refresh_token=r"), "https://idp.example/cb?x=[redacted]&refresh_token=[redacted]"; got != want {
		t.Errorf("RedactURL = %q, want %q", got, want)
	}
}

// TestHeaderLimit: a provider cannot make the host hold (and hand a plugin)
// megabytes of response headers.
func TestHeaderLimit(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		for i := range 64 {
			w.Header().Set(fmt.Sprintf("X-Filler-%d", i), strings.Repeat("x", 4<<10))
		}
	})
	e := newEdge(t, nil, srv.URL)
	resp, err := e.Client().Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("256 KiB of headers were accepted (%d headers)", len(resp.Header))
	}
}
