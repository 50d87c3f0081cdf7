package engine

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/idplug/idplug/internal/edge"
	"github.com/idplug/idplug/sdk"
)

// OAuth error codes a provider may return in the "error" member of a JSON
// response.
const (
	// RFC 6749 §5.2: token endpoint errors.
	CodeInvalidRequest       = "invalid_request"
	CodeInvalidClient        = "invalid_client"
	CodeInvalidGrant         = "invalid_grant"
	CodeUnauthorizedClient   = "unauthorized_client"
	CodeUnsupportedGrantType = "unsupported_grant_type"
	CodeInvalidScope         = "invalid_scope"
	// RFC 6749 §4.1.2.1: the provider is failing or overloaded; some
	// providers send these from the token endpoint too.
	CodeServerError            = "server_error"
	CodeTemporarilyUnavailable = "temporarily_unavailable"
	// RFC 8628 §3.5: device access token errors.
	CodeAuthorizationPending = "authorization_pending"
	CodeSlowDown             = "slow_down"
	CodeAccessDenied         = "access_denied"
	CodeExpiredToken         = "expired_token"
	// RFC 7009 §2.2.1: the provider cannot revoke this type of token.
	CodeUnsupportedTokenType = "unsupported_token_type"
	// RFC 6750 §3.1: the access token was refused (userinfo).
	CodeInvalidToken = "invalid_token"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrExpired: the device code expired before the user approved, by its
	// lifetime or by the provider's expired_token. Run login again.
	ErrExpired = errors.New("the device code expired before the sign-in was approved")
	// ErrDenied: the user or the provider refused the sign-in (access_denied).
	ErrDenied = errors.New("the sign-in was denied at the provider")
	// ErrNotSupported: the provider has no endpoint for the exchange, or
	// (RFC 7009 §2.2.1) cannot revoke the token's type.
	ErrNotSupported = errors.New("not supported by the provider")
	// ErrTokenRejected: a resource of the provider (userinfo) refused the
	// access token with 401 or invalid_token (RFC 6750 §3.1): it was revoked,
	// or the provider forgot the session. Run login again.
	ErrTokenRejected = errors.New("the provider rejected the access token")
)

// OAuthError is an OAuth error response (RFC 6749 §5.2, RFC 8628 §3.5,
// RFC 7009 §2.2.1). It matches ErrExpired for expired_token, ErrDenied for
// access_denied and ErrNotSupported for unsupported_token_type.
type OAuthError struct {
	Exchange    sdk.Exchange // where the error came from
	Status      int          // the HTTP status, as interpreted by the plugin
	Code        string       // "error"
	Description string       // "error_description", may be empty
	URI         string       // "error_uri", may be empty
	// Interval is the polling interval a slow_down asks for, in seconds,
	// when the answer names one (GitHub does); 0 otherwise.
	Interval int64
}

// newOAuthError returns the *OAuthError of an answer, its provider's text
// made safe to show (see providerText).
func newOAuthError(ex sdk.Exchange, status int, code, description, uri string) *OAuthError {
	return &OAuthError{Exchange: ex, Status: status, Code: providerText(code),
		Description: providerText(description), URI: providerText(uri)}
}

// redactedText replaces a secret in an error message.
const redactedText = "[redacted]"

// maxText bounds the provider's text (error, error_description, error_uri)
// that an error quotes.
const maxText = 300

// printable reports whether s, which a user will see, is valid UTF-8 free of
// control characters, which could rewrite the terminal showing it.
func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// providerText makes text from a provider fit to quote in an error that
// reaches a terminal or a log: control characters (terminal escape
// sequences among them) become spaces, tokens are redacted and the text is
// cut to maxText bytes.
func providerText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	s = edge.Redact(s)
	if len(s) > maxText {
		cut := maxText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// Error implements error. It says what to do when the code says it.
func (e *OAuthError) Error() string {
	msg := fmt.Sprintf("%s: the provider answered %s", e.Exchange, e.Code)
	if e.Description != "" {
		msg += " (" + e.Description + ")"
	}
	if e.URI != "" {
		msg += ", see " + e.URI
	}
	if h := e.hint(); h != "" {
		msg += "; " + h
	}
	return msg
}

func (e *OAuthError) hint() string {
	switch e.Code {
	case CodeInvalidClient:
		return "check client_id and client_secret of the profile and the client's settings at the provider"
	case CodeUnauthorizedClient, CodeUnsupportedGrantType:
		return "enable the device authorization grant for this client at the provider"
	case CodeInvalidScope:
		return "check the profile's scopes against what the client may request"
	}
	// What to do after access_denied, expired_token, invalid_grant at
	// refresh and invalid_token is to log in again: the host says so, naming
	// the command and profile.
	return ""
}

// Is lets errors.Is match the sentinel errors by code.
func (e *OAuthError) Is(target error) bool {
	switch target {
	case ErrExpired:
		return e.Code == CodeExpiredToken
	case ErrDenied:
		return e.Code == CodeAccessDenied
	case ErrNotSupported:
		return e.Code == CodeUnsupportedTokenType
	}
	return false
}

// statusError is an answer that carries no OAuth error and no usable result.
type statusError struct {
	exchange sdk.Exchange
	status   int
	problem  string // what is wrong with the body; empty for a bad status
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("%s: the provider answered %s", e.exchange, e.answer())
	if e.problem != "" {
		msg += "; if this provider deviates from the RFC, its plugin should interpret the response"
	}
	return msg
}

// answer describes the answer: "400 Bad Request without an OAuth error",
// "200 OK with no access_token".
func (e *statusError) answer() string {
	if e.problem != "" {
		return fmt.Sprintf("%d %s with %s", e.status, http.StatusText(e.status), e.problem)
	}
	return fmt.Sprintf("%d %s without an OAuth error", e.status, http.StatusText(e.status))
}

// netError is a request that got no answer.
type netError struct {
	exchange sdk.Exchange
	err      error
}

func (e *netError) Error() string {
	return fmt.Sprintf("%s: no answer from the provider: %v", e.exchange, e.err)
}

func (e *netError) Unwrap() error { return e.err }

// transient reports whether a failed poll is worth another one: no answer
// (unless the edge refused the origin), a server error, or 429 without an
// OAuth error.
func transient(err error) bool {
	var ne *netError
	if errors.As(err, &ne) {
		return !errors.Is(err, edge.ErrNotAllowed)
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.status >= 500 || se.status == http.StatusTooManyRequests
	}
	var oe *OAuthError
	if errors.As(err, &oe) {
		return oe.Code == CodeServerError || oe.Code == CodeTemporarilyUnavailable
	}
	return false
}
