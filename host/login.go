package host

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/idplug/idplug/internal/engine"
	"github.com/idplug/idplug/internal/store"
)

// DeviceCode is what the user needs to approve a login: where to go and which
// code to enter.
type DeviceCode = oauth2.DeviceAuthResponse

// PollKind says what a poll of the token endpoint came back with.
type PollKind string

// The outcomes of a poll while a login waits for the user.
const (
	PollPending    PollKind = "pending"    // authorization_pending: the user has not approved yet
	PollSlowDown   PollKind = "slow_down"  // the provider asked for a longer interval
	PollRetrying   PollKind = "retrying"   // a transient fault (PollEvent.Err); the poll will be retried
	PollAuthorized PollKind = "authorized" // the user approved; the tokens are being verified and stored
)

// PollEvent reports progress while a login waits for the user.
type PollEvent struct {
	Kind      PollKind
	Err       error         // the transient fault, for PollRetrying
	Interval  time.Duration // the polling interval now in force
	Next      time.Time     // when the next poll will be sent; zero for PollAuthorized
	Remaining time.Duration // how long the device code stays valid
}

// LoginOptions receive a login's progress.
type LoginOptions struct {
	// OnCode is called once the provider issued the code; show it to the user.
	OnCode func(DeviceCode)
	// OnEvent, if set, is called for every poll outcome while waiting.
	OnEvent func(PollEvent)
}

// Login runs the device authorization grant: it asks the provider for a code,
// reports it through opts.OnCode, polls until the user approves, denies or the
// code expires, verifies the ID token, maps the identity and stores the
// tokens. Nothing is stored unless every step succeeded.
func (s *Session) Login(ctx context.Context, opts LoginOptions) (*Identity, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	da, err := c.engine.DeviceAuth(ctx)
	if err != nil {
		return nil, err
	}
	if opts.OnCode != nil {
		opts.OnCode(*da)
	}
	var onPoll func(engine.PollEvent)
	if opts.OnEvent != nil {
		onPoll = func(ev engine.PollEvent) {
			opts.OnEvent(PollEvent{Kind: PollKind(ev.Kind), Err: ev.Err, Interval: ev.Interval, Next: ev.Next, Remaining: ev.Remaining})
		}
	}
	tok, err := c.engine.Poll(ctx, da, onPoll)
	if err != nil {
		return nil, err
	}
	b, err := s.bundle(ctx, c, tok, nil)
	if err != nil {
		return nil, err
	}
	id, err := s.identity(ctx, c, b)
	if err != nil {
		return nil, fmt.Errorf("%w; nothing was stored", err)
	}
	if err := s.save(ctx, b); err != nil {
		return nil, err
	}
	return id, nil
}

// save stores a new login's bundle under the profile's lock, so that a
// refresh of the previous login, running in another process, does not write
// its tokens over the new ones afterwards.
func (s *Session) save(ctx context.Context, b *store.Bundle) error {
	unlock, err := s.h.store.Lock(ctx, s.profile.Name)
	if err != nil {
		return err
	}
	defer unlock()
	return s.h.store.Save(ctx, s.key, b)
}

// bundle verifies tok's ID token, if any, and wraps tok for the store. prev
// keeps the refresh token, ID token and claims of an earlier bundle when a
// refresh returns none; an ID token a refresh returns must be of prev's
// subject (OpenID Connect Core 1.0 §12.2), so that the identity of a login
// never changes behind the user's back.
func (s *Session) bundle(ctx context.Context, c *conn, tok *oauth2.Token, prev *store.Bundle) (*store.Bundle, error) {
	b := &store.Bundle{Provider: s.profile.Provider, Issuer: c.engine.Spec().Issuer}
	if prev != nil {
		copied := *prev
		b = &copied
	}
	if raw := engine.IDToken(tok); raw != "" {
		claims, err := c.engine.VerifyIDToken(ctx, raw)
		if err != nil {
			return nil, fmt.Errorf("the identity provider's ID token failed verification, so nothing was stored: %w", err)
		}
		if was, ok := storedSubject(prev); ok && claims["sub"] != any(was) {
			return nil, fmt.Errorf("the identity provider's refreshed ID token of profile %q is for subject %q, not %q who logged in, so nothing was stored; %s",
				s.profile.Name, fmt.Sprint(claims["sub"]), was, s.loginHint())
		}
		if b.IDTokenClaims, err = json.Marshal(claims); err != nil {
			return nil, err
		}
	}
	b.SetToken(tok)
	return b, nil
}

// storedSubject returns the sub claim of b's verified ID token, if it has
// one.
func storedSubject(b *store.Bundle) (string, bool) {
	if b == nil || len(b.IDTokenClaims) == 0 {
		return "", false
	}
	var c struct {
		Sub *string `json:"sub"`
	}
	if json.Unmarshal(b.IDTokenClaims, &c) != nil || c.Sub == nil {
		return "", false
	}
	return *c.Sub, true
}
