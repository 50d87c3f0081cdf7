// Package demoidp is a small OpenID provider for demos and tests. It is NOT
// for production: users sign in without passwords, state lives in memory,
// it speaks plain HTTP and listens on a loopback address only.
//
// It is built on zitadel/oidc's op package with its own in-memory storage
// and serves, at issuer http://127.0.0.1:PORT:
//
//	/.well-known/openid-configuration   discovery
//	/keys                               JWKS (one RS256 key generated at start)
//	/device_authorization               RFC 8628 device authorization
//	/oauth/token                        device_code and refresh_token grants
//	/userinfo                           claims for the access token's scopes
//	/revoke                             RFC 7009 revocation
//	/device                             the verification page (no JavaScript)
//
// op also serves /oauth/introspect, /end_session, /healthz and /ready; the
// authorization code flow endpoints exist but always fail, although op's
// discovery document lists that grant.
//
// One public client is registered, [ClientID], with the device_code and
// refresh_token grants and the scopes openid, profile, email and
// offline_access (others are dropped). A refresh token is issued only when
// offline_access was granted, as op does for every client. Refresh tokens
// rotate: each refresh returns a new one and the old one is then rejected
// with invalid_grant. Revoking a refresh token also revokes the access token
// issued with it.
//
// The demo users are alice and bob, see [Users]. The profile scope releases
// preferred_username, name and groups; email releases email and
// email_verified. The claims appear both in the ID token and at userinfo.
//
// The verification page takes a user code (case-insensitive, dash optional),
// a user and an action, so a script can complete a login with:
//
//	curl -s -d user_code=ABCD-EFGH -d user=alice -d action=approve http://127.0.0.1:PORT/device
//
// Tests can drive the flow with [Server.Approve], [Server.Deny] and
// [Server.PendingUserCodes], inject faults at the token endpoint and read
// counters of what clients did.
package demoidp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Grant types as sent in the grant_type parameter; see [Server.TokenRequests].
const (
	GrantTypeDeviceCode   = string(oidc.GrantTypeDeviceCode) // urn:ietf:params:oauth:grant-type:device_code
	GrantTypeRefreshToken = string(oidc.GrantTypeRefreshToken)
)

// Options configure a Server. Zero values take the documented defaults.
type Options struct {
	// Addr is the loopback address to listen on. Default "127.0.0.1:0"
	// (a free port). Non-loopback addresses are refused.
	Addr string
	// DeviceCodeLifetime is how long a device/user code stays valid.
	// Default 10m. Rounded up to whole seconds (expires_in is in seconds).
	DeviceCodeLifetime time.Duration
	// PollInterval is the interval reported to clients. Default 5s.
	// Rounded up to whole seconds, at least 1s (interval is in seconds).
	// The server does not enforce it: polling faster never yields slow_down
	// unless injected with [Server.SlowDownPolls].
	PollInterval time.Duration
	// AccessTokenLifetime is the lifetime of access tokens. Default 10m.
	AccessTokenLifetime time.Duration
	// IDTokenLifetime is the lifetime of ID tokens. Default 1h.
	IDTokenLifetime time.Duration
	// RefreshTokenLifetime is the lifetime of each refresh token. Default 24h.
	RefreshTokenLifetime time.Duration
	// Logger receives one line per request. Nil discards.
	Logger *slog.Logger
}

func ceilSeconds(d time.Duration) time.Duration {
	return max(time.Second, (d + time.Second - 1).Truncate(time.Second))
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	def(&o.DeviceCodeLifetime, 10*time.Minute)
	def(&o.PollInterval, 5*time.Second)
	def(&o.AccessTokenLifetime, 10*time.Minute)
	def(&o.IDTokenLifetime, time.Hour)
	def(&o.RefreshTokenLifetime, 24*time.Hour)
	o.DeviceCodeLifetime = ceilSeconds(o.DeviceCodeLifetime)
	o.PollInterval = ceilSeconds(o.PollInterval)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Revocation is one successful call to the revocation endpoint.
type Revocation struct {
	Token         string // the token as sent
	TokenTypeHint string // "refresh_token", "access_token" or ""
}

// Server is a running demo OpenID provider. Its methods are safe for
// concurrent use.
type Server struct {
	issuer  string
	store   *storage
	srv     *http.Server
	log     *slog.Logger
	served  chan struct{}
	once    sync.Once
	closeEr error

	tokenPath, deviceAuthPath, revokePath string

	mu            sync.Mutex
	failPolls     int
	failStatus    int
	slowDowns     int
	omitInterval  bool
	omitExpiresIn bool
	tokenRequests map[string]int
	refreshes     int
	revocations   []Revocation
}

// Start listens on opts.Addr and serves until ctx is done or Close is called.
// The issuer URL is known (see [Server.URL]) when Start returns.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts = opts.withDefaults()
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("demoidp: %w", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	if !addr.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("demoidp: refusing to listen on non-loopback address %s", addr)
	}
	s, err := newServer("http://"+addr.String(), opts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.served:
		}
	}()
	return s, nil
}

func newServer(issuer string, opts Options) (*Server, error) {
	store, err := newStorage(opts)
	if err != nil {
		return nil, fmt.Errorf("demoidp: %w", err)
	}
	cfg := &op.Config{
		GrantTypeRefreshToken: true,
		SupportedScopes:       slices.Clone(supportedScopes),
		SupportedClaims:       append(slices.Clone(op.DefaultSupportedClaims), "groups"),
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime:     opts.DeviceCodeLifetime,
			PollInterval: opts.PollInterval,
			UserFormPath: "/device",
			UserCode:     op.UserCodeBase20,
		},
	}
	rand.Read(cfg.CryptoKey[:])
	provider, err := op.NewProvider(cfg, store, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, fmt.Errorf("demoidp: %w", err)
	}
	s := &Server{
		issuer:         issuer,
		store:          store,
		log:            opts.Logger,
		served:         make(chan struct{}),
		tokenPath:      provider.TokenEndpoint().Relative(),
		deviceAuthPath: provider.DeviceAuthorizationEndpoint().Relative(),
		revokePath:     provider.RevocationEndpoint().Relative(),
		tokenRequests:  map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/device", s.serveDevice)
	mux.Handle("/", provider)
	s.srv = &http.Server{Handler: s.logRequests(s.intercept(mux)), ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// URL returns the issuer, http://127.0.0.1:PORT (no trailing slash).
func (s *Server) URL() string { return s.issuer }

// VerificationURI returns the verification page, URL()+"/device".
func (s *Server) VerificationURI() string { return s.issuer + "/device" }

// Close shuts the server down gracefully: it stops accepting connections
// and waits up to 2s for requests in flight, then closes what is left. It
// is safe to call more than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			// Typically connections a client opened but never used, which
			// Shutdown waits 5s for.
			s.closeEr = s.srv.Close()
		}
		<-s.served
	})
	return s.closeEr
}

// --- test hooks ----------------------------------------------------------------

// Approve completes the pending authorization for userCode as username,
// exactly as approving on /device does. It fails with ErrUnknownUserCode,
// ErrExpiredUserCode, ErrUserCodeUsed or ErrUnknownUser.
func (s *Server) Approve(userCode, username string) error {
	u, ok := userByName(username)
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownUser, username)
	}
	return s.store.decide(userCode, u.Subject)
}

// Deny denies the pending authorization for userCode; the device then gets
// access_denied. It fails like Approve.
func (s *Server) Deny(userCode string) error {
	return s.store.decide(userCode, "")
}

// PendingUserCodes returns the user codes (XXXX-XXXX) that are neither
// decided nor expired, oldest first.
func (s *Server) PendingUserCodes() []string { return s.store.pendingUserCodes() }

// LastUserCode returns the newest pending user code, or "" if none.
func (s *Server) LastUserCode() string {
	codes := s.PendingUserCodes()
	if len(codes) == 0 {
		return ""
	}
	return codes[len(codes)-1]
}

// FailPolls makes the next n device_code token requests fail with the HTTP
// status (e.g. 503) and a small JSON body
// {"error":"temporarily_unavailable",...} without reaching the provider, so
// they neither consume nor advance the device code. n <= 0 cancels.
func (s *Server) FailPolls(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failPolls, s.failStatus = max(n, 0), status
}

// SlowDownPolls makes the next n device_code token requests get HTTP 400
// {"error":"slow_down"} without reaching the provider. FailPolls, if armed,
// takes precedence. n <= 0 cancels.
func (s *Server) SlowDownPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slowDowns = max(n, 0)
}

// OmitInterval makes device authorization responses leave out "interval"
// (clients must then default to 5s).
func (s *Server) OmitInterval(omit bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.omitInterval = omit
}

// OmitExpiresIn makes device authorization responses leave out "expires_in"
// (a required field; for testing clients' tolerance).
func (s *Server) OmitExpiresIn(omit bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.omitExpiresIn = omit
}

// TokenRequests returns how many POSTs reached the token endpoint with the
// grant_type (e.g. GrantTypeDeviceCode or "refresh_token"; "device_code" is
// accepted as a short name), including those answered by injected faults
// and failures.
func (s *Server) TokenRequests(grantType string) int {
	if grantType == "device_code" {
		grantType = GrantTypeDeviceCode
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests[grantType]
}

// Refreshes returns how many refresh_token requests succeeded.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// Revocations returns the successful revocation requests, in order.
func (s *Server) Revocations() []Revocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.revocations)
}

// WasRevoked reports whether token was sent to the revocation endpoint in a
// request that succeeded.
func (s *Server) WasRevoked(token string) bool {
	return slices.ContainsFunc(s.Revocations(), func(r Revocation) bool { return r.Token == token })
}

// --- middleware ------------------------------------------------------------------

// statusWriter records the status code written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		attrs := []any{"method", r.Method, "path", r.URL.Path, "status", sw.status, "duration", time.Since(start).Round(time.Microsecond)}
		if g := r.PostForm.Get("grant_type"); g != "" {
			attrs = append(attrs, "grant_type", g)
		}
		s.log.Info("demoidp request", attrs...)
	})
}

// intercept counts, records and fault-injects around the provider.
func (s *Server) intercept(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		switch r.URL.Path {
		case s.tokenPath:
			s.serveToken(w, r, next)
		case s.deviceAuthPath:
			s.serveDeviceAuthorization(w, r, next)
		case s.revokePath:
			r.ParseForm() // here, so that r.PostForm is filled for the record below
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			if sw.status == http.StatusOK {
				s.mu.Lock()
				s.revocations = append(s.revocations, Revocation{r.PostForm.Get("token"), r.PostForm.Get("token_type_hint")})
				s.mu.Unlock()
			}
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, next http.Handler) {
	grant := r.PostFormValue("grant_type") // parses the form; op reuses it
	s.mu.Lock()
	s.tokenRequests[grant]++
	failStatus, slowDown := 0, false
	if grant == GrantTypeDeviceCode {
		switch {
		case s.failPolls > 0:
			s.failPolls--
			failStatus = s.failStatus
		case s.slowDowns > 0:
			s.slowDowns--
			slowDown = true
		}
	}
	s.mu.Unlock()

	switch {
	case failStatus != 0:
		writeJSON(w, failStatus, map[string]string{
			"error":             "temporarily_unavailable",
			"error_description": "demoidp: injected failure (HTTP " + strconv.Itoa(failStatus) + ")",
		})
		return
	case slowDown:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "slow_down"})
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	next.ServeHTTP(sw, r)
	if grant == GrantTypeRefreshToken && sw.status == http.StatusOK {
		s.mu.Lock()
		s.refreshes++
		s.mu.Unlock()
	}
}

// bufferWriter captures a response so that it can be rewritten.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.header }
func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferWriter) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

func (s *Server) serveDeviceAuthorization(w http.ResponseWriter, r *http.Request, next http.Handler) {
	s.mu.Lock()
	omit := map[string]bool{"interval": s.omitInterval, "expires_in": s.omitExpiresIn}
	s.mu.Unlock()
	if !omit["interval"] && !omit["expires_in"] {
		next.ServeHTTP(w, r)
		return
	}
	buf := &bufferWriter{header: http.Header{}}
	next.ServeHTTP(buf, r)
	body := buf.body.Bytes()
	var m map[string]json.RawMessage
	if buf.status == http.StatusOK && json.Unmarshal(body, &m) == nil {
		maps.DeleteFunc(m, func(k string, _ json.RawMessage) bool { return omit[k] })
		body, _ = json.Marshal(m)
	}
	maps.Copy(w.Header(), buf.header)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(buf.status)
	w.Write(body)
}
