package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"

	"github.com/idplug/idplug/sdk"
)

// ErrRefreshRejected is matched by the error of a refresh the provider
// answered with a 4xx status other than 429: whatever its error code
// (invalid_grant per RFC 6749 §5.2, but Dex answers an expired refresh token
// with invalid_request), the refresh token is dead and the session is over.
var ErrRefreshRejected = errors.New("the provider no longer accepts the refresh token")

// rejected marks a refresh error as ErrRefreshRejected.
type rejected struct{ error }

func (r rejected) Unwrap() []error { return []error{r.error, ErrRefreshRejected} }

// Refresh exchanges a refresh token for new tokens (RFC 6749 §6) at the
// refresh endpoint, or the token endpoint when the spec names none. When the
// provider does not rotate the refresh token, the returned token keeps
// refreshToken. An error matching ErrRefreshRejected means the session is
// over: log in again; other errors (5xx, 429, no answer) leave the refresh
// token usable later.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*oauth2.Token, error) {
	const ex = sdk.ExchangeRefresh
	if refreshToken == "" {
		return nil, fmt.Errorf("%s: there is no refresh token (ask for the offline_access scope if the provider needs it); run login again", ex)
	}
	endpoint := cmp.Or(c.spec.Endpoints.Refresh, c.spec.Endpoints.Token)
	resp, err := c.post(ctx, ex, endpoint, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
	})
	if err != nil {
		return nil, c.hide(err, refreshToken)
	}
	tok, err := parseToken(ex, resp, c.clock.Now())
	if err != nil {
		err = c.hide(err, refreshToken)
		if resp.Status >= 400 && resp.Status < 500 && resp.Status != http.StatusTooManyRequests {
			err = rejected{err}
		}
		return nil, err
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = refreshToken
	}
	return tok, nil
}

// Revoke revokes token at the revocation endpoint (RFC 7009 §2.1); hint is
// "refresh_token", "access_token" or "". Success is a 200 answer, also for a
// token the provider no longer knows (§2.2). The error matches
// ErrNotSupported when the provider has no revocation endpoint or cannot
// revoke this type of token (§2.2.1): delete the token locally all the same.
func (c *Client) Revoke(ctx context.Context, token, hint string) error {
	const ex = sdk.ExchangeRevocation
	if c.spec.Endpoints.Revocation == "" {
		return fmt.Errorf("%s: %w: the provider has no revocation endpoint", ex, ErrNotSupported)
	}
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	resp, err := c.post(ctx, ex, c.spec.Endpoints.Revocation, form)
	if err != nil {
		return c.hide(err, token)
	}
	return c.hide(answerError(ex, resp), token)
}

// Userinfo fetches the user's claims with an access token (OpenID Connect
// Core 1.0 §5.3). The error matches ErrNotSupported when the provider has no
// userinfo endpoint; an *OAuthError with CodeInvalidToken means the token
// was refused.
func (c *Client) Userinfo(ctx context.Context, accessToken string) (map[string]any, error) {
	const ex = sdk.ExchangeUserinfo
	if c.spec.Endpoints.Userinfo == "" {
		return nil, fmt.Errorf("%s: %w: the provider has no userinfo endpoint", ex, ErrNotSupported)
	}
	resp, err := c.get(ctx, ex, c.spec.Endpoints.Userinfo, sdk.Header{Name: "Authorization", Value: "Bearer " + accessToken})
	if err != nil {
		return nil, c.hide(err, accessToken)
	}
	var claims map[string]any
	if err := c.hide(decode(ex, resp, &claims), accessToken); err != nil {
		var oe *OAuthError
		if resp.Status == http.StatusUnauthorized || (errors.As(err, &oe) && oe.Code == CodeInvalidToken) {
			return nil, fmt.Errorf("%w (%w)", ErrTokenRejected, err)
		}
		return nil, err
	}
	return claims, nil
}

// VerifyIDToken verifies a raw ID token (OpenID Connect Core 1.0 §3.1.3.7):
// its signature against the provider's JWKS (fetched through the edge and
// cached), iss equal to the spec's issuer and, when the plugin gave a
// template, to the template filled with the token's own claims, aud containing the client_id, azp
// (required when aud names several) equal to the client_id, and exp not
// passed by the Client's clock. It returns the token's claims. The
// error matches ErrNotSupported when the spec has no issuer or JWKS endpoint.
func (c *Client) VerifyIDToken(ctx context.Context, raw string) (map[string]any, error) {
	if c.verifier == nil {
		return nil, fmt.Errorf("verifying the ID token: %w: the provider spec has no issuer or no JWKS endpoint", ErrNotSupported)
	}
	tok, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("the provider's ID token did not verify: %w; check the issuer setting and the system clock, or run login again", err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, fmt.Errorf("reading the ID token's claims: %w", err)
	}
	if iss := c.issuerTemplate; iss != "" {
		want, err := fillTemplate(iss, claims)
		if err == nil && tok.Issuer != want {
			err = fmt.Errorf("its issuer %q is not %q, the issuer template filled with the token's own claims", tok.Issuer, want)
		}
		if err != nil {
			return nil, fmt.Errorf("the provider's ID token did not verify: %w; run login again, or check the provider's settings", err)
		}
	}
	// §3.1.3.7 items 4 and 5: a token for several audiences names the
	// party it was issued to, and that party must be this client.
	azp, ok := claims["azp"]
	switch {
	case ok && azp != any(c.client.ClientID):
		return nil, fmt.Errorf("the provider's ID token was issued to another client (azp %q, not %q); check client_id of the profile", fmt.Sprint(azp), c.client.ClientID)
	case !ok && len(tok.Audience) > 1:
		return nil, fmt.Errorf("the provider's ID token is for several audiences %q but names no authorized party (azp); refusing it", tok.Audience)
	}
	return claims, nil
}
