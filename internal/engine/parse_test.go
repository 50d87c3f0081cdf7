package engine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/idplug/idplug/sdk"
)

func TestParseToken(t *testing.T) {
	tests := []struct {
		name       string
		status     uint16
		body       string
		wantExpiry time.Duration // 0: no expiry
		wantCode   string
		wantErr    bool
	}{
		{name: "number", status: 200, body: `{"access_token":"A","expires_in":3600}`, wantExpiry: time.Hour},
		{name: "string", status: 200, body: `{"access_token":"A","expires_in":"3600"}`, wantExpiry: time.Hour},
		{name: "fraction", status: 200, body: `{"access_token":"A","expires_in":59.9}`, wantExpiry: 59 * time.Second},
		{name: "absent", status: 200, body: `{"access_token":"A"}`},
		{name: "null", status: 200, body: `{"access_token":"A","expires_in":null}`},
		{name: "garbage", status: 200, body: `{"access_token":"A","expires_in":"soon"}`},
		{name: "negative", status: 200, body: `{"access_token":"A","expires_in":-5}`},
		{name: "huge", status: 200, body: `{"access_token":"A","expires_in":1e300}`, wantExpiry: maxSeconds * time.Second},
		{name: "error with 200", status: 200, body: `{"error":"authorization_pending"}`, wantCode: CodeAuthorizationPending},
		{name: "error with 403", status: 403, body: `{"error":"authorization_pending"}`, wantCode: CodeAuthorizationPending},
		{name: "500 without error", status: 500, body: `oops`, wantErr: true},
		{name: "array", status: 200, body: `[]`, wantErr: true},
		{name: "empty", status: 200, body: ``, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := parseToken(sdk.ExchangeTokenPoll, sdk.HTTPResponse{Status: tt.status, Body: tt.body}, t0)
			var oe *OAuthError
			switch {
			case tt.wantCode != "":
				if !errors.As(err, &oe) || oe.Code != tt.wantCode || oe.Status != int(tt.status) {
					t.Errorf("error = %#v, want code %s", err, tt.wantCode)
				}
			case tt.wantErr:
				if err == nil {
					t.Errorf("parsed %+v, want an error", tok)
				}
			case err != nil:
				t.Fatal(err)
			default:
				var want time.Time
				if tt.wantExpiry != 0 {
					want = t0.Add(tt.wantExpiry)
				}
				if tok.AccessToken != "A" || !tok.Expiry.Equal(want) {
					t.Errorf("token = %+v, want expiry %v", tok, want)
				}
			}
		})
	}
}

func TestParseDeviceAuth(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    *oauth2.DeviceAuthResponse
		wantErr string
	}{{
		name: "complete",
		body: `{"device_code":"D","user_code":"U","verification_uri":"https://i/a","verification_uri_complete":"https://i/a?c=U","expires_in":"900","interval":"7"}`,
		want: &oauth2.DeviceAuthResponse{DeviceCode: "D", UserCode: "U", VerificationURI: "https://i/a", VerificationURIComplete: "https://i/a?c=U", Expiry: t0.Add(900 * time.Second), Interval: 7},
	}, {
		name: "defaults and the verification_url spelling",
		body: `{"device_code":"D","user_code":"U","verification_url":"https://i/a"}`,
		want: &oauth2.DeviceAuthResponse{DeviceCode: "D", UserCode: "U", VerificationURI: "https://i/a", Expiry: t0.Add(DefaultDeviceCodeLifetime), Interval: 5},
	},
		{name: "no device code", body: `{"user_code":"U","verification_uri":"https://i/a"}`, wantErr: "device_code"},
		{name: "no user code", body: `{"device_code":"D","verification_uri":"https://i/a"}`, wantErr: "user_code"},
		{name: "script URI", body: `{"device_code":"D","user_code":"U","verification_uri":"javascript:alert(1)"}`, wantErr: "verification_uri"},
		{name: "user code in the complete URI", body: `{"device_code":"D","user_code":"U","verification_uri":"http://127.0.0.1:9/a","verification_uri_complete":"http://127.0.0.1:9/a?code=U&user_code=U"}`,
			want: &oauth2.DeviceAuthResponse{DeviceCode: "D", UserCode: "U", VerificationURI: "http://127.0.0.1:9/a", VerificationURIComplete: "http://127.0.0.1:9/a?code=U&user_code=U", Expiry: t0.Add(DefaultDeviceCodeLifetime), Interval: 5}},
		{name: "http URI off loopback", body: `{"device_code":"D","user_code":"U","verification_uri":"http://idp.example/a"}`, wantErr: "verification_uri"},
		{name: "http URI complete off loopback", body: `{"device_code":"D","user_code":"U","verification_uri":"https://i/a","verification_uri_complete":"http://i/a?c=U"}`, wantErr: "verification_uri_complete"},
		{name: "escape sequence in the user code", body: `{"device_code":"D","user_code":"U\u001b]8;;https://evil/\u0007","verification_uri":"https://i/a"}`, wantErr: "user_code"},
		{name: "C1 control in the URI", body: `{"device_code":"D","user_code":"U","verification_uri":"https://i/a\u009b2J"}`, wantErr: "verification_uri"},
		{name: "file URI complete", body: `{"device_code":"D","user_code":"U","verification_uri":"https://i/a","verification_uri_complete":"file:///etc/passwd"}`, wantErr: "verification_uri_complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDeviceAuth(sdk.HTTPResponse{Status: 200, Body: tt.body}, t0)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseTokenResponse(f *testing.F) {
	f.Add(uint16(200), `{"access_token":"A","token_type":"Bearer","expires_in":"3600","refresh_token":"R","id_token":"I"}`)
	f.Add(uint16(403), `{"error":"authorization_pending"}`)
	f.Add(uint16(200), `{"access_token":"A","expires_in":1e999}`)
	f.Add(uint16(503), `<html>`)
	f.Fuzz(func(t *testing.T, status uint16, body string) {
		tok, err := parseToken(sdk.ExchangeTokenPoll, sdk.HTTPResponse{Status: status, Body: body}, t0)
		if err != nil {
			if tok != nil {
				t.Fatal("a token and an error")
			}
			return
		}
		if tok.AccessToken == "" || tok.ExpiresIn < 0 || !tok.Expiry.IsZero() && tok.Expiry.Before(t0) {
			t.Fatalf("token = %+v", tok)
		}
	})
}

func FuzzParseDeviceAuthResponse(f *testing.F) {
	f.Add(uint16(200), `{"device_code":"D","user_code":"U","verification_uri":"https://i/a","expires_in":900,"interval":5}`)
	f.Add(uint16(200), `{"device_code":"D","user_code":"U","verification_url":"http://i/a","interval":"-1"}`)
	f.Add(uint16(400), `{"error":"invalid_client"}`)
	f.Fuzz(func(t *testing.T, status uint16, body string) {
		da, err := parseDeviceAuth(sdk.HTTPResponse{Status: status, Body: body}, t0)
		if err != nil {
			return
		}
		if da.DeviceCode == "" || da.UserCode == "" || !webURL(da.VerificationURI) || da.Interval <= 0 || !da.Expiry.After(t0) {
			t.Fatalf("response = %+v", da)
		}
	})
}
