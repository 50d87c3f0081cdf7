// Package edge is the one way idplug reaches the network. Every HTTP request
// of the host — discovery, device authorization, token polls, refresh,
// revocation, userinfo, JWKS — goes through an Edge, which
//
//   - sends a request only to an origin on its allowlist, after redirects too:
//     the origins of the endpoints a provider plugin's configure and the
//     discovery document returned (see [Edge.Allow]); which URLs are safe to
//     allow is the caller's rule (internal/engine checks https, or http on
//     a loopback host, before it allows a URL);
//   - bounds every request in time and honours HTTPS_PROXY, HTTP_PROXY and
//     NO_PROXY and an optional extra CA file;
//   - retries idempotent GETs on transient faults (never a POST: a token poll
//     schedules its own retries, and exactly one POST leaves per poll);
//   - logs each exchange at slog.LevelDebug with every secret redacted.
package edge

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Limits of an Edge. Options.Timeout and Options.Version default to
// defaultTimeout and defaultVersion; the others are fixed.
const (
	defaultTimeout = 30 * time.Second // one request as a whole, GET retries and redirects included
	defaultVersion = "dev"
	dialTimeout    = 10 * time.Second
	tlsTimeout     = 10 * time.Second
	headerTimeout  = 20 * time.Second       // from the request written to the response headers
	maxHeaderBytes = 64 << 10               // of a response's headers, which a plugin's Interpret receives
	maxAttempts    = 3                      // of an idempotent GET
	retryBackoff   = 250 * time.Millisecond // before the second GET attempt; doubled before the third
	maxRedirects   = 10
	maxLoggedBody  = 4 << 10
)

// ErrNotAllowed is wrapped by the error for a request or redirect to an origin
// that is not on the allowlist.
var ErrNotAllowed = errors.New("origin not allowed")

// Options configure an Edge. The zero value is usable: it allows no origin
// until Allow is called.
type Options struct {
	// Provider names the provider in errors ("not an endpoint of provider X").
	Provider string
	// Version is the idplug version sent as User-Agent "idplug/<Version>";
	// default "dev".
	Version string
	// CAFile is a PEM file of extra CA certificates trusted on top of the
	// system pool, for providers behind a private CA.
	CAFile string
	// Timeout bounds each request as a whole, GET retries and redirects
	// included; default 30 seconds.
	Timeout time.Duration
	// Logger receives one Debug record per attempt, secrets redacted; nil
	// logs nothing.
	Logger *slog.Logger
}

// Edge is an http.RoundTripper that enforces the origin allowlist, retries
// idempotent GETs and logs redacted exchanges. It is safe for concurrent use.
type Edge struct {
	provider string
	agent    string
	log      *slog.Logger
	base     http.RoundTripper
	client   *http.Client
	backoff  time.Duration

	mu      sync.RWMutex
	origins []string
}

// New returns an Edge that allows no origin yet. The only error is an
// unreadable or empty CAFile.
func New(opts Options) (*Edge, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	tr.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = tlsTimeout
	tr.ResponseHeaderTimeout = headerTimeout
	tr.MaxResponseHeaderBytes = maxHeaderBytes
	if opts.CAFile != "" {
		pool, err := loadCAs(opts.CAFile)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	e := &Edge{
		provider: opts.Provider,
		agent:    "idplug/" + cmp.Or(opts.Version, defaultVersion),
		log:      opts.Logger,
		base:     tr,
		backoff:  retryBackoff,
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.client = &http.Client{
		Transport:     e,
		Timeout:       cmp.Or(opts.Timeout, defaultTimeout),
		CheckRedirect: e.checkRedirect,
	}
	return e, nil
}

func loadCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the CA file: %w; point the CA setting at a readable PEM file", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate; give a file of -----BEGIN CERTIFICATE----- blocks", file)
	}
	return pool, nil
}

// Client returns the http.Client to hand to the engine: it sends through the
// Edge, follows at most 10 redirects, each checked against the allowlist.
func (e *Edge) Client() *http.Client { return e.client }

// Allow adds the origins of urls to the allowlist; empty strings are skipped,
// so a provider spec's endpoints can be passed as they are. A URL must be an
// absolute http or https URL; whether it is safe to send tokens to is for the
// caller to decide before it allows it. Call it with the endpoints configure
// returned (and the discovery URL) before discovery, and again with the
// discovered endpoints after.
func (e *Edge) Allow(urls ...string) error {
	var add []string
	for _, raw := range urls {
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("not a URL: %w", err)
		}
		o, err := origin(u)
		if err != nil {
			return err
		}
		add = append(add, o)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, o := range add {
		if !slices.Contains(e.origins, o) {
			e.origins = append(e.origins, o)
		}
	}
	return nil
}

// origin returns u's origin as scheme://host:port (RFC 6454), lower-cased,
// with the scheme's default port made explicit. Only http and https URLs have
// an origin here.
func origin(u *url.URL) (string, error) {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	switch {
	case scheme != "http" && scheme != "https":
		return "", fmt.Errorf("%q is not an http or https URL", redactURL(u))
	case u.Hostname() == "":
		return "", fmt.Errorf("%q has no host", redactURL(u))
	case port == "" && scheme == "https":
		port = "443"
	case port == "":
		port = "80"
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port), nil
}

func (e *Edge) check(u *url.URL) error {
	o, err := origin(u)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotAllowed, err)
	}
	e.mu.RLock()
	ok := slices.Contains(e.origins, o)
	e.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: %s is not an endpoint of provider %q; if the provider really serves from there, declare the endpoint in its plugin or discovery document", ErrNotAllowed, o, e.provider)
	}
	return nil
}

func (e *Edge) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects from %s", maxRedirects, redactURL(via[0].URL))
	}
	if err := e.check(req.URL); err != nil {
		return fmt.Errorf("refusing the redirect from %s: %w", redactURL(via[len(via)-1].URL), err)
	}
	return nil
}

// RoundTrip implements http.RoundTripper: it refuses an origin not on the
// allowlist, sets the User-Agent, and retries a GET without a body up to 3
// times in all on a refused or reset connection or a 502, 503 or 504 answer,
// waiting 250 ms, then twice that.
func (e *Edge) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := e.check(req.URL); err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", e.agent)
	retry := req.Method == http.MethodGet && req.Body == nil
	wait := e.backoff
	for attempt := 1; ; attempt++ {
		start := time.Now()
		resp, err := e.base.RoundTrip(req)
		e.logExchange(req, resp, err, attempt, time.Since(start))
		if !retry || attempt == maxAttempts || !transient(resp, err) {
			return resp, err
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// transient reports a fault worth another GET: the server was not reached or
// dropped the connection, or a gateway answered that the server is away.
func transient(resp *http.Response, err error) bool {
	if err != nil {
		return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
	}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func (e *Edge) logExchange(req *http.Request, resp *http.Response, err error, attempt int, took time.Duration) {
	ctx := req.Context()
	if !e.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("url", redactURL(req.URL)),
		slog.Int("attempt", attempt),
		slog.Duration("duration", took),
	}
	if req.Header.Get("Authorization") != "" {
		attrs = append(attrs, slog.String("authorization", redacted))
	}
	if req.GetBody != nil {
		if b, err := req.GetBody(); err == nil {
			body, _ := io.ReadAll(io.LimitReader(b, maxLoggedBody))
			b.Close()
			attrs = append(attrs, slog.String("request_body", Redact(string(body))))
		}
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
		e.log.LogAttrs(ctx, slog.LevelDebug, "http", attrs...)
		return
	}
	// Log the head of the body and hand the caller all of it, unread.
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxLoggedBody))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	attrs = append(attrs, slog.Int("status", resp.StatusCode), slog.String("response_body", Redact(string(head))))
	e.log.LogAttrs(ctx, slog.LevelDebug, "http", attrs...)
}
