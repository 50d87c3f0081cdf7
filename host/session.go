package host

import (
	"context"
	"encoding/json"
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

// IDToken returns the raw ID token of the stored bundle and its expiry,
// refreshing first when the ID token or the access token expires within the
// expiry skew: what an API server's OpenID Connect authenticator checks is
// the ID token, whose lifetime may be shorter than the access token's.
func (s *Session) IDToken(ctx context.Context) (string, time.Time, error) {
	b, err := s.validFor(ctx, s.idFresh)
	if err != nil {
		return "", time.Time{}, err
	}
	if b.IDToken == "" {
		return "", time.Time{}, fmt.Errorf("profile %q has no ID token; include the openid scope in its scopes and log in again", s.profile.Name)
	}
	exp := idExpiry(b)
	if !s.idFresh(b) {
		return "", time.Time{}, fmt.Errorf("%w: the identity provider renewed the tokens of profile %q but not its ID token, which expired at %s; %s",
			ErrNotLoggedIn, s.profile.Name, exp.Format(time.RFC3339), s.loginHint())
	}
	return b.IDToken, exp, nil
}

// Reject marks accessToken rejected, as a server that refused it says, when
// it is the profile's stored access token: the next Token refreshes it (or,
// without a refresh token, says a login is needed). It reports whether it
// was. Another token is left alone: it may be the one a refresh already
// replaced.
func (s *Session) Reject(ctx context.Context, accessToken string) (bool, error) {
	unlock, err := s.h.store.Lock(ctx, s.profile.Name)
	if err != nil {
		return false, err
	}
	defer unlock()
	b, err := s.load(ctx)
	if err != nil || b.AccessToken != accessToken {
		return false, nil
	}
	b.Expiry = time.Now().Add(-time.Second)
	return true, s.h.store.Save(ctx, s.key, b)
}

// valid returns the stored bundle, refreshed first when its access token
// expires within the expiry skew.
func (s *Session) valid(ctx context.Context) (*store.Bundle, error) {
	return s.validFor(ctx, s.fresh)
}

// validFor returns the stored bundle, refreshed first unless fresh says it
// may be used as it is.
func (s *Session) validFor(ctx context.Context, fresh func(*store.Bundle) bool) (*store.Bundle, error) {
	b, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	if fresh(b) {
		return b, nil
	}
	return s.refresh(ctx, fresh)
}

// idFresh reports whether both b's access token and its ID token outlive
// the expiry skew.
func (s *Session) idFresh(b *store.Bundle) bool {
	exp := idExpiry(b)
	return s.fresh(b) && (exp.IsZero() || time.Until(exp) > s.h.opts.expirySkew)
}

// idExpiry is the exp claim of b's verified ID token, or zero.
func idExpiry(b *store.Bundle) time.Time {
	var c struct {
		Exp float64 `json:"exp"`
	}
	if len(b.IDTokenClaims) == 0 || json.Unmarshal(b.IDTokenClaims, &c) != nil || c.Exp <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(c.Exp), 0)
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
// so the bundle is read again once the lock is held, and used when fresh
// says it may: a rotated refresh token is never presented twice.
func (s *Session) refresh(ctx context.Context, fresh func(*store.Bundle) bool) (*store.Bundle, error) {
	unlock, err := s.h.store.Lock(ctx, s.profile.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	b, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	if fresh(b) {
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
