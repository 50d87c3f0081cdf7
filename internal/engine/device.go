package engine

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/idplug/idplug/sdk"
)

// Polling defaults (RFC 8628 §3.2, §3.5).
const (
	// DefaultInterval applies when the provider sends no interval.
	DefaultInterval = 5 * time.Second
	// SlowDownStep is added to the interval for every slow_down.
	SlowDownStep = 5 * time.Second
	// DefaultDeviceCodeLifetime applies when the provider sends no
	// expires_in, which RFC 8628 §3.2 requires: 15 minutes, a common
	// provider default, so a login never polls forever.
	DefaultDeviceCodeLifetime = 15 * time.Minute
	// MaxRetryDelay caps the wait before retrying a poll that met a
	// transient fault; the wait doubles from the interval up to this cap,
	// and is never shorter than the interval.
	MaxRetryDelay = time.Minute
)

// GrantTypeDeviceCode is the grant_type of a device access token request
// (RFC 8628 §3.4).
const GrantTypeDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// DeviceAuth starts a device flow (RFC 8628 §3.1) and returns what to show the
// user. The response always has Interval and Expiry, defaulted if the
// provider omitted them (DefaultInterval, DefaultDeviceCodeLifetime).
func (c *Client) DeviceAuth(ctx context.Context) (*oauth2.DeviceAuthResponse, error) {
	const ex = sdk.ExchangeDeviceAuthorization
	form := url.Values{}
	if len(c.client.Scopes) > 0 {
		form.Set("scope", strings.Join(c.client.Scopes, " "))
	}
	var verifier string
	if c.pkce {
		verifier = oauth2.GenerateVerifier()
		form.Set("code_challenge", oauth2.S256ChallengeFromVerifier(verifier))
		form.Set("code_challenge_method", "S256")
	}
	resp, err := c.post(ctx, ex, c.spec.Endpoints.DeviceAuthorization, form)
	if err != nil {
		return nil, c.hide(err)
	}
	da, err := parseDeviceAuth(resp, c.clock.Now())
	switch {
	case err == nil && verifier != "":
		c.codes.Store(da.DeviceCode, verifier)
	case err != nil && !c.pkce && strings.Contains(err.Error(), "code_challenge"):
		// Keycloak's answer to a client that requires PKCE.
		err = fmt.Errorf("%w; the client requires PKCE: remove pkce = false from the profile", err)
	}
	return da, c.hide(err)
}

// PollEventKind says what a poll found.
type PollEventKind string

// The kinds of PollEvent.
const (
	PollPending    PollEventKind = "pending"    // authorization_pending: the user has not approved yet
	PollSlowDown   PollEventKind = "slow_down"  // the provider asked for a longer interval
	PollRetrying   PollEventKind = "retrying"   // a transient fault (PollEvent.Err); the poll will be retried
	PollAuthorized PollEventKind = "authorized" // the user approved; Poll returns the token
)

// PollEvent reports one poll to the caller of Poll, for progress display.
type PollEvent struct {
	Kind      PollEventKind
	Err       error         // the transient fault, for PollRetrying
	Interval  time.Duration // the polling interval now in force
	Next      time.Time     // when the next poll will be sent; zero for PollAuthorized
	Remaining time.Duration // how long the device code stays valid
}

// Poll polls the token endpoint for the device access token (RFC 8628 §3.4)
// until the user approves, denies, or the code expires, and returns the
// token (see IDToken for the ID token).
//
// It sends exactly one POST per poll: the first one interval after the call,
// the next one interval after each answer. slow_down adds SlowDownStep to the
// interval for all later polls (§3.5), or sets the interval the answer
// names when that is longer. A transient fault (no answer, 5xx, 429
// without an OAuth error, server_error, temporarily_unavailable) is reported
// as PollRetrying and retried after a delay that doubles from the interval up
// to MaxRetryDelay. When da.Expiry passes first, or the provider answers
// expired_token, the error matches ErrExpired; access_denied matches
// ErrDenied; any other OAuth error is an *OAuthError. onEvent may be nil.
func (c *Client) Poll(ctx context.Context, da *oauth2.DeviceAuthResponse, onEvent func(PollEvent)) (*oauth2.Token, error) {
	defer c.codes.Delete(da.DeviceCode) // the flow's PKCE verifier is spent
	now := c.clock.Now()
	interval := DefaultInterval
	if da.Interval > 0 {
		interval = time.Duration(min(da.Interval, maxSeconds)) * time.Second
	}
	expiry := da.Expiry
	if expiry.IsZero() {
		expiry = now.Add(DefaultDeviceCodeLifetime)
	}
	emit := func(ev PollEvent) {
		ev.Interval, ev.Remaining = interval, max(0, expiry.Sub(c.clock.Now()))
		attrs := []any{"event", ev.Kind, "interval", ev.Interval, "next", ev.Next, "remaining", ev.Remaining}
		if ev.Err != nil {
			attrs = append(attrs, "error", ev.Err)
		}
		c.log.DebugContext(ctx, "device flow poll", attrs...)
		if onEvent != nil {
			onEvent(ev)
		}
	}
	next, delay := now.Add(interval), interval
	for {
		if !next.Before(expiry) {
			return nil, ErrExpired
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.clock.After(next.Sub(c.clock.Now())):
		}
		tok, err := c.pollOnce(ctx, da.DeviceCode)
		now = c.clock.Now()
		var oe *OAuthError
		switch {
		case err == nil:
			emit(PollEvent{Kind: PollAuthorized})
			return tok, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case transient(err):
			next = now.Add(delay)
			delay = min(delay*2, max(MaxRetryDelay, interval))
			emit(PollEvent{Kind: PollRetrying, Err: err, Next: next})
			continue
		case !errors.As(err, &oe):
			return nil, err
		case oe.Code == CodeAuthorizationPending:
			next = now.Add(interval)
			emit(PollEvent{Kind: PollPending, Next: next})
		case oe.Code == CodeSlowDown:
			// RFC 8628 §3.5 adds 5 s; a provider that names the interval
			// it wants (GitHub) gets it when it is longer.
			interval = max(interval+SlowDownStep, time.Duration(oe.Interval)*time.Second)
			next = now.Add(interval)
			emit(PollEvent{Kind: PollSlowDown, Next: next})
		default:
			return nil, err
		}
		delay = interval
	}
}

// pollOnce sends one device access token request (RFC 8628 §3.4).
func (c *Client) pollOnce(ctx context.Context, deviceCode string) (*oauth2.Token, error) {
	const ex = sdk.ExchangeTokenPoll
	form := url.Values{
		"grant_type":  {GrantTypeDeviceCode},
		"device_code": {deviceCode},
	}
	secrets := []string{deviceCode}
	if v, ok := c.codes.Load(deviceCode); ok {
		form.Set("code_verifier", v.(string))
		secrets = append(secrets, v.(string))
	}
	resp, err := c.post(ctx, ex, c.spec.Endpoints.Token, form)
	if err != nil {
		return nil, c.hide(err, secrets...)
	}
	tok, err := parseToken(ex, resp, c.clock.Now())
	return tok, c.hide(err, secrets...)
}
