package host

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRefreshRefused: a refresh answered with any 4xx but 429 ends the
// session: ErrNotLoggedIn with the login hint, and the dead refresh token is
// never presented again. A 429 or a 5xx keeps the tokens for the next try.
func TestRefreshRefused(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		over   bool
	}{
		{400, `{"error":"invalid_request","error_description":"Refresh token is invalid or has already been claimed by another client."}`, true}, // Dex
		{400, `{"error":"invalid_grant"}`, true},
		{401, `{"error":"invalid_client"}`, true},
		{429, `{"error":"slow_down"}`, false},
		{503, `{"error":"temporarily_unavailable"}`, false},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			idp := newFakeIdP(t)
			h, s := loggedIn(t, idp, WithExpirySkew(time.Hour)) // every token is due for a refresh
			ctx := testContext(t)
			idp.set(func(idp *fakeIdP) { idp.refuse, idp.refuseBody = tc.status, tc.body })
			_, err := s.Token(ctx)
			if got := errors.Is(err, ErrNotLoggedIn); got != tc.over || err == nil {
				t.Fatalf("Token: %v; want ErrNotLoggedIn %v", err, tc.over)
			}
			if tc.over && !strings.Contains(err.Error(), "login --profile work") {
				t.Errorf("no login hint: %v", err)
			}
			if !tc.over && !strings.Contains(err.Error(), "kept") {
				t.Errorf("the error does not say the tokens are kept: %v", err)
			}
			b, lerr := h.store.Load(ctx, s.key)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if kept := b.RefreshToken != ""; kept == tc.over {
				t.Errorf("refresh token kept: %v, want %v", kept, !tc.over)
			}
			refreshes := func() (n int) {
				idp.set(func(idp *fakeIdP) { n = idp.refreshes })
				return n
			}
			before := refreshes()
			_, err = s.Token(ctx)
			if after := refreshes(); tc.over && (after != before || !errors.Is(err, ErrNotLoggedIn)) {
				t.Errorf("the next Token presented the dead refresh token (%d refreshes) or said %v", after-before, err)
			}
		})
	}
}
