// Package store keeps token bundles: the tokens a profile signed in with and
// what the host learned about them, one bundle per profile and profile
// fingerprint (see config.Profile.Fingerprint), so that editing a profile
// never reuses tokens obtained under the old one.
//
// Two backends share one state directory (0700, files 0600, replaced
// atomically): [File] keeps each bundle as a plain JSON file, and [Keyring]
// keeps it encrypted with AES-256-GCM under a random key held in the OS
// keyring (Secret Service, macOS Keychain, Windows Credential Manager), whose
// small item limits large JWT bundles would break. [Open] picks one from the
// [store] backend setting, falling back from the keyring to plain files when
// asked to. Both take the same cross-process lock per profile.
//
// Token values and keys never appear in this package's errors, and a Bundle
// formats and logs with its tokens redacted.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"golang.org/x/oauth2"
)

// version is the Bundle format this package reads and writes.
const version = 1

// Bundle is what is stored for one signed-in profile, as JSON.
type Bundle struct {
	Version       int             `json:"version"` // format version; Save sets it to 1
	Profile       string          `json:"profile"`
	Provider      string          `json:"provider"`
	Fingerprint   string          `json:"fingerprint"`
	Issuer        string          `json:"issuer,omitempty"`
	AccessToken   string          `json:"access_token"`
	TokenType     string          `json:"token_type,omitempty"`
	RefreshToken  string          `json:"refresh_token,omitempty"`
	Expiry        time.Time       `json:"expiry,omitzero"` // zero when the access token does not expire
	IDToken       string          `json:"id_token,omitempty"`
	IDTokenClaims json.RawMessage `json:"id_token_claims,omitempty"` // verified claims of IDToken
	CreatedAt     time.Time       `json:"created_at"`                // first saved
	UpdatedAt     time.Time       `json:"updated_at"`                // last saved

	// Backend is the backend holding the bundle, "keyring" or "file", as
	// Load found it or Save wrote it. It is not stored.
	Backend string `json:"-"`
}

// Token returns the bundle's tokens as an oauth2.Token, with the ID token,
// if any, as its "id_token" extra.
func (b *Bundle) Token() *oauth2.Token {
	t := &oauth2.Token{AccessToken: b.AccessToken, TokenType: b.TokenType, RefreshToken: b.RefreshToken, Expiry: b.Expiry}
	if b.IDToken != "" {
		t = t.WithExtra(map[string]any{"id_token": b.IDToken})
	}
	return t
}

// SetToken records the tokens of a token response in b. A refresh or ID
// token the response leaves out keeps its previous value (RFC 6749 §6 lets a
// refresh response omit the refresh token).
func (b *Bundle) SetToken(t *oauth2.Token) {
	b.AccessToken, b.TokenType, b.Expiry = t.AccessToken, t.TokenType, t.Expiry
	if t.RefreshToken != "" {
		b.RefreshToken = t.RefreshToken
	}
	if id, _ := t.Extra("id_token").(string); id != "" {
		b.IDToken = id
	}
}

// String describes b with its tokens redacted.
func (b *Bundle) String() string {
	if b == nil {
		return "<nil>"
	}
	return fmt.Sprintf("Bundle{profile=%q provider=%q fingerprint=%q issuer=%q access_token=%s refresh_token=%s id_token=%s expiry=%s}",
		b.Profile, b.Provider, b.Fingerprint, b.Issuer,
		redact(b.AccessToken), redact(b.RefreshToken), redact(b.IDToken), b.Expiry.Format(time.RFC3339))
}

// GoString is String, so that %#v redacts too.
func (b *Bundle) GoString() string { return b.String() }

// LogValue describes b to log/slog with its tokens redacted.
func (b *Bundle) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("profile", b.Profile),
		slog.String("provider", b.Provider),
		slog.String("fingerprint", b.Fingerprint),
		slog.String("issuer", b.Issuer),
		slog.String("access_token", redact(b.AccessToken)),
		slog.String("refresh_token", redact(b.RefreshToken)),
		slog.String("id_token", redact(b.IDToken)),
		slog.Time("expiry", b.Expiry),
	)
}

func redact(s string) string {
	if s == "" {
		return "none"
	}
	return "[redacted]"
}

// encode writes b as one line of JSON, keeping IDTokenClaims as they are.
func encode(w io.Writer, b *Bundle) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(b)
}

// decode parses a stored bundle. Its errors never contain token values.
func decode(data []byte) (*Bundle, error) {
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, fmt.Errorf("invalid JSON at byte %d", syntax.Offset)
		}
		return nil, err
	}
	if b.Version != version {
		return nil, fmt.Errorf("format version %d, but this program reads version %d", b.Version, version)
	}
	return &b, nil
}

// Key identifies a bundle.
type Key struct {
	Profile     string // the profile's name
	Fingerprint string // the profile's fingerprint: at least 12 lowercase hex digits
}

// Store keeps token bundles. Implementations are safe for concurrent use;
// Lock serialises refreshes across processes.
type Store interface {
	// Load returns the bundle stored for k, or an error wrapping ErrNotFound.
	Load(ctx context.Context, k Key) (*Bundle, error)
	// Save stores b for k, replacing any bundle stored for k. It sets b's
	// Version, Profile, Fingerprint and Backend, its UpdatedAt to now, and its
	// CreatedAt when zero.
	Save(ctx context.Context, k Key, b *Bundle) error
	// Delete removes the bundle stored for k; there being none is not an
	// error. A Key with an empty Fingerprint removes every bundle of the
	// profile, as logout should.
	Delete(ctx context.Context, k Key) error
	// Backend names where Save puts bundles: "keyring" or "file".
	Backend() string
	// Lock takes the profile's cross-process lock, waiting until ctx is
	// done; refreshes happen under it. unlock may be called more than once.
	Lock(ctx context.Context, profile string) (unlock func(), err error)
}

// ErrNotFound means no tokens are stored for a profile: the user has to log in.
var ErrNotFound = errors.New("store: not logged in")

// CorruptError reports a stored bundle that cannot be read: malformed,
// tampered with, or without its key. The file is kept; logging in again
// replaces it.
type CorruptError struct {
	Path    string // the file
	Profile string
	Err     error // what is wrong; never contains token values
}

// Error names the profile and the file; logging in again replaces it.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("store: the stored tokens of profile %q in %s are unreadable (%v); logging in again replaces them",
		e.Profile, e.Path, e.Err)
}

// Unwrap returns the underlying error.
func (e *CorruptError) Unwrap() error { return e.Err }
