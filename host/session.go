package host

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/idplug/idplug/internal/config"
	"github.com/idplug/idplug/internal/engine"
	"github.com/idplug/idplug/internal/store"
)

// Session is one profile of a Host: its login, tokens and identity. It is
// safe for concurrent use.
type Session struct {
	h       *Host
	profile *config.Profile
	key     store.Key

	mu   sync.Mutex
	conn *conn // set once a method needed the provider
}

// Profile returns the session's profile name.
func (s *Session) Profile() string { return s.profile.Name }

// Token returns a valid access token, refreshing it when it expires within
// the expiry skew. A cached, valid token is returned without loading any
// plugin or touching the network.
func (s *Session) Token(ctx context.Context) (*oauth2.Token, error) {
	b, err := s.valid(ctx)
	if err != nil {
		return nil, err
	}
	return b.Token(), nil
}

// IDToken returns the raw ID token of the stored bundle, refreshing first if
// the access token expired.
func (s *Session) IDToken(ctx context.Context) (string, error) {
	b, err := s.valid(ctx)
	if err != nil {
		return "", err
	}
	if b.IDToken == "" {
		return "", fmt.Errorf("profile %q has no ID token; include the openid scope in its scopes and log in again", s.profile.Name)
	}
	return b.IDToken, nil
}

// valid returns the stored bundle, refreshed first when its access token
// expires within the expiry skew.
func (s *Session) valid(ctx context.Context) (*store.Bundle, error) {
	b, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	if s.fresh(b) {
		return b, nil
	}
	return s.refresh(ctx)
}

// TokenSource returns an oauth2.TokenSource that hands out the profile's
// access token and refreshes it as needed. ctx bounds each refresh.
func (s *Session) TokenSource(ctx context.Context) oauth2.TokenSource {
	return oauth2.ReuseTokenSourceWithExpiry(nil, tokenSource{ctx: ctx, s: s}, s.h.opts.expirySkew)
}

type tokenSource struct {
	ctx context.Context
	s   *Session
}

func (t tokenSource) Token() (*oauth2.Token, error) { return t.s.Token(t.ctx) }

// Client returns an *http.Client that sends the profile's access token with
// every request and refreshes it as needed.
func (s *Session) Client(ctx context.Context) *http.Client {
	return oauth2.NewClient(ctx, s.TokenSource(ctx))
}

// loginHint says how to log the profile in again.
func (s *Session) loginHint() string {
	return fmt.Sprintf("run `%s login --profile %s`", s.h.opts.commandPath(), s.profile.Name)
}

// fresh reports whether b's access token outlives the expiry skew.
func (s *Session) fresh(b *store.Bundle) bool {
	return b.AccessToken != "" && (b.Expiry.IsZero() || time.Until(b.Expiry) > s.h.opts.expirySkew)
}

func (s *Session) load(ctx context.Context) (*store.Bundle, error) {
	b, err := s.h.store.Load(ctx, s.key)
	var corrupt *store.CorruptError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("%w to profile %q: %s", ErrNotLoggedIn, s.profile.Name, s.loginHint())
	case errors.As(err, &corrupt):
		// Kept on disk for inspection; the user's way out is a new login.
		return nil, fmt.Errorf("%w: %w; %s", ErrNotLoggedIn, err, s.loginHint())
	}
	return b, err
}

// refresh exchanges the refresh token under the profile's lock and returns
// the new bundle. Another process may have refreshed while this one waited,
// so the bundle is read again once the lock is held: a rotated refresh token
// is never presented twice.
func (s *Session) refresh(ctx context.Context) (*store.Bundle, error) {
	unlock, err := s.h.store.Lock(ctx, s.profile.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	b, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	if s.fresh(b) {
		return b, nil
	}
	if b.RefreshToken == "" {
		return nil, fmt.Errorf("%w: the access token of profile %q expired and there is no refresh token (ask for the offline_access scope); %s",
			ErrNotLoggedIn, s.profile.Name, s.loginHint())
	}
	c, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := c.engine.Refresh(ctx, b.RefreshToken)
	switch {
	case errors.Is(err, engine.ErrRefreshRejected):
		// The refresh token is dead: it is never presented again, and the
		// rest of the bundle stays for status to show.
		dead := *b
		dead.RefreshToken = ""
		if serr := s.h.store.Save(ctx, s.key, &dead); serr != nil {
			err = errors.Join(err, serr)
		}
		return nil, fmt.Errorf("%w: the identity provider no longer accepts the session of profile %q (%v); %s",
			ErrNotLoggedIn, s.profile.Name, err, s.loginHint())
	case err != nil:
		return nil, fmt.Errorf("refreshing the tokens of profile %q failed, and they are kept for the next try: %w", s.profile.Name, err)
	}
	nb, err := s.bundle(ctx, c, tok, b)
	if err != nil {
		return nil, err
	}
	if err := s.h.store.Save(ctx, s.key, nb); err != nil {
		return nil, err
	}
	return nb, nil
}
