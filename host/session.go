package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/idplug/idplug/host/config"
	"github.com/idplug/idplug/host/store"
	"github.com/idplug/idplug/internal/edge"
	"github.com/idplug/idplug/internal/engine"
	"github.com/idplug/idplug/internal/plugin"
	"github.com/idplug/idplug/sdk"
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

// conn is what talking to the provider takes: the plugin, its resolved spec
// and the engine over the edge.
type conn struct {
	plugin   *plugin.Plugin
	spec     sdk.ProviderSpec
	engine   *engine.Client
	settings map[string]string // as configure received them; identity gets them too
}

// Profile returns the session's profile name.
func (s *Session) Profile() string { return s.profile.Name }

// Provider returns the name of the session's provider plugin.
func (s *Session) Provider() string { return s.profile.Provider }

// Backend names the store that holds the session's tokens.
func (s *Session) Backend() string { return s.h.store.Backend() }

// DeviceCode is what the user needs to approve a login: where to go and which
// code to enter.
type DeviceCode = oauth2.DeviceAuthResponse

// PollEvent reports progress while a login waits for the user.
type PollEvent = engine.PollEvent

// LoginOptions receive a login's progress.
type LoginOptions struct {
	// OnCode is called once the provider issued the code; show it to the user.
	OnCode func(DeviceCode)
	// OnEvent, if set, is called for every poll outcome while waiting.
	OnEvent func(PollEvent)
}

// Identity is who is logged in, as the provider's plugin maps it, with the
// profile it came through.
type Identity struct {
	sdk.Identity
	Provider  string     `json:"provider"`
	Profile   string     `json:"profile"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// Login runs the device authorization grant: it asks the provider for a code,
// reports it through opts.OnCode, polls until the user approves, denies or the
// code expires, verifies the ID token and stores the tokens. Nothing is
// stored unless every step succeeded.
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
	tok, err := c.engine.Poll(ctx, da, opts.OnEvent)
	if err != nil {
		return nil, err
	}
	b, err := s.bundle(ctx, c, tok, nil)
	if err != nil {
		return nil, err
	}
	if err := s.save(ctx, b); err != nil {
		return nil, err
	}
	return s.identity(ctx, c, b)
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
	b := &store.Bundle{Provider: s.profile.Provider, Issuer: c.spec.Issuer}
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

// Token returns a valid access token, refreshing it when it expires within
// the expiry skew. A cached, valid token is returned without loading any
// plugin or touching the network.
func (s *Session) Token(ctx context.Context) (*oauth2.Token, error) {
	b, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	if s.fresh(b) {
		return b.Token(), nil
	}
	return s.refresh(ctx)
}

// IDToken returns the raw ID token of the stored bundle, refreshing first if
// the access token expired.
func (s *Session) IDToken(ctx context.Context) (string, error) {
	if _, err := s.Token(ctx); err != nil {
		return "", err
	}
	b, err := s.load(ctx)
	if err != nil {
		return "", err
	}
	if b.IDToken == "" {
		return "", fmt.Errorf("profile %q has no ID token; include the openid scope in its scopes and log in again", s.profile.Name)
	}
	return b.IDToken, nil
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

// refresh exchanges the refresh token under the profile's lock. Another
// process may have refreshed while this one waited, so the bundle is read
// again once the lock is held: a rotated refresh token is never presented
// twice.
func (s *Session) refresh(ctx context.Context) (*oauth2.Token, error) {
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
		return b.Token(), nil
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
	if err != nil {
		var oe *engine.OAuthError
		if errors.As(err, &oe) && oe.Code == engine.CodeInvalidGrant {
			return nil, fmt.Errorf("%w: the identity provider no longer accepts the session of profile %q (%v); %s",
				ErrNotLoggedIn, s.profile.Name, err, s.loginHint())
		}
		return nil, err
	}
	nb, err := s.bundle(ctx, c, tok, b)
	if err != nil {
		return nil, err
	}
	if err := s.h.store.Save(ctx, s.key, nb); err != nil {
		return nil, err
	}
	return nb.Token(), nil
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

// Identity returns who is logged in: the verified ID token's claims and the
// provider's userinfo, mapped by the plugin.
func (s *Session) Identity(ctx context.Context) (*Identity, error) {
	if _, err := s.Token(ctx); err != nil {
		return nil, err
	}
	b, err := s.load(ctx)
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
	if c.spec.Endpoints.Userinfo != "" {
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
	id, err := c.plugin.IdentityWithSettings(ctx, c.settings, claims, userinfo)
	if err != nil {
		return nil, err
	}
	out := &Identity{Identity: id, Provider: s.profile.Provider, Profile: s.profile.Name}
	if out.Groups == nil {
		out.Groups = []string{}
	}
	if !b.Expiry.IsZero() {
		t := b.Expiry.UTC()
		out.ExpiresAt = &t
	}
	return out, nil
}

// LogoutResult says what Logout did.
type LogoutResult struct {
	WasLoggedIn bool  // there were stored tokens
	Revoked     bool  // the provider accepted the revocation
	RevokeErr   error // why revocation failed or was skipped; tokens are deleted anyway
}

// Logout revokes the stored tokens at the provider where it offers RFC 7009
// revocation, then deletes them. A failed revocation does not keep the tokens.
func (s *Session) Logout(ctx context.Context) (LogoutResult, error) {
	b, err := s.h.store.Load(ctx, s.key)
	if errors.Is(err, store.ErrNotFound) {
		return LogoutResult{}, nil
	}
	if err != nil {
		// An unreadable bundle cannot be revoked; delete it so that the user
		// can log in again.
		return LogoutResult{WasLoggedIn: true, RevokeErr: err}, s.forget(ctx)
	}
	res := LogoutResult{WasLoggedIn: true}
	res.Revoked, res.RevokeErr = s.revoke(ctx, b)
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
	if c.spec.Endpoints.Revocation == "" {
		return false, fmt.Errorf("provider %q offers no revocation endpoint; the tokens stay valid at the IdP until they expire", s.profile.Provider)
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

// Status is what is known of a profile without contacting its provider.
type Status struct {
	Profile   string     `json:"profile"`
	Provider  string     `json:"provider"`
	Default   bool       `json:"default"`
	LoggedIn  bool       `json:"logged_in"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Expired   bool       `json:"expired"`
	Refresh   bool       `json:"refreshable"`
	Backend   string     `json:"backend"` // "keyring" or "file": where the tokens are, or where a login puts them
	Error     string     `json:"error,omitempty"`
}

// Status reports every profile's state from the store alone.
func (h *Host) Status(ctx context.Context) []Status {
	def, _ := h.cfg.Profile("")
	var out []Status
	for _, name := range slices.Sorted(maps.Keys(h.cfg.Profiles)) {
		s, err := h.Session(name)
		if err != nil {
			continue
		}
		st := Status{Profile: name, Provider: s.profile.Provider, Default: def != nil && def.Name == name, Backend: h.store.Backend()}
		b, err := h.store.Load(ctx, s.key)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			st.Error = err.Error()
		default:
			st.LoggedIn = true
			st.Backend = b.Backend
			st.Refresh = b.RefreshToken != ""
			if !b.Expiry.IsZero() {
				t := b.Expiry.UTC()
				st.ExpiresAt = &t
				st.Expired = !s.fresh(b)
			}
		}
		out = append(out, st)
	}
	return out
}

// connect loads the provider's plugin, validates the profile's settings
// through configure, resolves discovery and builds the engine. It runs once
// per session.
func (s *Session) connect(ctx context.Context) (*conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		return s.conn, nil
	}
	p, err := s.h.plugin(ctx, s.profile.Provider)
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			return nil, &ConfigError{Err: fmt.Errorf("%s: profiles.%s.provider: %w", s.profile.Pos, s.profile.Name, ce.Err)}
		}
		return nil, err
	}
	settings, err := s.settings(p.Info())
	if err != nil {
		return nil, err
	}
	client := sdk.Client{ClientID: s.profile.ClientID, ClientSecret: string(s.profile.ClientSecret), Scopes: s.profile.Scopes}
	spec, cerrs, err := p.Configure(ctx, settings, client)
	if err != nil {
		return nil, err
	}
	if len(cerrs) > 0 {
		errs := make([]error, len(cerrs))
		for i, ce := range cerrs {
			errs[i] = s.profile.SettingError(ce.Setting, ce.Message)
		}
		return nil, &ConfigError{Err: errors.Join(errs...)}
	}
	e, err := edge.New(edge.Options{Provider: p.Name(), Version: s.h.opts.version, Logger: s.h.opts.logger})
	if err != nil {
		return nil, err
	}
	if err := e.AllowSpec(*spec); err != nil {
		return nil, fmt.Errorf("plugin %q returned an unusable endpoint: %w", p.Name(), err)
	}
	if spec.DiscoveryURL != "" {
		d, err := engine.Discover(ctx, e.Client(), p, spec.DiscoveryURL, spec.Issuer)
		if err != nil {
			return nil, err
		}
		*spec = engine.Resolve(*spec, d)
		if err := e.AllowSpec(*spec); err != nil {
			return nil, fmt.Errorf("the discovery document of %s names an unusable endpoint: %w", spec.DiscoveryURL, err)
		}
	}
	if spec.Endpoints.DeviceAuthorization == "" || spec.Endpoints.Token == "" {
		return nil, fmt.Errorf("provider %q (profile %q) names no device authorization or token endpoint: the identity provider may not support the device grant (RFC 8628)", p.Name(), s.profile.Name)
	}
	if len(client.Scopes) == 0 {
		client.Scopes = spec.DefaultScopes
	}
	eng, err := engine.New(engine.Config{Spec: *spec, Client: client, Hooks: p, HTTP: e.Client(), Logger: s.h.opts.logger})
	if err != nil {
		return nil, err
	}
	s.conn = &conn{plugin: p, spec: *spec, engine: eng, settings: settings}
	return s.conn, nil
}

// settings checks the profile's [settings] against what the plugin declares
// and returns their text forms, defaults applied. Errors name file, line and
// key.
func (s *Session) settings(info sdk.PluginInfo) (map[string]string, error) {
	declared := map[string]sdk.SettingSpec{}
	var errs []error
	out := map[string]string{}
	for _, spec := range info.Settings {
		declared[spec.Name] = spec
		v, ok := s.profile.Setting(spec.Name)
		switch {
		case ok:
			text, err := settingText(spec, v.Raw)
			if err != nil {
				errs = append(errs, s.profile.SettingError(spec.Name, err.Error()))
				continue
			}
			out[spec.Name] = text
		case spec.Default != "":
			out[spec.Name] = spec.Default
		case spec.Required:
			errs = append(errs, s.profile.SettingError(spec.Name, fmt.Sprintf("provider %q requires this setting (%s): add it under [profiles.%s.settings]", info.Name, spec.Help, s.profile.Name)))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.profile.Settings)) {
		if _, ok := declared[name]; !ok {
			errs = append(errs, s.profile.SettingError(name, fmt.Sprintf("provider %q has no setting %q%s; it accepts: %s (see `%s plugins info %s`)",
				info.Name, name, config.Suggest(name, slices.Collect(maps.Keys(declared))), settingList(info), s.h.opts.commandPath(), info.Name)))
		}
	}
	if len(errs) > 0 {
		return nil, &ConfigError{Err: errors.Join(errs...)}
	}
	return out, nil
}

func settingList(info sdk.PluginInfo) string {
	if len(info.Settings) == 0 {
		return "no settings"
	}
	names := make([]string, len(info.Settings))
	for i, s := range info.Settings {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// settingText checks a TOML value against its declared type and returns its
// text form.
func settingText(spec sdk.SettingSpec, v any) (string, error) {
	switch spec.Type {
	case sdk.SettingBool:
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b), nil
		}
		return "", fmt.Errorf("must be true or false, not %s", describe(v))
	case sdk.SettingInt:
		if n, ok := v.(int64); ok {
			return strconv.FormatInt(n, 10), nil
		}
		return "", fmt.Errorf("must be an integer, not %s", describe(v))
	default: // string, url
		if str, ok := v.(string); ok {
			return str, nil
		}
		return "", fmt.Errorf("must be a string in quotes, not %s", describe(v))
	}
}

func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}
