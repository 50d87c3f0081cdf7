package peer

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// post sends a form and decodes the JSON answer.
func post(t *testing.T, endpoint string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(endpoint, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// TestShims checks the peer's wire behaviour per tenant, as the plugins'
// testdata records the real services': statuses, error names, interval.
func TestShims(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{DeviceCodeTTL: 2 * time.Second, AdvertisedExpiresIn: time.Minute})
	kc := p.Keycloak + "/realms/" + p.Realm + "/protocol/openid-connect"

	t.Run("keycloak: interval added, errors 400, slow_down on request", func(t *testing.T) {
		status, da := post(t, kc+"/auth/device", url.Values{"client_id": {p.Clients["keycloak"]}, "scope": {"openid"}})
		if status != 200 || da["interval"] != 1.0 || da["expires_in"] != 60.0 {
			t.Fatalf("%d %v", status, da)
		}
		poll := url.Values{"client_id": {p.Clients["keycloak"]}, "grant_type": {deviceGrant}, "device_code": {da["device_code"].(string)}}
		if status, body := post(t, kc+"/token", poll); status != 400 || body["error"] != "authorization_pending" {
			t.Errorf("%d %v", status, body)
		}
		if err := SlowDown(p.Keycloak, 1); err != nil {
			t.Fatal(err)
		}
		if status, body := post(t, kc+"/token", poll); status != 400 || body["error"] != "slow_down" {
			t.Errorf("%d %v", status, body)
		}
	})

	t.Run("auth0: audience required, 403 and 429, expired_token once", func(t *testing.T) {
		client := p.Clients["auth0"]
		if status, body := post(t, p.Auth0+"/oauth/device/code", url.Values{"client_id": {client}}); status != 403 || !strings.HasPrefix(body["error_description"].(string), "Service not found") {
			t.Errorf("no audience: %d %v", status, body)
		}
		_, da := post(t, p.Auth0+"/oauth/device/code", url.Values{"client_id": {client}, "audience": {p.Audience}, "scope": {"openid"}})
		poll := url.Values{"client_id": {client}, "grant_type": {deviceGrant}, "device_code": {da["device_code"].(string)}}
		if status, body := post(t, p.Auth0+"/oauth/token", poll); status != 403 || body["error"] != "authorization_pending" {
			t.Errorf("pending: %d %v", status, body)
		}
		SlowDown(p.Auth0, 1)
		if status, body := post(t, p.Auth0+"/oauth/token", poll); status != 429 || body["error"] != "slow_down" {
			t.Errorf("slow_down: %d %v", status, body)
		}
		time.Sleep(2100 * time.Millisecond)
		for _, want := range []string{"expired_token", "invalid_grant", "invalid_grant"} {
			if status, body := post(t, p.Auth0+"/oauth/token", poll); status != 403 || body["error"] != want {
				t.Errorf("after expiry: %d %v, want 403 %s", status, body, want)
			}
		}
	})

	t.Run("github, okta: denied", func(t *testing.T) {
		_, da := call(t, "POST", p.GitHub+"/login/device/code", url.Values{"client_id": {p.Clients["github"]}}, "Accept", "application/json")
		if err := Deny(str(da["verification_uri"]), str(da["user_code"])); err != nil {
			t.Fatal(err)
		}
		poll := url.Values{"client_id": {p.Clients["github"]}, "grant_type": {deviceGrant}, "device_code": {str(da["device_code"])}}
		if resp, body := call(t, "POST", p.GitHub+"/login/oauth/access_token", poll, "Accept", "application/json"); resp.StatusCode != 200 || body["error"] != "access_denied" {
			t.Errorf("github: %d %v", resp.StatusCode, body)
		}

		v1 := p.Okta + "/oauth2/default/v1"
		_, da = post(t, v1+"/device/authorize", url.Values{"client_id": {p.Clients["okta"]}, "scope": {"openid"}})
		if err := Deny(str(da["verification_uri"]), "WRONG-CODE"); err == nil {
			t.Error("okta: a wrong user code was taken")
		}
		if err := Deny(str(da["verification_uri"]), str(da["user_code"])); err != nil {
			t.Fatal(err)
		}
		poll = url.Values{"client_id": {p.Clients["okta"]}, "grant_type": {deviceGrant}, "device_code": {str(da["device_code"])}}
		if status, body := post(t, v1+"/token", poll); status != 403 || body["error"] != "access_denied" {
			t.Errorf("okta: %d %v", status, body)
		}
	})

	t.Run("gitlab, github, entra, google: expired_token", func(t *testing.T) {
		type device struct {
			name, token string
			form        url.Values
			status      int
		}
		var devices []device
		start := func(name, endpoint, token string, form url.Values, status int) {
			resp, da := call(t, "POST", endpoint, form, "Accept", "application/json")
			if resp.StatusCode != 200 || da["expires_in"] != 60.0 {
				t.Fatalf("%s: %d %v", name, resp.StatusCode, da)
			}
			poll := url.Values{"grant_type": {deviceGrant}, "device_code": {str(da["device_code"])}}
			for _, k := range []string{"client_id", "client_secret"} {
				if v := form.Get(k); v != "" {
					poll.Set(k, v)
				}
			}
			devices = append(devices, device{name, token, poll, status})
		}
		entra := p.Entra + "/common/oauth2/v2.0"
		start("gitlab", p.GitLab+"/oauth/authorize_device", p.GitLab+"/oauth/token", url.Values{"client_id": {p.Clients["gitlab"]}, "scope": {"openid"}}, 400)
		start("github", p.GitHub+"/login/device/code", p.GitHub+"/login/oauth/access_token", url.Values{"client_id": {p.Clients["github"]}}, 200)
		start("entra", entra+"/devicecode", entra+"/token", url.Values{"client_id": {p.Clients["entra"]}, "scope": {"openid"}}, 400)
		start("google", p.GoogleAPIs+"/device/code", p.GoogleAPIs+"/token", url.Values{"client_id": {p.Clients["google"]}, "client_secret": {p.Secrets["google"]}, "scope": {"openid"}}, 400)
		time.Sleep(2100 * time.Millisecond)
		for _, d := range devices {
			if resp, body := call(t, "POST", d.token, d.form, "Accept", "application/json"); resp.StatusCode != d.status || body["error"] != "expired_token" {
				t.Errorf("%s: %d %v, want %d expired_token", d.name, resp.StatusCode, body, d.status)
			}
		}
	})

	t.Run("cognito device service: query string, 400s, denied", func(t *testing.T) {
		client := p.Clients["cognito"]
		tok := p.Device + "/token?"
		if status, _ := post(t, tok+url.Values{"client_id": {"nope"}}.Encode(), nil); status != 401 {
			t.Errorf("unknown client: %d", status)
		}
		if status, _ := post(t, tok+url.Values{"client_id": {client}, "grant_type": {"password"}}.Encode(), nil); status != 405 {
			t.Errorf("bad request: %d", status)
		}
		status, da := post(t, tok+url.Values{"client_id": {client}, "scope": {"openid email profile"}}.Encode(), nil)
		if status != 200 || da["interval"] != 1.0 {
			t.Fatalf("codes: %d %v", status, da)
		}
		poll := tok + url.Values{"client_id": {client}, "grant_type": {deviceGrant}, "device_code": {da["device_code"].(string)}}.Encode()
		if status, body := post(t, poll, url.Values{"device_code": {"form is ignored"}}); status != 400 || body["error"] != "authorization_pending" {
			t.Errorf("pending: %d %v", status, body)
		}
		if err := Deny(da["verification_uri"].(string), da["user_code"].(string)); err != nil {
			t.Fatal(err)
		}
		if status, body := post(t, poll, nil); status != 400 || body["error"] != "denied" {
			t.Errorf("denied: %d %v", status, body)
		}
	})
}

// call sends a request with form as the body (nil: none) and headers, and
// returns the answer: its status, headers and body, decoded as JSON when it
// is JSON.
func call(t *testing.T, method, endpoint string, form url.Values, headers ...string) (*http.Response, map[string]any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, endpoint, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if strings.Contains(resp.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, endpoint, err, raw)
		}
	} else {
		out = map[string]any{"_raw": string(raw)}
	}
	return resp, out
}

// claims decodes a JWT's payload without verifying it.
func claims(t *testing.T, jwt any) map[string]any {
	t.Helper()
	s, _ := jwt.(string)
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %v", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// approve approves userCode at page as Alice.
func approve(t *testing.T, page string, userCode any) {
	t.Helper()
	if err := Approve(page, userCode.(string), Alice); err != nil {
		t.Fatal(err)
	}
}

// str is v if it is a string, else "".
func str(v any) string {
	s, _ := v.(string)
	return s
}

// TestKeycloakPKCE: the idplug-pkce client requires S256 PKCE on the
// device grant, with Keycloak's errors; a wrong or missing code_verifier
// after approval is invalid_grant and leaves the device code usable.
func TestKeycloakPKCE(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{})
	kc := p.Keycloak + "/realms/" + p.Realm + "/protocol/openid-connect"
	client := p.Clients["keycloak-pkce"]
	verifier := oauth2.GenerateVerifier()
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{}, "Missing parameter: code_challenge_method"},
		{url.Values{"code_challenge": {verifier}, "code_challenge_method": {"plain"}}, "Invalid parameter: code_challenge_method"},
		{url.Values{"code_challenge_method": {"S256"}}, "Missing parameter: code_challenge"},
	} {
		tc.form.Set("client_id", client)
		tc.form.Set("scope", "openid")
		if status, body := post(t, kc+"/auth/device", tc.form); status != 400 || body["error"] != "invalid_request" || body["error_description"] != tc.want {
			t.Errorf("device request %v: %d %v, want 400 invalid_request %q", tc.form, status, body, tc.want)
		}
	}

	status, da := post(t, kc+"/auth/device", url.Values{
		"client_id": {client}, "scope": {"openid"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	})
	if status != 200 {
		t.Fatalf("device request with S256: %d %v", status, da)
	}
	poll := func(v string) (int, map[string]any) {
		form := url.Values{"client_id": {client}, "grant_type": {deviceGrant}, "device_code": {str(da["device_code"])}}
		if v != "" {
			form.Set("code_verifier", v)
		}
		return post(t, kc+"/token", form)
	}
	if status, body := poll(oauth2.GenerateVerifier()); status != 400 || body["error"] != "authorization_pending" {
		t.Errorf("pending, wrong verifier: %d %v (PKCE is checked after approval)", status, body)
	}
	approve(t, str(da["verification_uri"]), da["user_code"])
	for v, want := range map[string]string{
		oauth2.GenerateVerifier(): "PKCE verification failed: Code mismatch",
		"":                        "PKCE code verifier not specified",
		"short":                   "PKCE verification failed: Invalid code verifier",
	} {
		if status, body := poll(v); status != 400 || body["error"] != "invalid_grant" || body["error_description"] != want {
			t.Errorf("verifier %q: %d %v, want 400 invalid_grant %q", v, status, body, want)
		}
	}
	if status, body := poll(verifier); status != 200 || body["access_token"] == nil {
		t.Errorf("right verifier: %d %v", status, body)
	}

	// The other client takes PKCE when sent, and checks it the same way.
	other := p.Clients["keycloak"]
	if status, body := post(t, kc+"/auth/device", url.Values{"client_id": {other}, "code_challenge": {"x"}, "code_challenge_method": {"S256"}}); status != 400 || body["error_description"] != "Invalid parameter: code_challenge" {
		t.Errorf("malformed challenge: %d %v", status, body)
	}
}

// TestGitLab: GitLab's paths and discovery (no device endpoint), its claims
// (groups in userinfo only), a refresh token without offline_access,
// rotated on refresh, and revocation.
func TestGitLab(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{})
	client := p.Clients["gitlab"]

	_, disc := call(t, "GET", p.GitLab+"/.well-known/openid-configuration", nil)
	if disc["issuer"] != p.GitLab || disc["token_endpoint"] != p.GitLab+"/oauth/token" || disc["jwks_uri"] != p.GitLab+"/oauth/discovery/keys" {
		t.Errorf("discovery: %v", disc)
	}
	if _, ok := disc["device_authorization_endpoint"]; ok {
		t.Errorf("discovery names a device endpoint, GitLab's does not: %v", disc)
	}

	status, da := post(t, p.GitLab+"/oauth/authorize_device", url.Values{"client_id": {client}, "scope": {"openid profile email"}})
	if status != 200 || da["verification_uri"] != p.GitLab+"/oauth/device" || da["interval"] != 1.0 {
		t.Fatalf("device: %d %v", status, da)
	}
	poll := url.Values{"client_id": {client}, "grant_type": {deviceGrant}, "device_code": {str(da["device_code"])}}
	if status, body := post(t, p.GitLab+"/oauth/token", poll); status != 400 || body["error"] != "authorization_pending" {
		t.Errorf("pending: %d %v", status, body)
	}
	approve(t, str(da["verification_uri"]), da["user_code"])
	status, tok := post(t, p.GitLab+"/oauth/token", poll)
	if status != 200 || tok["refresh_token"] == nil || tok["created_at"] == nil {
		t.Fatalf("token: %d %v", status, tok)
	}
	id := claims(t, tok["id_token"])
	if id["iss"] != p.GitLab || id["sub"] != "1238412" || id["groups"] != nil || !reflect.DeepEqual(id["groups_direct"], []any{"idplug/admins", "idplug/dev"}) {
		t.Errorf("ID token: %v", id)
	}
	_, info := call(t, "GET", p.GitLab+"/oauth/userinfo", nil, "Authorization", "Bearer "+str(tok["access_token"]))
	if info["nickname"] != "alice" || info["name"] != "Alice Liddell" || !reflect.DeepEqual(info["groups"], []any{"idplug", "idplug/admins", "idplug/dev"}) {
		t.Errorf("userinfo: %v", info)
	}

	status, fresh := post(t, p.GitLab+"/oauth/token", url.Values{"client_id": {client}, "grant_type": {"refresh_token"}, "refresh_token": {str(tok["refresh_token"])}})
	if status != 200 || fresh["refresh_token"] == nil || fresh["refresh_token"] == tok["refresh_token"] {
		t.Errorf("refresh: %d %v, want a new refresh token", status, fresh)
	}
	if status, _ := post(t, p.GitLab+"/oauth/revoke", url.Values{"client_id": {client}, "token": {str(fresh["refresh_token"])}}); status != 200 {
		t.Errorf("revoke: %d", status)
	}
	if ok, err := Active(p.GitLab, str(fresh["refresh_token"])); ok || err != nil {
		t.Errorf("revoked refresh token active %v, %v", ok, err)
	}
	if s, _ := StatsOf(p.GitLab); s != (Stats{Polls: 2, Refreshes: 1, Revocations: 1}) {
		t.Errorf("stats %+v", s)
	}
}

// TestGitHub: github.com's device flow (form-encoded answers unless JSON is
// accepted, every error HTTP 200, GitHub's error names, slow_down with the
// longer interval, expiring user tokens) and the REST API's /user.
func TestGitHub(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{})
	client := p.Clients["github"]
	codeURL, tokenURL := p.GitHub+"/login/device/code", p.GitHub+"/login/oauth/access_token"
	asJSON := []string{"Accept", "application/json"}

	// Without Accept: application/json, form-encoded.
	resp, raw := call(t, "POST", codeURL, url.Values{"client_id": {client}, "scope": {"read:user user:email"}})
	form, err := url.ParseQuery(str(raw["_raw"]))
	if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-www-form-urlencoded") ||
		form.Get("verification_uri") != p.GitHub+"/login/device" || form.Get("interval") != "1" || form.Get("device_code") == "" {
		t.Fatalf("device code, form-encoded: %d %s %v", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	poll := url.Values{"client_id": {client}, "grant_type": {deviceGrant}, "device_code": {form.Get("device_code")}}
	resp, raw = call(t, "POST", tokenURL, poll)
	if pending, _ := url.ParseQuery(str(raw["_raw"])); resp.StatusCode != 200 || pending.Get("error") != "authorization_pending" || pending.Get("error_uri") == "" {
		t.Errorf("pending, form-encoded: %d %v", resp.StatusCode, raw)
	}

	// With it, JSON; errors are HTTP 200 all the same.
	resp, da := call(t, "POST", codeURL, url.Values{"client_id": {client}, "scope": {"read:user"}}, asJSON...)
	if resp.StatusCode != 200 || da["verification_uri"] != p.GitHub+"/login/device" || da["verification_uri_complete"] != nil || da["expires_in"] == nil {
		t.Fatalf("device code, JSON: %d %v", resp.StatusCode, da)
	}
	poll.Set("device_code", str(da["device_code"]))
	SlowDown(p.GitHub, 2)
	for _, want := range []float64{6, 11} {
		if resp, body := call(t, "POST", tokenURL, poll, asJSON...); resp.StatusCode != 200 || body["error"] != "slow_down" || body["interval"] != want {
			t.Errorf("slow_down: %d %v, want interval %v", resp.StatusCode, body, want)
		}
	}
	for name, tc := range map[string]struct {
		form url.Values
		want string
	}{
		"unknown client":      {url.Values{"client_id": {"Iv1.nope"}, "grant_type": {deviceGrant}, "device_code": {"x"}}, "incorrect_client_credentials"},
		"unknown device code": {url.Values{"client_id": {client}, "grant_type": {deviceGrant}, "device_code": {"x"}}, "incorrect_device_code"},
		"other grant":         {url.Values{"client_id": {client}, "grant_type": {"password"}}, "unsupported_grant_type"},
		"bad refresh token":   {url.Values{"client_id": {client}, "grant_type": {"refresh_token"}, "refresh_token": {"ghr_nope"}}, "bad_refresh_token"},
	} {
		if resp, body := call(t, "POST", tokenURL, tc.form, asJSON...); resp.StatusCode != 200 || body["error"] != tc.want {
			t.Errorf("%s: %d %v, want 200 %s", name, resp.StatusCode, body, tc.want)
		}
	}
	if resp, body := call(t, "POST", codeURL, url.Values{"client_id": {"Iv1.nope"}}, asJSON...); resp.StatusCode != 200 || body["error"] != "incorrect_client_credentials" {
		t.Errorf("device code, unknown client: %d %v", resp.StatusCode, body)
	}

	approve(t, str(da["verification_uri"]), da["user_code"])
	resp, tok := call(t, "POST", tokenURL, poll, asJSON...)
	if resp.StatusCode != 200 || !strings.HasPrefix(str(tok["access_token"]), "ghu_") || !strings.HasPrefix(str(tok["refresh_token"]), "ghr_") ||
		tok["expires_in"] == nil || tok["refresh_token_expires_in"] == nil || tok["token_type"] != "bearer" || tok["id_token"] != nil {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	for _, scheme := range []string{"Bearer ", "token "} {
		_, user := call(t, "GET", p.GitHubAPI+"/user", nil, "Authorization", scheme+str(tok["access_token"]), "Accept", "application/vnd.github+json")
		if user["login"] != "alice" || user["id"] != 5830211.0 || user["name"] != "Alice Liddell" || user["email"] != "alice@example.com" {
			t.Errorf("GET /user with %q: %v", scheme, user)
		}
	}
	if resp, body := call(t, "GET", p.GitHubAPI+"/user", nil, "Authorization", "Bearer ghu_nope"); resp.StatusCode != 401 || body["message"] != "Bad credentials" {
		t.Errorf("GET /user, bad token: %d %v", resp.StatusCode, body)
	}

	refresh := url.Values{"client_id": {client}, "grant_type": {"refresh_token"}, "refresh_token": {str(tok["refresh_token"])}}
	resp, fresh := call(t, "POST", tokenURL, refresh, asJSON...)
	if resp.StatusCode != 200 || !strings.HasPrefix(str(fresh["refresh_token"]), "ghr_") || fresh["refresh_token"] == tok["refresh_token"] {
		t.Fatalf("refresh: %d %v", resp.StatusCode, fresh)
	}
	for token, want := range map[any]bool{tok["refresh_token"]: false, fresh["refresh_token"]: true, fresh["access_token"]: true} {
		if ok, err := Active(p.GitHub, str(token)); ok != want || err != nil {
			t.Errorf("Active(%v) = %v, %v; want %v", token, ok, err, want)
		}
	}
	if _, body := call(t, "POST", tokenURL, refresh, asJSON...); body["error"] != "bad_refresh_token" {
		t.Errorf("refresh with a rotated token: %v", body)
	}
	if s, _ := StatsOf(p.GitHubAPI); s != (Stats{Polls: 5, Refreshes: 3}) {
		t.Errorf("stats %+v", s)
	}
	if err := BreakIDTokens(p.GitHub); err == nil {
		t.Error("BreakIDTokens at GitHub, which issues no ID tokens, succeeded")
	}
}

// TestEntra: Entra's tenant paths and discovery (the {tenantid} template
// for organizations and common, the concrete issuer for the ID and the
// domain), its device response, errors and claims, and ForeignTenant.
func TestEntra(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{})
	client := p.Clients["entra"]
	issuer := p.Entra + "/" + p.EntraTenant + "/v2.0"

	for tenant, want := range map[string][2]string{
		"organizations": {p.Entra + "/{tenantid}/v2.0", p.Entra + "/organizations/oauth2/v2.0/devicecode"},
		"common":        {p.Entra + "/{tenantid}/v2.0", p.Entra + "/common/oauth2/v2.0/devicecode"},
		p.EntraDomain:   {issuer, p.Entra + "/" + p.EntraTenant + "/oauth2/v2.0/devicecode"},
		p.EntraTenant:   {issuer, p.Entra + "/" + p.EntraTenant + "/oauth2/v2.0/devicecode"},
	} {
		_, disc := call(t, "GET", p.Entra+"/"+tenant+"/v2.0/.well-known/openid-configuration", nil)
		if disc["issuer"] != want[0] || disc["device_authorization_endpoint"] != want[1] || disc["revocation_endpoint"] != nil {
			t.Errorf("discovery for %s: %v, want issuer %s", tenant, disc, want[0])
		}
	}
	for _, tenant := range []string{"contoso.onmicrosoft.com", "00000000-0000-0000-0000-000000000001", "nope"} {
		resp, body := call(t, "POST", p.Entra+"/"+tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {client}, "scope": {"openid"}})
		if codes, _ := body["error_codes"].([]any); resp.StatusCode != 400 || len(codes) != 1 || body["trace_id"] == nil || !strings.Contains(str(body["error_description"]), tenant) {
			t.Errorf("tenant %s: %d %v", tenant, resp.StatusCode, body)
		}
	}

	org := p.Entra + "/organizations/oauth2/v2.0"
	device := func() map[string]any {
		resp, da := call(t, "POST", org+"/devicecode", url.Values{"client_id": {client}, "scope": {"openid profile email offline_access"}})
		if resp.StatusCode != 200 || da["verification_uri"] != p.Entra+"/devicelogin" || da["verification_uri_complete"] != nil ||
			!strings.Contains(str(da["message"]), str(da["user_code"])) || len(str(da["user_code"])) != 9 {
			t.Fatalf("device: %d %v", resp.StatusCode, da)
		}
		return da
	}
	da := device()
	poll := url.Values{"client_id": {client}, "grant_type": {deviceGrant}, "device_code": {str(da["device_code"])}}
	resp, body := call(t, "POST", org+"/token", poll)
	if codes, _ := body["error_codes"].([]any); resp.StatusCode != 400 || body["error"] != "authorization_pending" || len(codes) != 1 || codes[0] != 70016.0 ||
		body["timestamp"] == nil || body["trace_id"] == nil || body["correlation_id"] == nil || body["error_uri"] == nil {
		t.Errorf("pending: %d %v", resp.StatusCode, body)
	}
	if resp, body := call(t, "POST", org+"/token", url.Values{"client_id": {client}, "grant_type": {deviceGrant}, "device_code": {"nope"}}); resp.StatusCode != 400 || body["error"] != "bad_verification_code" {
		t.Errorf("unknown device code: %d %v", resp.StatusCode, body)
	}
	approve(t, str(da["verification_uri"]), da["user_code"])
	resp, tok := call(t, "POST", org+"/token", poll)
	if resp.StatusCode != 200 || tok["refresh_token"] == nil || tok["ext_expires_in"] == nil {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	id := claims(t, tok["id_token"])
	if id["iss"] != issuer || id["tid"] != p.EntraTenant || id["oid"] == nil || id["sub"] == id["oid"] || id["ver"] != "2.0" ||
		id["preferred_username"] != "alice@"+p.EntraDomain || id["email"] != "alice@example.com" || len(id["groups"].([]any)) != 2 {
		t.Errorf("ID token: %v", id)
	}
	refresh := url.Values{"client_id": {client}, "grant_type": {"refresh_token"}, "refresh_token": {str(tok["refresh_token"])}}
	if err := ForeignTenant(p.Entra, 1); err != nil {
		t.Fatal(err)
	}
	resp, fresh := call(t, "POST", p.Entra+"/"+p.EntraDomain+"/oauth2/v2.0/token", refresh)
	if resp.StatusCode != 200 || fresh["refresh_token"] == tok["refresh_token"] {
		t.Fatalf("refresh: %d %v", resp.StatusCode, fresh)
	}
	if id := claims(t, fresh["id_token"]); id["iss"] != issuer || id["tid"] != p.EntraOtherTenant {
		t.Errorf("after ForeignTenant: iss %v tid %v, want %s and %s", id["iss"], id["tid"], issuer, p.EntraOtherTenant)
	}
	refresh.Set("refresh_token", str(fresh["refresh_token"]))
	if _, again := call(t, "POST", org+"/token", refresh); claims(t, again["id_token"])["tid"] != p.EntraTenant {
		t.Errorf("ForeignTenant(1) changed more than one ID token: %v", claims(t, again["id_token"]))
	}

	da = device()
	if err := Deny(str(da["verification_uri"]), str(da["user_code"])); err != nil {
		t.Fatal(err)
	}
	poll.Set("device_code", str(da["device_code"]))
	if resp, body := call(t, "POST", org+"/token", poll); resp.StatusCode != 400 || body["error"] != "authorization_declined" {
		t.Errorf("denied: %d %v", resp.StatusCode, body)
	}
}

// TestGoogle: Google's two origins, its client secret and scope checks,
// verification_url, 428/403 statuses, a refresh that keeps the refresh
// token and sends no ID token, and revocation by the query string.
func TestGoogle(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{})
	client, secret := p.Clients["google"], p.Secrets["google"]

	_, disc := call(t, "GET", p.Google+"/.well-known/openid-configuration", nil)
	if disc["issuer"] != p.Google || disc["device_authorization_endpoint"] != p.GoogleAPIs+"/device/code" ||
		disc["token_endpoint"] != p.GoogleAPIs+"/token" || disc["revocation_endpoint"] != p.GoogleAPIs+"/revoke" {
		t.Errorf("discovery: %v", disc)
	}
	if resp, _ := call(t, "POST", p.Google+"/token", url.Values{}); resp.StatusCode != 404 {
		t.Errorf("token endpoint on the accounts origin: %d", resp.StatusCode)
	}
	code := p.GoogleAPIs + "/device/code"
	for name, tc := range map[string]struct {
		form   url.Values
		status int
		err    string
	}{
		"no secret":     {url.Values{"client_id": {client}, "scope": {"openid"}}, 401, "invalid_client"},
		"wrong secret":  {url.Values{"client_id": {client}, "client_secret": {"nope"}, "scope": {"openid"}}, 401, "invalid_client"},
		"other scope":   {url.Values{"client_id": {client}, "client_secret": {secret}, "scope": {"openid https://www.googleapis.com/auth/drive"}}, 400, "invalid_scope"},
		"offline scope": {url.Values{"client_id": {client}, "client_secret": {secret}, "scope": {"openid offline_access"}}, 400, "invalid_scope"},
	} {
		if status, body := post(t, code, tc.form); status != tc.status || body["error"] != tc.err {
			t.Errorf("%s: %d %v, want %d %s", name, status, body, tc.status, tc.err)
		}
	}
	device := func() map[string]any {
		status, da := post(t, code, url.Values{"client_id": {client}, "client_secret": {secret},
			"scope": {"openid https://www.googleapis.com/auth/userinfo.email profile"}})
		if status != 200 || da["verification_url"] != p.Google+"/device" || da["verification_uri"] != nil || da["verification_uri_complete"] != nil || da["interval"] != 1.0 {
			t.Fatalf("device: %d %v", status, da)
		}
		return da
	}
	da := device()
	poll := url.Values{"client_id": {client}, "client_secret": {secret}, "grant_type": {deviceGrant}, "device_code": {str(da["device_code"])}}
	if status, body := post(t, p.GoogleAPIs+"/token", poll); status != 428 || body["error"] != "authorization_pending" {
		t.Errorf("pending: %d %v", status, body)
	}
	SlowDown(p.Google, 1)
	if status, body := post(t, p.GoogleAPIs+"/token", poll); status != 403 || body["error"] != "slow_down" {
		t.Errorf("slow_down: %d %v", status, body)
	}
	approve(t, str(da["verification_url"]), da["user_code"])
	status, tok := post(t, p.GoogleAPIs+"/token", poll)
	if status != 200 || tok["refresh_token"] == nil || tok["id_token"] == nil ||
		tok["scope"] != "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile" {
		t.Fatalf("token: %d %v", status, tok)
	}
	if id := claims(t, tok["id_token"]); id["iss"] != p.Google || id["sub"] != "104857319927340915826" || id["azp"] != client || id["email"] != "alice@example.com" {
		t.Errorf("ID token: %v", id)
	}
	_, info := call(t, "GET", p.GoogleAPIs+"/v1/userinfo", nil, "Authorization", "Bearer "+str(tok["access_token"]))
	if info["sub"] != "104857319927340915826" || info["name"] != "Alice Liddell" {
		t.Errorf("userinfo: %v", info)
	}
	rt := str(tok["refresh_token"])
	status, fresh := post(t, p.GoogleAPIs+"/token", url.Values{"client_id": {client}, "client_secret": {secret}, "grant_type": {"refresh_token"}, "refresh_token": {rt}})
	if status != 200 || fresh["access_token"] == nil || fresh["refresh_token"] != nil || fresh["id_token"] != nil {
		t.Errorf("refresh: %d %v, want an access token alone", status, fresh)
	}
	if ok, _ := Active(p.GoogleAPIs, rt); !ok {
		t.Error("the refresh token died on refresh")
	}
	if status, _ := post(t, p.GoogleAPIs+"/revoke?"+url.Values{"token": {str(fresh["access_token"])}}.Encode(), nil); status != 200 {
		t.Errorf("revoke: %d", status)
	}
	if ok, _ := Active(p.GoogleAPIs, rt); ok {
		t.Error("revoking an access token left its grant's refresh token active")
	}
	if status, body := post(t, p.GoogleAPIs+"/revoke", url.Values{"token": {rt}}); status != 400 || body["error"] != "invalid_token" {
		t.Errorf("revoke again: %d %v", status, body)
	}

	da = device()
	if err := Deny(str(da["verification_url"]), str(da["user_code"])); err != nil {
		t.Fatal(err)
	}
	poll.Set("device_code", str(da["device_code"]))
	if status, body := post(t, p.GoogleAPIs+"/token", poll); status != 403 || body["error"] != "access_denied" {
		t.Errorf("denied: %d %v", status, body)
	}
	if s, _ := StatsOf(p.Google); s != (Stats{Polls: 4, Refreshes: 1, Revocations: 2}) {
		t.Errorf("stats %+v", s)
	}
}

// TestOkta: the org and the "default" authorization servers of one org,
// their issuers and endpoints, one /activate page for both, and a control
// API that sees both.
func TestOkta(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{})
	client := p.Clients["okta"]
	for _, server := range []struct{ base, issuer, v1 string }{
		{p.Okta + "/oauth2/default", p.Okta + "/oauth2/default", p.Okta + "/oauth2/default/v1"},
		{p.Okta, p.Okta, p.Okta + "/oauth2/v1"},
	} {
		_, disc := call(t, "GET", server.base+"/.well-known/openid-configuration", nil)
		if disc["issuer"] != server.issuer || disc["device_authorization_endpoint"] != server.v1+"/device/authorize" ||
			disc["token_endpoint"] != server.v1+"/token" || disc["jwks_uri"] != server.v1+"/keys" || disc["revocation_endpoint"] != server.v1+"/revoke" {
			t.Errorf("discovery of %s: %v", server.issuer, disc)
		}
		status, da := post(t, server.v1+"/device/authorize", url.Values{"client_id": {client}, "scope": {"openid profile email offline_access groups"}})
		if status != 200 || da["verification_uri"] != p.Okta+"/activate" {
			t.Fatalf("device at %s: %d %v", server.issuer, status, da)
		}
		poll := url.Values{"client_id": {client}, "grant_type": {deviceGrant}, "device_code": {str(da["device_code"])}}
		if status, body := post(t, server.v1+"/token", poll); status != 400 || body["error"] != "authorization_pending" {
			t.Errorf("pending: %d %v", status, body)
		}
		approve(t, str(da["verification_uri"]), da["user_code"])
		status, tok := post(t, server.v1+"/token", poll)
		if status != 200 || tok["refresh_token"] == nil {
			t.Fatalf("token at %s: %d %v", server.issuer, status, tok)
		}
		id := claims(t, tok["id_token"])
		if id["iss"] != server.issuer || id["sub"] != "00u1abcd2EFGH3ijk4l5" || id["preferred_username"] != "alice@example.com" ||
			!reflect.DeepEqual(id["groups"], []any{"Everyone", "admins", "dev"}) {
			t.Errorf("ID token of %s: %v", server.issuer, id)
		}
		if ok, err := Active(p.Okta, str(tok["refresh_token"])); !ok || err != nil {
			t.Errorf("refresh token of %s not active: %v", server.issuer, err)
		}
	}
	if s, _ := StatsOf(p.Okta); s.Polls != 4 {
		t.Errorf("stats %+v, want the polls of both servers", s)
	}
}
