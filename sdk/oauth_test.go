package sdk_test

import (
	"encoding/json"
	"testing"

	"github.com/idplug/idplug/sdk"
)

func TestOAuthError(t *testing.T) {
	for _, tc := range []struct {
		body, code, desc string
	}{
		{`{"error":"denied"}`, "denied", ""},
		{`{"error":"slow_down","error_description":"You are polling faster than the specified interval of 5 seconds."}`, "slow_down", "You are polling faster than the specified interval of 5 seconds."},
		{`{"access_token":"x"}`, "", ""},
		{``, "", ""},
		{`{"error":42}`, "", ""},
		{`["error"]`, "", ""},
	} {
		code, desc := sdk.HTTPResponse{Status: 400, Body: tc.body}.OAuthError()
		if code != tc.code || desc != tc.desc {
			t.Errorf("%s: got %q %q, want %q %q", tc.body, code, desc, tc.code, tc.desc)
		}
	}
}

func TestWithOAuthError(t *testing.T) {
	for _, tc := range []struct {
		name, body, code, desc, want string
	}{
		{"renamed, other members kept", `{"error":"denied","x":1}`, "access_denied", "", `{"error":"access_denied","x":1}`},
		{"description set", `{"error":"invalid_grant","error_description":"Invalid or expired device code."}`, "expired_token", "gone", `{"error":"expired_token","error_description":"gone"}`},
		{"empty body", ``, "invalid_client", "no", `{"error":"invalid_client","error_description":"no"}`},
		{"not an object", `null`, "invalid_request", "", `{"error":"invalid_request"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sdk.HTTPResponse{Status: 403, Body: tc.body}.WithOAuthError(tc.code, tc.desc)
			if got.Body != tc.want || got.Status != 403 {
				t.Errorf("got %d %s, want 403 %s", got.Status, got.Body, tc.want)
			}
		})
	}
}

// FuzzOAuthError checks that any body, however malformed, is read without a
// panic and rewritten into a JSON object carrying the code.
func FuzzOAuthError(f *testing.F) {
	for _, s := range []string{`{"error":"denied"}`, ``, `null`, `{"error":{"a":1}}`, `[1,2]`, `{"error":"x","error_description":null}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := sdk.HTTPResponse{Status: 400, Body: body}
		r.OAuthError()
		out := r.WithOAuthError("access_denied", "d")
		var m map[string]any
		if err := json.Unmarshal([]byte(out.Body), &m); err != nil || m["error"] != "access_denied" {
			t.Fatalf("rewrote %q into %q", body, out.Body)
		}
		if code, desc := out.OAuthError(); code != "access_denied" || desc != "d" {
			t.Fatalf("read back %q %q from %q", code, desc, out.Body)
		}
	})
}
