package host

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/idplug/idplug/internal/store"
)

// TestLoginStoresNothingOnFailure: a login whose last step fails (userinfo
// about another subject) stores no tokens.
func TestLoginStoresNothingOnFailure(t *testing.T) {
	idp := newFakeIdP(t)
	idp.set(func(idp *fakeIdP) { idp.userinfoSub = "mallory" })
	h := openHost(t, idp)
	s, err := h.Session("work")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	if _, err := s.Login(ctx, LoginOptions{}); err == nil || !strings.Contains(err.Error(), "nothing was stored") {
		t.Fatalf("Login = %v, want an error saying nothing was stored", err)
	}
	if b, err := h.store.Load(ctx, s.key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after a failed login the store holds %v (%v)", b, err)
	}
}

// countingStore counts the loads of a store.
type countingStore struct {
	store.Store
	loads int
}

func (c *countingStore) Load(ctx context.Context, k store.Key) (*store.Bundle, error) {
	c.loads++
	return c.Store.Load(ctx, k)
}

// TestCachedReadsLoadOnce: Token, IDToken and Identity read (and decrypt)
// the stored bundle once when it is valid.
func TestCachedReadsLoadOnce(t *testing.T) {
	h, s := loggedIn(t, newFakeIdP(t))
	ctx := testContext(t)
	c := &countingStore{Store: h.store}
	h.store = c
	for name, call := range map[string]func() error{
		"Token":    func() error { _, err := s.Token(ctx); return err },
		"IDToken":  func() error { _, _, err := s.IDToken(ctx); return err },
		"Identity": func() error { _, err := s.Identity(ctx); return err },
	} {
		c.loads = 0
		if err := call(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.loads != 1 {
			t.Errorf("%s loaded the bundle %d times, want once", name, c.loads)
		}
	}
}
