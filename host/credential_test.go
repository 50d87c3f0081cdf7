package host

import (
	"errors"
	"testing"
	"time"
)

// TestIDTokenRefreshedAtItsOwnExpiry: an ID token that expires before the
// access token is renewed when it nears its expiry, not only when the access
// token does; IDToken reports its expiry.
func TestIDTokenRefreshedAtItsOwnExpiry(t *testing.T) {
	idp := newFakeIdP(t)
	idp.set(func(idp *fakeIdP) { idp.idTTL = 5 * time.Second }) // within the 10 s skew; the access token lives 60 s
	_, s := loggedIn(t, idp)
	ctx := testContext(t)
	refreshes := func() (n int) {
		idp.set(func(idp *fakeIdP) { n = idp.refreshes })
		return n
	}
	if _, err := s.Token(ctx); err != nil || refreshes() != 0 {
		t.Fatalf("Token: %v after %d refreshes; want the cached access token", err, refreshes())
	}
	idp.set(func(idp *fakeIdP) { idp.idTTL = time.Hour })
	raw, exp, err := s.IDToken(ctx)
	if err != nil || raw == "" || refreshes() != 1 || time.Until(exp) < 50*time.Minute {
		t.Fatalf("IDToken = %.10q…, expiry in %v, %v, after %d refreshes; want a refreshed ID token of an hour", raw, time.Until(exp).Round(time.Second), err, refreshes())
	}
	if _, _, err := s.IDToken(ctx); err != nil || refreshes() != 1 {
		t.Errorf("a fresh ID token was refreshed again (%d refreshes): %v", refreshes(), err)
	}
	// A provider that renews the access token but not the ID token: the
	// expired ID token is not handed out.
	idp.set(func(idp *fakeIdP) { idp.idTTL, idp.refreshSub = 5*time.Second, "" })
	_, s2 := loggedIn(t, idp)
	if _, _, err := s2.IDToken(ctx); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("IDToken with a stale ID token after a refresh: %v, want ErrNotLoggedIn", err)
	}
}

// TestReject: rejecting the stored access token makes the next Token
// refresh; rejecting another token changes nothing.
func TestReject(t *testing.T) {
	idp := newFakeIdP(t)
	_, s := loggedIn(t, idp)
	ctx := testContext(t)
	tok, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Reject(ctx, "another-token"); ok || err != nil {
		t.Errorf("Reject(another) = %v, %v", ok, err)
	}
	if again, _ := s.Token(ctx); again.AccessToken != tok.AccessToken {
		t.Errorf("rejecting another token changed the stored one")
	}
	if ok, err := s.Reject(ctx, tok.AccessToken); !ok || err != nil {
		t.Fatalf("Reject(stored) = %v, %v", ok, err)
	}
	next, err := s.Token(ctx)
	if err != nil || next.AccessToken == tok.AccessToken {
		t.Errorf("after Reject, Token: %v, same token %v; want a refreshed token", err, next != nil && next.AccessToken == tok.AccessToken)
	}
}
