// Package peer runs idplug's conformance peer for tests: panva's
// oidc-provider (npm, pinned by package-lock.json) under Node on 127.0.0.1,
// as one tenant per identity provider idplug has a plugin for: a Keycloak
// realm, an Auth0 tenant, an Amazon Cognito user pool with the device-grant
// service in front of it, a GitLab instance, GitHub (github.com and its REST
// API), a Microsoft Entra ID directory, Google (accounts.google.com and
// oauth2.googleapis.com) and an Okta org with its org and "default"
// authorization servers. A thin shim per vendor reproduces its documented
// wire behaviour; peer.js and tenants/*.js say exactly what they fake.
//
// Set it up once with `npm ci --prefix internal/peer`. Without Node or the
// installed packages, Start skips the test, or fails it when
// IDPLUG_REQUIRE_PEER=1 (as CI sets).
package peer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// RequireEnv names the environment variable that turns a peer that cannot
// start into a test failure instead of a skip.
const RequireEnv = "IDPLUG_REQUIRE_PEER"

// Options tune the peer; zero values keep its defaults.
type Options struct {
	// AccessTokenTTL is the lifetime of access and ID tokens (default 5 min).
	AccessTokenTTL time.Duration
	// DeviceCodeTTL is how long a device code stays valid (default 600 s,
	// Keycloak's default).
	DeviceCodeTTL time.Duration
	// AdvertisedExpiresIn, when set, is the expires_in devices are told:
	// longer than DeviceCodeTTL, it makes a client poll past the real expiry
	// and meet the provider's own expired_token.
	AdvertisedExpiresIn time.Duration
	// Interval is the polling interval in device authorization responses
	// (default 1 s).
	Interval time.Duration
}

// Peer is a running conformance peer. Every origin also serves the control
// API (SlowDown, BreakIDTokens, ForeignTenant, StatsOf, Active); origins of
// one tenant share its state.
type Peer struct {
	// Keycloak is the Keycloak server: the realm Realm is under /realms/.
	Keycloak string
	// Auth0 is the Auth0 tenant's domain (issuer Auth0 + "/").
	Auth0 string
	// Cognito is the Cognito user pool domain (token, userInfo, revoke);
	// Device the Cognito device-grant service in front of it, which devices
	// poll.
	Cognito, Device string
	// GitLab is the GitLab instance; its issuer is GitLab itself, its
	// discovery names no device authorization endpoint.
	GitLab string `json:"gitlab"`
	// GitHub is github.com (device flow, token endpoint, the verification
	// page /login/device); GitHubAPI is api.github.com (GET /user).
	GitHub    string `json:"github"`
	GitHubAPI string `json:"githubAPI"`
	// Entra is login.microsoftonline.com: endpoints under /{tenant}/ for
	// EntraTenant, EntraDomain, "organizations" and "common"; issuer
	// Entra + "/" + EntraTenant + "/v2.0"; verification page
	// Entra + "/devicelogin".
	Entra string
	// EntraTenant is the directory's tenant ID (a GUID), EntraDomain its
	// domain (idplug.onmicrosoft.com).
	EntraTenant, EntraDomain string
	// EntraOtherTenant is the tenant ID ForeignTenant puts in tid.
	EntraOtherTenant string
	// Google is accounts.google.com: the issuer, discovery and the
	// verification page /device; GoogleAPIs is oauth2.googleapis.com:
	// device authorization, token, revocation, userinfo and keys.
	Google     string
	GoogleAPIs string `json:"googleAPIs"`
	// Okta is the Okta org: the org authorization server (issuer Okta,
	// /oauth2/v1/…) and the custom one, issuer Okta + "/oauth2/default";
	// both send users to Okta + "/activate".
	Okta string
	// Realm is the Keycloak realm.
	Realm string
	// UserPoolID is the Cognito user pool's ID; its issuer is
	// Cognito + "/" + UserPoolID.
	UserPoolID string
	// Audience is the API identifier the Auth0 tenant accepts.
	Audience string
	// GroupsClaim is the namespaced claim holding the Auth0 user's groups.
	GroupsClaim string
	// Clients are the client IDs registered at each tenant, by name:
	// keycloak, keycloak-pkce (a Keycloak client that requires PKCE with
	// S256), auth0, cognito, gitlab, github (a GitHub App: expiring tokens
	// with refresh tokens), github-oauth-app (an OAuth App: tokens that never
	// expire, no refresh token), entra, google, okta (known to both Okta
	// servers).
	Clients map[string]string
	// Secrets are client secrets, by the same names: google (required by
	// Google for its device flow) and github (the GitHub App's; this peer
	// accepts a refresh without it, and refuses a wrong one).
	Secrets map[string]string
}

// dir is this package's source directory, which holds peer.js and, after
// `npm ci --prefix internal/peer`, node_modules.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// Start runs a peer for the duration of t. It skips t when Node or the npm
// packages are missing, unless IDPLUG_REQUIRE_PEER=1, which fails it.
func Start(t testing.TB, opts Options) *Peer {
	t.Helper()
	unavailable := func(format string, args ...any) *Peer {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("conformance peer: %s (%s=1)", msg, RequireEnv)
		}
		t.Skipf("conformance peer unavailable: %s; set it up with `npm ci --prefix internal/peer`", msg)
		return nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return unavailable("node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join(dir(), "node_modules", "oidc-provider")); err != nil {
		return unavailable("internal/peer/node_modules has no oidc-provider")
	}
	settings := map[string]int{}
	for name, d := range map[string]time.Duration{
		"accessTokenTTL": opts.AccessTokenTTL, "deviceCodeTTL": opts.DeviceCodeTTL,
		"advertisedExpiresIn": opts.AdvertisedExpiresIn, "interval": opts.Interval,
	} {
		if d > 0 {
			settings[name] = int((d + time.Second - 1) / time.Second) // whole seconds, rounded up
		}
	}
	args, _ := json.Marshal(settings)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "peer.js", string(args))
	cmd.Dir = dir()
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return unavailable("%v", err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("conformance peer: starting node: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("conformance peer stderr:\n%s", stderr.String())
		}
	})
	line := make(chan []byte, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		if sc.Scan() {
			line <- sc.Bytes()
		}
		close(line)
		io.Copy(io.Discard, stdout)
	}()
	var first []byte
	select {
	case first = <-line:
	case <-time.After(20 * time.Second):
	}
	var p Peer
	if err := json.Unmarshal(first, &p); err != nil || p.Keycloak == "" {
		// Node and the packages are there: this is a bug, not a setup step.
		t.Fatalf("conformance peer: node peer.js did not start:\n%s", stderr.String())
	}
	return &p
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Users the peer knows, for Approve.
// Each tenant shapes them into its own claims (tenants/*.js); at GitHub,
// Bob keeps his e-mail address private.
const (
	Alice = "alice" // groups admins and dev, realm role developer
	Bob   = "bob"   // no groups
)

var (
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)
	xsrfField  = regexp.MustCompile(`name="xsrf" value="([^"]+)"`)
)

// browser is one person's browser: a cookie jar and the pages it saw.
type browser struct {
	c    *http.Client
	page string
	url  string
}

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (b *browser) do(req *http.Request) error {
	resp, err := b.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	b.page, b.url = string(body), resp.Request.URL.String()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s\n%s", req.Method, resp.Request.URL, resp.Status, body)
	}
	return nil
}

func (b *browser) get(u string) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	return b.do(req)
}

// submit posts the page's form with fields, keeping its xsrf field.
func (b *browser) submit(fields url.Values) error {
	m := formAction.FindStringSubmatch(b.page)
	if m == nil {
		return fmt.Errorf("no form on %s:\n%s", b.url, b.page)
	}
	action, err := url.Parse(b.url)
	if err != nil {
		return err
	}
	if action, err = action.Parse(m[1]); err != nil {
		return err
	}
	if x := xsrfField.FindStringSubmatch(b.page); x != nil {
		fields.Set("xsrf", x[1])
	}
	req, err := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(fields.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// Approve does what a person does in a browser: opens verificationURI,
// enters userCode, confirms, signs in as user (any password) and consents.
// verificationURI is the page a tenant sent the device to: Keycloak's
// /realms/{realm}/device, Auth0's and Okta's /activate, the Cognito
// device-grant service's /device, GitLab's /oauth/device, GitHub's
// /login/device, Entra's /devicelogin, Google's /device; the vendors' own
// pages lead to oidc-provider's, whose forms it follows.
func Approve(verificationURI, userCode, user string) error {
	b := newBrowser()
	steps := []func() error{
		func() error { return b.get(verificationURI) },
		func() error { return b.submit(url.Values{"user_code": {userCode}}) },
		func() error { return b.submit(url.Values{"user_code": {userCode}, "confirm": {"yes"}}) },
		func() error { return b.submit(url.Values{"prompt": {"login"}, "login": {user}, "password": {"any"}}) },
		func() error { return b.submit(url.Values{"prompt": {"consent"}}) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("approving %s, step %d: %w", userCode, i+1, err)
		}
	}
	if !strings.Contains(b.page, "Sign-in Success") {
		return fmt.Errorf("approving %s: ended on %s:\n%s", userCode, b.url, b.page)
	}
	return nil
}

// Deny opens verificationURI, enters userCode and aborts on the
// confirmation page, which denies the device's request.
func Deny(verificationURI, userCode string) error {
	b := newBrowser()
	if err := b.get(verificationURI); err != nil {
		return err
	}
	if err := b.submit(url.Values{"user_code": {userCode}}); err != nil {
		return err
	}
	// oidc-provider answers the abort with a page saying the sign-in "was
	// interrupted"; the device code is now denied.
	err := b.submit(url.Values{"user_code": {userCode}, "abort": {"yes"}})
	if !strings.Contains(b.page, "was interrupted") {
		return fmt.Errorf("denying %s: %v, ended on %s:\n%s", userCode, err, b.url, b.page)
	}
	return nil
}

// control calls the peer's control API on origin.
func control(method, origin, path string, out any) error {
	req, err := http.NewRequest(method, origin+"/_peer/"+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// SlowDown makes the tenant at origin (any of its origins) answer its next n
// pending polls with slow_down, in the vendor's shape: GitHub's names the
// device's interval plus 5 s, Google's is HTTP 403, Auth0's 429.
func SlowDown(origin string, n int) error {
	return control(http.MethodPost, origin, fmt.Sprintf("slow-down?count=%d", n), nil)
}

// BreakIDTokens makes the tenant at origin tamper with every ID token it
// issues from now on, so that its signature no longer matches. GitHub
// issues no ID tokens and answers an error.
func BreakIDTokens(origin string) error {
	return control(http.MethodPost, origin, "break-id-tokens", nil)
}

// ForeignTenant makes the Entra tenant at origin issue its next n ID tokens
// with another tenant's ID (EntraOtherTenant) in tid and its own issuer in
// iss: correctly signed tokens that an issuer template such as
// {origin}/{tid}/v2.0 refuses.
func ForeignTenant(origin string, n int) error {
	return control(http.MethodPost, origin, fmt.Sprintf("foreign-tenant?count=%d", n), nil)
}

// Stats counts what a tenant saw: polls where devices poll (Cognito's
// device-grant service counts its own), refreshes and revocations where
// tokens are issued. Origins of one tenant (GitHub's, Google's, Okta's two
// servers) count together.
type Stats struct {
	Polls       int `json:"polls"`       // device_code token requests
	Refreshes   int `json:"refreshes"`   // refresh_token token requests
	Revocations int `json:"revocations"` // revocation requests
}

// StatsOf returns what the tenant at origin saw.
func StatsOf(origin string) (Stats, error) {
	var s Stats
	err := control(http.MethodGet, origin, "stats", &s)
	return s, err
}

// Active reports whether the provider at origin still honours token, a
// refresh or access token it issued (GitHub's with their ghu_ and ghr_
// prefixes; at Okta, of either authorization server).
func Active(origin, token string) (bool, error) {
	var out struct {
		Active bool `json:"active"`
	}
	err := control(http.MethodGet, origin, "token?value="+url.QueryEscape(token), &out)
	return out.Active, err
}
