package demoidp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

var allScopes = []string{"openid", "profile", "email", "offline_access"}

func startIDP(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.PollInterval == 0 {
		opts.PollInterval = time.Second
	}
	s, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// discover returns the go-oidc provider and an oauth2 config built from
// the discovery document.
func discover(t *testing.T, s *Server, scopes ...string) (*oidc.Provider, *oauth2.Config) {
	t.Helper()
	p, err := oidc.NewProvider(t.Context(), s.URL())
	if err != nil {
		t.Fatal(err)
	}
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	return p, &oauth2.Config{ClientID: ClientID, Endpoint: ep, Scopes: scopes}
}

// post sends a form and returns the status and the decoded JSON body (nil if
// the body is not JSON).
func post(t *testing.T, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	status, body := postRaw(t, u, form)
	var m map[string]any
	json.Unmarshal([]byte(body), &m)
	return status, m
}

func postRaw(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func poll(t *testing.T, s *Server, deviceCode string) (int, map[string]any) {
	t.Helper()
	return post(t, s.URL()+"/oauth/token", url.Values{
		"grant_type":  {GrantTypeDeviceCode},
		"client_id":   {ClientID},
		"device_code": {deviceCode},
	})
}

func refresh(t *testing.T, s *Server, rt string) (int, map[string]any) {
	t.Helper()
	return post(t, s.URL()+"/oauth/token", url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {ClientID},
		"refresh_token": {rt},
	})
}

func approveForm(t *testing.T, s *Server, code, user, action string) (int, string) {
	t.Helper()
	return postRaw(t, s.URL()+"/device", url.Values{"user_code": {code}, "user": {user}, "action": {action}})
}

// login runs the device flow with x/oauth2, approving through the hook.
func login(t *testing.T, s *Server, cfg *oauth2.Config, user string) *oauth2.Token {
	t.Helper()
	da, err := cfg.DeviceAuth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Approve(da.UserCode, user); err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.DeviceAccessToken(t.Context(), da)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type claims struct {
	Subject           string   `json:"sub"`
	PreferredUsername string   `json:"preferred_username"`
	Name              string   `json:"name"`
	Email             string   `json:"email"`
	EmailVerified     *bool    `json:"email_verified"`
	Groups            []string `json:"groups"`
}

func checkAlice(t *testing.T, where string, c claims) {
	t.Helper()
	if c.Subject != "u-1001-alice" || c.PreferredUsername != "alice" || c.Name != "Alice Liddell" ||
		c.Email != "alice@example.com" || c.EmailVerified == nil || !*c.EmailVerified ||
		!slices.Equal(c.Groups, []string{"admins", "developers"}) {
		t.Errorf("%s claims = %+v", where, c)
	}
}

var userCodeRE = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

func TestDeviceFlowEndToEnd(t *testing.T) {
	t.Parallel()
	s := startIDP(t, Options{})
	p, cfg := discover(t, s, allScopes...)
	if cfg.Endpoint.DeviceAuthURL != s.URL()+"/device_authorization" {
		t.Fatalf("device_authorization_endpoint = %q", cfg.Endpoint.DeviceAuthURL)
	}
	var disc struct {
		Revocation string `json:"revocation_endpoint"`
	}
	if err := p.Claims(&disc); err != nil || disc.Revocation != s.URL()+"/revoke" {
		t.Fatalf("revocation_endpoint = %q, %v", disc.Revocation, err)
	}

	da, err := cfg.DeviceAuth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !userCodeRE.MatchString(da.UserCode) {
		t.Errorf("user code %q not XXXX-XXXX base20", da.UserCode)
	}
	if da.VerificationURI != s.URL()+"/device" || da.VerificationURIComplete != s.URL()+"/device?user_code="+da.UserCode {
		t.Errorf("verification URIs = %q, %q", da.VerificationURI, da.VerificationURIComplete)
	}
	if da.Interval != 1 {
		t.Errorf("interval = %d, want 1", da.Interval)
	}
	if left := time.Until(da.Expiry); left < 9*time.Minute || left > 10*time.Minute {
		t.Errorf("expires in %v, want 10m", left)
	}
	if got := s.PendingUserCodes(); !slices.Equal(got, []string{da.UserCode}) || s.LastUserCode() != da.UserCode {
		t.Errorf("PendingUserCodes = %q, LastUserCode = %q", got, s.LastUserCode())
	}

	if status, body := poll(t, s, da.DeviceCode); status != http.StatusBadRequest || body["error"] != "authorization_pending" {
		t.Fatalf("poll before approval: %d %v", status, body)
	}

	// The verification page pre-fills the code.
	resp, err := http.Get(da.VerificationURIComplete)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `value="`+da.UserCode+`"`) ||
		!strings.Contains(string(page), `name="action" value="approve"`) {
		t.Fatalf("GET /device: %d\n%s", resp.StatusCode, page)
	}

	// Approve as a browser would, typing the code in lower case without the dash.
	typed := strings.ToLower(strings.ReplaceAll(da.UserCode, "-", ""))
	if status, body := approveForm(t, s, typed, "alice", "approve"); status != http.StatusOK || !strings.Contains(body, "Alice Liddell") {
		t.Fatalf("approve: %d\n%s", status, body)
	}
	if got := s.PendingUserCodes(); len(got) != 0 {
		t.Errorf("PendingUserCodes after approval = %q", got)
	}

	tok, err := cfg.DeviceAccessToken(t.Context(), da)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
		t.Fatalf("token = %+v", tok)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: ClientID}).Verify(t.Context(), rawID)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	checkAlice(t, "ID token", c)
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}

	ui, err := p.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	c = claims{}
	if err := ui.Claims(&c); err != nil {
		t.Fatal(err)
	}
	checkAlice(t, "userinfo", c)

	// The device code is single-use.
	if status, body := poll(t, s, da.DeviceCode); status != http.StatusBadRequest || body["error"] != "access_denied" {
		t.Errorf("reused device code: %d %v", status, body)
	}
	if n := s.TokenRequests("device_code"); n != 3 {
		t.Errorf("device_code token requests = %d, want 3", n)
	}
}

func TestScopesLimitClaimsAndRefreshToken(t *testing.T) {
	t.Parallel()
	s := startIDP(t, Options{})
	p, cfg := discover(t, s, "openid", "profile", "unknown-scope")
	tok := login(t, s, cfg, "bob")
	if tok.RefreshToken != "" {
		t.Errorf("refresh token issued without offline_access")
	}
	if scope := tok.Extra("scope"); scope != "openid profile" {
		t.Errorf("granted scope = %v", scope)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: ClientID}).Verify(t.Context(), tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var c claims
	idt.Claims(&c)
	if c.PreferredUsername != "bob" || !slices.Equal(c.Groups, []string{"developers"}) || c.Email != "" || c.EmailVerified != nil {
		t.Errorf("claims = %+v", c)
	}
}

func TestRefreshRotates(t *testing.T) {
	t.Parallel()
	s := startIDP(t, Options{AccessTokenLifetime: 2 * time.Second})
	p, cfg := discover(t, s, allScopes...)
	tok := login(t, s, cfg, "alice")
	if left := time.Until(tok.Expiry); left > 2*time.Second {
		t.Errorf("access token lives %v, want <= 2s", left)
	}

	// x/oauth2 refreshes a token that expires within 10s.
	tok2, err := cfg.TokenSource(t.Context(), tok).Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok2.AccessToken == tok.AccessToken || tok2.RefreshToken == "" || tok2.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh did not rotate: %+v", tok2)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: ClientID}).Verify(t.Context(), tok2.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	var c claims
	idt.Claims(&c)
	checkAlice(t, "refreshed ID token", c)

	if status, body := refresh(t, s, tok.RefreshToken); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("reused refresh token: %d %v", status, body)
	}
	status, body := refresh(t, s, tok2.RefreshToken)
	if status != http.StatusOK || body["refresh_token"] == tok2.RefreshToken {
		t.Fatalf("second refresh: %d %v", status, body)
	}
	if n, m := s.Refreshes(), s.TokenRequests(GrantTypeRefreshToken); n != 2 || m != 3 {
		t.Errorf("Refreshes = %d, refresh_token requests = %d; want 2, 3", n, m)
	}

	// Access tokens really expire.
	at := body["access_token"].(string)
	time.Sleep(2100 * time.Millisecond)
	if _, err := p.UserInfo(t.Context(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: at})); err == nil {
		t.Error("userinfo accepted an expired access token")
	}
}

func TestConcurrentRefreshOnlyOneWins(t *testing.T) {
	t.Parallel()
	s := startIDP(t, Options{})
	_, cfg := discover(t, s, allScopes...)
	tok := login(t, s, cfg, "alice")
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Go(func() { statuses[i], _ = refresh(t, s, tok.RefreshToken) })
	}
	wg.Wait()
	if ok := slices.DeleteFunc(slices.Clone(statuses), func(st int) bool { return st != http.StatusOK }); len(ok) != 1 {
		t.Errorf("statuses = %v, want exactly one 200", statuses)
	}
}

func TestAuthStyleAutoDetect(t *testing.T) {
	t.Parallel()
	s := startIDP(t, Options{})
	_, cfg := discover(t, s, allScopes...)
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleAutoDetect
	tok := login(t, s, cfg, "alice")
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	// x/oauth2 tries HTTP Basic first; the public client is refused
	// (invalid_client) and the request is repeated with client_id in the body.
	if n := s.TokenRequests(GrantTypeDeviceCode); n != 2 {
		t.Errorf("device_code requests = %d, want 2", n)
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	s := startIDP(t, Options{})
	p, cfg := discover(t, s, allScopes...)
	revoke := func(token, hint string) {
		t.Helper()
		status, body := postRaw(t, s.URL()+"/revoke", url.Values{"client_id": {ClientID}, "token": {token}, "token_type_hint": {hint}})
		if status != http.StatusOK {
			t.Fatalf("revoke: %d %s", status, body)
		}
	}
	userinfo := func(tok *oauth2.Token) error {
		_, err := p.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
		return err
	}

	// Revoking the refresh token kills it and the access token issued with it.
	tok := login(t, s, cfg, "alice")
	aliceRT := tok.RefreshToken
	if s.WasRevoked(tok.RefreshToken) {
		t.Fatal("WasRevoked before revocation")
	}
	revoke(tok.RefreshToken, "refresh_token")
	if !s.WasRevoked(tok.RefreshToken) {
		t.Error("WasRevoked = false after revocation")
	}
	if status, body := refresh(t, s, tok.RefreshToken); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("refresh after revocation: %d %v", status, body)
	}
	if err := userinfo(tok); err == nil {
		t.Error("access token still works after its refresh token was revoked")
	}

	// Revoking only the access token leaves the refresh token usable.
	tok = login(t, s, cfg, "bob")
	if err := userinfo(tok); err != nil {
		t.Fatal(err)
	}
	revoke(tok.AccessToken, "access_token")
	if err := userinfo(tok); err == nil {
		t.Error("access token still works after revocation")
	}
	if status, body := refresh(t, s, tok.RefreshToken); status != http.StatusOK {
		t.Errorf("refresh after access token revocation: %d %v", status, body)
	}

	// Unknown tokens are fine (RFC 7009 §2.2).
	revoke("no-such-token", "")
	want := []Revocation{{aliceRT, "refresh_token"}, {tok.AccessToken, "access_token"}, {"no-such-token", ""}}
	if got := s.Revocations(); !slices.Equal(got, want) {
		t.Errorf("Revocations = %v, want %v", got, want)
	}
}

func TestDeny(t *testing.T) {
	t.Parallel()
	s := startIDP(t, Options{})
	_, cfg := discover(t, s, allScopes...)
	da, err := cfg.DeviceAuth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if status, body := approveForm(t, s, da.UserCode, "", "deny"); status != http.StatusOK || !strings.Contains(body, "denied") {
		t.Fatalf("deny form: %d\n%s", status, body)
	}
	_, err = cfg.DeviceAccessToken(t.Context(), da)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "access_denied" {
		t.Fatalf("DeviceAccessToken after deny: %v", err)
	}
	if err := s.Approve(da.UserCode, "alice"); !errors.Is(err, ErrUserCodeUsed) {
		t.Errorf("Approve after deny = %v", err)
	}

	// The hook does the same.
	da, err = cfg.DeviceAuth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deny(da.UserCode); err != nil {
		t.Fatal(err)
	}
	if status, body := poll(t, s, da.DeviceCode); status != http.StatusBadRequest || body["error"] != "access_denied" {
		t.Errorf("poll after Deny: %d %v", status, body)
	}
}

func TestExpiredCode(t *testing.T) {
	t.Parallel()
	s := startIDP(t, Options{DeviceCodeLifetime: 2 * time.Second})
	_, cfg := discover(t, s, allScopes...)
	da, err := cfg.DeviceAuth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if status, body := poll(t, s, da.DeviceCode); body["error"] != "authorization_pending" {
		t.Fatalf("first poll: %d %v", status, body)
	}
	time.Sleep(2100 * time.Millisecond)
	if status, body := poll(t, s, da.DeviceCode); status != http.StatusBadRequest || body["error"] != "expired_token" {
		t.Errorf("poll after expiry: %d %v", status, body)
	}
	if err := s.Approve(da.UserCode, "alice"); !errors.Is(err, ErrExpiredUserCode) {
		t.Errorf("Approve expired = %v", err)
	}
	if status, body := approveForm(t, s, da.UserCode, "alice", "approve"); status != http.StatusBadRequest || !strings.Contains(body, "expired") {
		t.Errorf("form with expired code: %d\n%s", status, body)
	}
	if got := s.PendingUserCodes(); len(got) != 0 {
		t.Errorf("PendingUserCodes = %q", got)
	}
}

func TestDeviceFormErrors(t *testing.T) {
	t.Parallel()
	s := startIDP(t, Options{})
	_, cfg := discover(t, s, allScopes...)
	da, err := cfg.DeviceAuth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code, user, action string
		status             int
		says               string
	}{
		{"BBBB-BBBB", "alice", "approve", 400, "unknown user code"},
		{"", "alice", "approve", 400, "unknown user code"},
		{da.UserCode, "mallory", "approve", 400, "unknown user"},
		{da.UserCode, "alice", "", 400, "action must be"},
		{da.UserCode, "alice", "approve", 200, "Signed in as Alice Liddell"},
		{da.UserCode, "bob", "approve", 409, "already approved or denied"},
	} {
		status, body := approveForm(t, s, tc.code, tc.user, tc.action)
		if status != tc.status || !strings.Contains(body, tc.says) {
			t.Errorf("POST /device %q %q %q: %d, want %d with %q\n%s", tc.code, tc.user, tc.action, status, tc.status, tc.says, body)
		}
	}
	if err := s.Approve("ZZZZ-ZZZZ", "alice"); !errors.Is(err, ErrUnknownUserCode) {
		t.Errorf("Approve unknown = %v", err)
	}
}

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	s := startIDP(t, Options{})
	_, cfg := discover(t, s, allScopes...)
	da, err := cfg.DeviceAuth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s.FailPolls(2, http.StatusServiceUnavailable)
	s.SlowDownPolls(1)
	for i, want := range []struct {
		status int
		err    string
	}{
		{503, "temporarily_unavailable"},
		{503, "temporarily_unavailable"},
		{400, "slow_down"},
		{400, "authorization_pending"},
	} {
		if status, body := poll(t, s, da.DeviceCode); status != want.status || body["error"] != want.err {
			t.Errorf("poll %d: %d %v, want %d %s", i, status, body, want.status, want.err)
		}
	}
	// Faults apply to device_code polls only.
	s.FailPolls(1, http.StatusBadGateway)
	if status, body := refresh(t, s, "whatever"); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("refresh with armed FailPolls: %d %v", status, body)
	}
	if status, _ := poll(t, s, da.DeviceCode); status != http.StatusBadGateway {
		t.Errorf("armed FailPolls poll: %d", status)
	}
	// Injected faults did not consume the code.
	if err := s.Approve(da.UserCode, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.DeviceAccessToken(t.Context(), da); err != nil {
		t.Fatal(err)
	}
	if n := s.TokenRequests(GrantTypeDeviceCode); n != 6 {
		t.Errorf("device_code requests = %d, want 6", n)
	}
}

func TestOmitFields(t *testing.T) {
	t.Parallel()
	s := startIDP(t, Options{})
	form := url.Values{"client_id": {ClientID}, "scope": {"openid"}}
	s.OmitInterval(true)
	s.OmitExpiresIn(true)
	status, body := post(t, s.URL()+"/device_authorization", form)
	if _, ok := body["interval"]; ok || status != http.StatusOK || body["device_code"] == nil || body["user_code"] == nil {
		t.Errorf("with OmitInterval: %d %v", status, body)
	}
	if _, ok := body["expires_in"]; ok {
		t.Errorf("with OmitExpiresIn: %v", body)
	}
	s.OmitInterval(false)
	s.OmitExpiresIn(false)
	if _, body = post(t, s.URL()+"/device_authorization", form); body["interval"] != 1.0 || body["expires_in"] != 600.0 {
		t.Errorf("without omissions: %v", body)
	}
	if status, body = post(t, s.URL()+"/device_authorization", url.Values{"client_id": {"nobody"}}); status == http.StatusOK {
		t.Errorf("unknown client accepted: %v", body)
	}
}

func TestStartAndClose(t *testing.T) {
	t.Parallel()
	if _, err := Start(t.Context(), Options{Addr: "0.0.0.0:0"}); err == nil {
		t.Error("Start on 0.0.0.0 succeeded")
	}
	ctx, cancel := context.WithCancel(t.Context())
	s, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Errorf("URL = %q", s.URL())
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(s.URL() + "/.well-known/openid-configuration")
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still up after context cancel")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after cancel: %v", err)
	}
}

func TestOptionDefaults(t *testing.T) {
	t.Parallel()
	o := Options{PollInterval: 1500 * time.Millisecond, DeviceCodeLifetime: 10 * time.Millisecond}.withDefaults()
	if o.Addr != "127.0.0.1:0" || o.PollInterval != 2*time.Second || o.DeviceCodeLifetime != time.Second ||
		o.AccessTokenLifetime != 10*time.Minute || o.IDTokenLifetime != time.Hour || o.RefreshTokenLifetime != 24*time.Hour || o.Logger == nil {
		t.Errorf("withDefaults = %+v", o)
	}
	if d := (Options{}).withDefaults(); d.PollInterval != 5*time.Second || d.DeviceCodeLifetime != 10*time.Minute {
		t.Errorf("defaults = %+v", d)
	}
}
