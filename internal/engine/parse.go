package engine

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/idplug/idplug/sdk"
)

// maxSeconds bounds a duration in seconds from a provider (about 68 years),
// so that adding it to a time cannot overflow.
const maxSeconds = math.MaxInt32

// seconds is a JSON duration in seconds: a number, or a number in a string
// as some providers send expires_in. Anything else (null, "", negative, not
// a number) reads as 0, unknown; fractions are truncated and values past
// maxSeconds capped.
type seconds int64

func (s *seconds) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(bytes.Trim(b, `"`)), 64)
	if err != nil || math.IsNaN(f) {
		f = 0
	}
	*s = seconds(max(0, min(f, maxSeconds)))
	return nil
}

func (s seconds) duration() time.Duration { return time.Duration(s) * time.Second }

// errorBody is the error part of an OAuth JSON response (RFC 6749 §5.2).
type errorBody struct {
	Error       string  `json:"error"`
	Description string  `json:"error_description"`
	URI         string  `json:"error_uri"`
	Interval    seconds `json:"interval"` // with slow_down, from some providers
}

// decode reads an OAuth JSON answer of exchange ex into v. An "error" member
// makes an *OAuthError whatever the status (RFC 6749 §5.2; some providers
// use 200 or 403); otherwise a non-2xx status makes a *statusError, as does a
// 2xx body that does not decode into v.
func decode(ex sdk.Exchange, resp sdk.HTTPResponse, v any) error {
	if err := answerError(ex, resp); err != nil {
		return err
	}
	status := int(resp.Status)
	if err := json.Unmarshal([]byte(resp.Body), v); err != nil {
		return &statusError{exchange: ex, status: status, problem: "malformed JSON: " + err.Error()}
	}
	return nil
}

// answerError returns the *OAuthError of an answer with an "error" member in
// its JSON body or, for a bearer token refused with 401, in its
// WWW-Authenticate header (RFC 6750 §3); else a *statusError for a non-2xx
// status; else nil.
func answerError(ex sdk.Exchange, resp sdk.HTTPResponse) error {
	status := int(resp.Status)
	var eb errorBody
	if json.Unmarshal([]byte(resp.Body), &eb) == nil && eb.Error != "" {
		oe := newOAuthError(ex, status, eb.Error, eb.Description, eb.URI)
		oe.Interval = int64(min(max(eb.Interval, 0), maxSeconds))
		return oe
	}
	if status == http.StatusUnauthorized {
		for _, h := range resp.Headers {
			if m := bearerError().FindStringSubmatch(h.Value); m != nil && strings.EqualFold(h.Name, "WWW-Authenticate") {
				return newOAuthError(ex, status, m[1], "", "")
			}
		}
	}
	if status < 200 || status > 299 {
		return &statusError{exchange: ex, status: status}
	}
	return nil
}

// usable returns the error the engine finds when it parses resp as the
// answer to exchange ex, or nil: the parse each exchange's method (discover,
// DeviceAuth, Poll, Refresh, Revoke, Userinfo) applies to its answer,
// without their other checks (the discovery document's issuer). It decides
// whether an answer interpret rewrote is usable, so it follows those
// methods.
func usable(ex sdk.Exchange, resp sdk.HTTPResponse) error {
	var err error
	switch ex {
	case sdk.ExchangeDiscovery:
		err = decode(ex, resp, &discoveryJSON{})
	case sdk.ExchangeDeviceAuthorization:
		_, err = parseDeviceAuth(resp, time.Time{})
	case sdk.ExchangeTokenPoll, sdk.ExchangeRefresh:
		_, err = parseToken(ex, resp, time.Time{})
	case sdk.ExchangeRevocation:
		err = answerError(ex, resp)
	case sdk.ExchangeUserinfo:
		err = decode(ex, resp, &map[string]any{})
	}
	return err
}

// bearerError finds the error attribute of a Bearer challenge (RFC 6750 §3);
// compiled on first use, off the start-up path.
var bearerError = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)^Bearer\b.*\berror="([^"]*)"`)
})

// tokenJSON is a successful token response (RFC 6749 §5.1) with the ID
// token of OpenID Connect Core 1.0 §3.1.3.3.
type tokenJSON struct {
	AccessToken  string  `json:"access_token"`
	TokenType    string  `json:"token_type"`
	RefreshToken string  `json:"refresh_token"`
	ExpiresIn    seconds `json:"expires_in"`
}

// parseToken reads a token response of exchange ex received at now. The
// token keeps every member of the response as its extra (so
// tok.Extra("id_token") and tok.Extra("scope") work); IDToken reads the ID
// token.
func parseToken(ex sdk.Exchange, resp sdk.HTTPResponse, now time.Time) (*oauth2.Token, error) {
	var tj tokenJSON
	if err := decode(ex, resp, &tj); err != nil {
		return nil, err
	}
	if tj.AccessToken == "" {
		return nil, &statusError{exchange: ex, status: int(resp.Status), problem: "no access_token"}
	}
	var raw map[string]any
	json.Unmarshal([]byte(resp.Body), &raw) // decode succeeded: a JSON object
	tok := &oauth2.Token{
		AccessToken:  tj.AccessToken,
		TokenType:    tj.TokenType,
		RefreshToken: tj.RefreshToken,
		ExpiresIn:    int64(tj.ExpiresIn),
	}
	if tj.ExpiresIn > 0 {
		tok.Expiry = now.Add(tj.ExpiresIn.duration())
	}
	return tok.WithExtra(raw), nil
}

// IDToken returns the raw ID token of a token response, or "" when there is
// none (a refresh may not return one).
func IDToken(tok *oauth2.Token) string {
	s, _ := tok.Extra("id_token").(string)
	return s
}

// deviceJSON is a device authorization response (RFC 8628 §3.2).
type deviceJSON struct {
	DeviceCode              string  `json:"device_code"`
	UserCode                string  `json:"user_code"`
	VerificationURI         string  `json:"verification_uri"`
	VerificationURL         string  `json:"verification_url"` // Google's older spelling
	VerificationURIComplete string  `json:"verification_uri_complete"`
	ExpiresIn               seconds `json:"expires_in"`
	Interval                seconds `json:"interval"`
}

// parseDeviceAuth reads a device authorization response received at now.
// A missing interval becomes DefaultInterval (RFC 8628 §3.2) and a missing
// expires_in DefaultDeviceCodeLifetime, so the result always has both.
func parseDeviceAuth(resp sdk.HTTPResponse, now time.Time) (*oauth2.DeviceAuthResponse, error) {
	const ex = sdk.ExchangeDeviceAuthorization
	var dj deviceJSON
	if err := decode(ex, resp, &dj); err != nil {
		return nil, err
	}
	da := &oauth2.DeviceAuthResponse{
		DeviceCode:              dj.DeviceCode,
		UserCode:                dj.UserCode,
		VerificationURI:         cmp.Or(dj.VerificationURI, dj.VerificationURL),
		VerificationURIComplete: dj.VerificationURIComplete,
		Expiry:                  now.Add(cmp.Or(dj.ExpiresIn.duration(), DefaultDeviceCodeLifetime)),
		Interval:                int64(cmp.Or(dj.Interval.duration(), DefaultInterval) / time.Second),
	}
	bad := func(problem string) error {
		return &statusError{exchange: ex, status: int(resp.Status), problem: problem}
	}
	switch {
	case da.DeviceCode == "":
		return nil, bad("no device_code")
	case da.UserCode == "":
		return nil, bad("no user_code")
	case !printable(da.UserCode):
		return nil, bad("a user_code with control characters")
	case !webURL(da.VerificationURI):
		return nil, bad("no https verification_uri (http only on a loopback host)")
	case da.VerificationURIComplete != "" && !webURL(da.VerificationURIComplete):
		return nil, bad("a verification_uri_complete that is not https (http only on a loopback host)")
	}
	return da, nil
}

// webURL reports whether s is a URL a user may be sent to: an absolute https
// URL, or http on a loopback host, printable as it is.
func webURL(s string) bool {
	return secureURL(s) && printable(s)
}
