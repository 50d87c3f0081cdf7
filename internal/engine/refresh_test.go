package engine

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

// TestRefreshRejected: any 4xx answer to a refresh but 429 means the refresh
// token is dead, whatever the error code (Dex answers an expired one with
// invalid_request); 429, 5xx and a success do not.
func TestRefreshRejected(t *testing.T) {
	for _, tc := range []struct {
		status   int
		body     string
		rejected bool
	}{
		{400, `{"error":"invalid_grant"}`, true},
		{400, `{"error":"invalid_request","error_description":"Refresh token is invalid or has already been claimed by another client."}`, true},
		{401, `{"error":"invalid_client"}`, true},
		{403, `<html>forbidden</html>`, true},
		{429, `{"error":"slow_down"}`, false},
		{429, ``, false},
		{503, `{"error":"temporarily_unavailable"}`, false},
		{500, `oops`, false},
	} {
		t.Run(fmt.Sprint(tc.status, " ", tc.body), func(t *testing.T) {
			base := newServer(t, map[string]http.HandlerFunc{"POST /token": func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}})
			c := newClient(t, base, newFakeClock(), nil)
			_, err := c.Refresh(background(t), "refresh-token-1")
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, ErrRefreshRejected); got != tc.rejected {
				t.Errorf("errors.Is(%v, ErrRefreshRejected) = %v, want %v", err, got, tc.rejected)
			}
		})
	}
}
