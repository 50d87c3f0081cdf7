package peer

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
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
