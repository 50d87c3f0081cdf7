package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/idplug/idplug/internal/engine"
	"github.com/idplug/idplug/internal/store"
	"github.com/idplug/idplug/sdk"
)

// Identity is who is logged in, as the provider's plugin maps the verified ID
// token and the userinfo response, with the profile it came through. Its
// JSON encoding is the output of `whoami --json`.
type Identity struct {
	Subject   string     `json:"subject"`
	Username  string     `json:"username"`
	Name      string     `json:"name"`
	Email     string     `json:"email"`
	Groups    []string   `json:"groups"` // never nil
	Provider  string     `json:"provider"`
	Profile   string     `json:"profile"`
	ExpiresAt *time.Time `json:"expires_at"` // of the access token; nil when the provider gave none
}

// Identity returns who is logged in: the verified ID token's claims and the
// provider's userinfo, mapped by the plugin.
func (s *Session) Identity(ctx context.Context) (*Identity, error) {
	b, err := s.valid(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	return s.identity(ctx, c, b)
}

func (s *Session) identity(ctx context.Context, c *conn, b *store.Bundle) (*Identity, error) {
	claims := sdk.Claims{}
	if len(b.IDTokenClaims) > 0 {
		if err := json.Unmarshal(b.IDTokenClaims, &claims); err != nil {
			return nil, fmt.Errorf("stored ID token claims of profile %q are unreadable: %w; %s", s.profile.Name, err, s.loginHint())
		}
	}
	var userinfo sdk.Claims
	if c.engine.Spec().Endpoints.Userinfo != "" {
		ui, err := c.engine.Userinfo(ctx, b.AccessToken)
		if errors.Is(err, engine.ErrTokenRejected) {
			return nil, fmt.Errorf("%w: the identity provider no longer accepts the tokens of profile %q (%v); %s",
				ErrNotLoggedIn, s.profile.Name, err, s.loginHint())
		}
		if err != nil {
			return nil, err
		}
		// OpenID Connect Core 1.0 §5.3.2: userinfo about another subject
		// than the ID token's must not be used.
		if sub, ok := claims["sub"].(string); ok {
			if got, _ := ui["sub"].(string); got != sub {
				return nil, fmt.Errorf("the identity provider's userinfo of profile %q is about subject %q, not %q of the ID token; %s",
					s.profile.Name, fmt.Sprint(ui["sub"]), sub, s.loginHint())
			}
		}
		userinfo = ui
	}
	id, err := c.plugin.Identity(ctx, c.settings, claims, userinfo)
	if err != nil {
		return nil, err
	}
	out := &Identity{
		Subject: id.Subject, Username: id.Username, Name: id.Name, Email: id.Email, Groups: id.Groups,
		Provider: s.profile.Provider, Profile: s.profile.Name,
	}
	if out.Groups == nil {
		out.Groups = []string{}
	}
	if !b.Expiry.IsZero() {
		t := b.Expiry.UTC()
		out.ExpiresAt = &t
	}
	return out, nil
}
