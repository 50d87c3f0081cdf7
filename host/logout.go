package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/idplug/idplug/internal/engine"
	"github.com/idplug/idplug/internal/store"
)

// LogoutResult says what Logout did.
type LogoutResult struct {
	WasLoggedIn bool  // there were stored tokens
	Revoked     bool  // the provider accepted the revocation
	RevokeErr   error // why revocation failed or was skipped; tokens are deleted anyway
}

// Logout revokes the stored tokens at the provider where it offers RFC 7009
// revocation, then deletes every stored bundle of the profile, including
// those stored before the profile was edited. A failed revocation does not
// keep the tokens. For a provider without revocation, RevokeErr carries
// the plugin's logout hint: how to revoke the grant by hand.
func (s *Session) Logout(ctx context.Context) (LogoutResult, error) {
	var res LogoutResult
	b, err := s.h.store.Load(ctx, s.key)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		// An unreadable bundle cannot be revoked; it is deleted so that the
		// user can log in again.
		res = LogoutResult{WasLoggedIn: true, RevokeErr: err}
	default:
		res.WasLoggedIn = true
		res.Revoked, res.RevokeErr = s.revoke(ctx, b)
	}
	return res, s.forget(ctx)
}

// forget deletes every stored version of the profile, including bundles
// issued before the profile was edited, with their keys in the keyring. It
// holds the profile's lock, so that no refresh writes a bundle back.
func (s *Session) forget(ctx context.Context) error {
	unlock, err := s.h.store.Lock(ctx, s.profile.Name)
	if err != nil {
		return err
	}
	defer unlock()
	// s.key first: its keyring key goes even when its file is already gone.
	return errors.Join(s.h.store.Delete(ctx, s.key), s.h.store.Delete(ctx, store.Key{Profile: s.profile.Name}))
}

func (s *Session) revoke(ctx context.Context, b *store.Bundle) (bool, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return false, err
	}
	spec := c.engine.Spec()
	if spec.Endpoints.Revocation == "" {
		if spec.LogoutHint != "" {
			return false, fmt.Errorf("provider %q has no revocation endpoint: %s", s.profile.Provider, oneLine(spec.LogoutHint))
		}
		return false, fmt.Errorf("provider %q has no revocation endpoint: the tokens stay valid at the identity provider until they expire", s.profile.Provider)
	}
	// Revoking the refresh token ends the grant (RFC 7009 §2.1); the access
	// token is revoked too for providers that do not cascade.
	if b.RefreshToken != "" {
		if err := c.engine.Revoke(ctx, b.RefreshToken, "refresh_token"); err != nil {
			return false, err
		}
	}
	if err := c.engine.Revoke(ctx, b.AccessToken, "access_token"); err != nil {
		// A provider that revokes refresh tokens only (Amazon Cognito)
		// answers unsupported_token_type for the access token; it was
		// revoked with its refresh token (RFC 7009 §2.1).
		if b.RefreshToken == "" || !errors.Is(err, engine.ErrNotSupported) {
			return false, err
		}
	}
	return true, nil
}
