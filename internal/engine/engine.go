// Package engine is idplug's one implementation of the OAuth exchanges with a
// provider: OpenID Connect Discovery 1.0, the device authorization grant
// (RFC 8628) with its polling, refresh (RFC 6749 §6), revocation (RFC 7009),
// userinfo (OpenID Connect Core 1.0 §5.3) and ID-token verification.
//
// Provider plugins never speak HTTP themselves. Connect builds the one
// internal/edge.Edge a Client sends through, which allows only the origins
// of the provider's endpoints. The engine builds every request, lets the
// plugin rewrite it (Hooks.Prepare), sends it through the edge, lets the
// plugin turn the answer into the RFC shape (Hooks.Interpret) and parses it
// into golang.org/x/oauth2 types. What the hooks return is checked: a
// request prepare made unsendable, or an answer interpret made unusable,
// fails with a *HookError naming the plugin and the hook, never blamed on
// the provider. Outcomes are decided on the OAuth "error"
// member of the JSON body, never on the HTTP status alone: Auth0, for one,
// answers authorization_pending with 403.
//
// A login, as the host runs it:
//
//	c, err := engine.Connect(ctx, engine.Config{Provider: name, Spec: spec, Client: client,
//		Hooks: hooks, Version: version, Logger: log}) // spec as configure returned it
//	da, err := c.DeviceAuth(ctx) // show da.VerificationURI and da.UserCode
//	tok, err := c.Poll(ctx, da, onEvent)
//	claims, err := c.VerifyIDToken(ctx, engine.IDToken(tok))
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/idplug/idplug/internal/edge"
	"github.com/idplug/idplug/sdk"
)

// maxBody bounds what the engine reads of a response.
const maxBody = 1 << 20

// Hooks are a provider plugin's optional wire adapters; *plugin.Plugin
// satisfies Hooks and calls the plugin only when it declares the hook.
type Hooks interface {
	// Prepare may rewrite a request before it is sent: its method, URL
	// (to an https URL, or http on a loopback host, of an origin the
	// provider's endpoints allow), headers and body.
	Prepare(ctx context.Context, ex sdk.Exchange, req sdk.HTTPRequest) (sdk.HTTPRequest, error)
	// Interpret may rewrite a response before it is parsed, into the
	// RFC's shape of the exchange's answer.
	Interpret(ctx context.Context, ex sdk.Exchange, resp sdk.HTTPResponse) (sdk.HTTPResponse, error)
}

// Clock tells the time and waits; tests inject a fake one so that polling is
// checked without sleeping.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Client performs the OAuth exchanges with one provider for one OAuth client.
// It is safe for concurrent use. Connect returns one.
type Client struct {
	spec     sdk.ProviderSpec // resolved: discovery applied, AuthStyle decided
	client   sdk.Client       // Scopes defaulted
	plugin   adapter          // Config.Provider and Config.Hooks
	secrets  []string         // Config.Secrets
	pkce     bool             // Config.PKCE
	codes    sync.Map         // device code → its PKCE code_verifier, while its flow polls
	hc       *http.Client     // the edge's
	clock    Clock
	log      *slog.Logger
	verifier *oidc.IDTokenVerifier // nil without Spec.Issuer and Spec.Endpoints.JWKS
	// issuerTemplate is the plugin's issuer when it is a template, which
	// every ID token's iss must fill, also once discovery made the issuer
	// concrete.
	issuerTemplate string
}

// Spec returns the provider spec the Client uses: discovery applied (issuer
// and endpoints filled), and AuthStyle none, basic or post, never empty.
func (c *Client) Spec() sdk.ProviderSpec {
	s := c.spec
	s.DefaultScopes = slices.Clone(s.DefaultScopes)
	s.ExtraParams = slices.Clone(s.ExtraParams)
	return s
}

// signingAlgs are the asymmetric JWS algorithms accepted on ID tokens.
var signingAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

// minSecret is the shortest secret that hide looks for: shorter strings
// would hide ordinary words of a message.
const minSecret = 8

// hide removes from err, which a provider's answer to a request carrying
// secrets caused, every copy of those secrets and of the client's
// credentials: some providers echo what they were sent in
// error_description, and a plugin's prepare may put them in a URL that an
// error quotes. It changes the *OAuthError, *netError or *HookError inside
// err in place, so err must not have been wrapped with %v or a message yet.
func (c *Client) hide(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	secrets = append(append(secrets, c.secrets...), c.client.ClientSecret)
	if c.spec.AuthStyle == sdk.AuthBasic {
		r := http.Request{Header: http.Header{}}
		r.SetBasicAuth(url.QueryEscape(c.client.ClientID), url.QueryEscape(c.client.ClientSecret))
		_, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		secrets = append(secrets, cred)
	}
	var pairs []string
	for _, s := range secrets {
		if len(s) < minSecret {
			continue
		}
		pairs = append(pairs, s, redactedText)
		if q := url.QueryEscape(s); q != s {
			pairs = append(pairs, q, redactedText)
		}
	}
	if len(pairs) == 0 {
		return err
	}
	r := strings.NewReplacer(pairs...)
	var oe *OAuthError
	if errors.As(err, &oe) {
		oe.Description, oe.URI = r.Replace(oe.Description), r.Replace(oe.URI)
	}
	var ne *netError
	if errors.As(err, &ne) {
		if msg := ne.err.Error(); r.Replace(msg) != msg {
			ne.err = &hidden{msg: r.Replace(msg), err: ne.err}
		}
	}
	var he *HookError // a request prepare rewrote may carry secrets in its URL
	if errors.As(err, &he) {
		if msg := he.Err.Error(); r.Replace(msg) != msg {
			he.Err = &hidden{msg: r.Replace(msg), err: he.Err}
		}
	}
	return err
}

// hidden is an error whose message had secrets removed; it still unwraps
// to the original, so that errors.Is and errors.As see through it.
type hidden struct {
	msg string
	err error
}

func (e *hidden) Error() string { return e.msg }
func (e *hidden) Unwrap() error { return e.err }

// extra returns the spec's extra parameters of exchange ex.
func (c *Client) extra(ex sdk.Exchange, v url.Values) url.Values {
	for _, p := range c.spec.ExtraParams {
		if p.Exchange == ex {
			v.Set(p.Name, p.Value)
		}
	}
	return v
}

// post builds a form POST to endpoint for exchange ex with the client's
// authentication (RFC 6749 §2.3.1) and the exchange's extra parameters, and
// sends it.
func (c *Client) post(ctx context.Context, ex sdk.Exchange, endpoint string, form url.Values) (sdk.HTTPResponse, error) {
	headers := []sdk.Header{
		{Name: "Content-Type", Value: "application/x-www-form-urlencoded"},
		{Name: "Accept", Value: "application/json"},
	}
	switch c.spec.AuthStyle {
	case sdk.AuthBasic:
		// RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic.
		r := http.Request{Header: http.Header{}}
		r.SetBasicAuth(url.QueryEscape(c.client.ClientID), url.QueryEscape(c.client.ClientSecret))
		headers = append(headers, sdk.Header{Name: "Authorization", Value: r.Header.Get("Authorization")})
	case sdk.AuthPost:
		form.Set("client_id", c.client.ClientID)
		form.Set("client_secret", c.client.ClientSecret)
	case sdk.AuthNone:
		form.Set("client_id", c.client.ClientID)
	}
	return send(ctx, c.hc, c.plugin, ex, sdk.HTTPRequest{
		Method:  http.MethodPost,
		URL:     endpoint,
		Headers: headers,
		Body:    c.extra(ex, form).Encode(),
	})
}

// get builds a GET of endpoint for exchange ex with the exchange's extra
// parameters in the query, and sends it.
func (c *Client) get(ctx context.Context, ex sdk.Exchange, endpoint string, headers ...sdk.Header) (sdk.HTTPResponse, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return sdk.HTTPResponse{}, fmt.Errorf("%s endpoint is not a URL: %w", ex, err)
	}
	u.RawQuery = c.extra(ex, u.Query()).Encode()
	return send(ctx, c.hc, c.plugin, ex, sdk.HTTPRequest{
		Method:  http.MethodGet,
		URL:     u.String(),
		Headers: append(headers, sdk.Header{Name: "Accept", Value: "application/json"}),
	})
}

// send passes req through the plugin's prepare hook, sends it, and passes
// the answer through the interpret hook. An error is a failed plugin hook, a
// hook's output the engine cannot use (*HookError), or a request that got
// no answer; any other answer, whatever its status, is returned for parsing.
func send(ctx context.Context, hc *http.Client, a adapter, ex sdk.Exchange, req sdk.HTTPRequest) (sdk.HTTPResponse, error) {
	orig := req.URL
	req, err := a.prepare(ctx, ex, req)
	if err != nil {
		return sdk.HTTPResponse{}, err
	}
	var body io.Reader
	if req.Body != "" {
		body = strings.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return sdk.HTTPResponse{}, fmt.Errorf("%s request: %w", ex, err)
	}
	for _, h := range req.Headers {
		hreq.Header.Add(h.Name, h.Value)
	}
	hresp, err := hc.Do(hreq)
	if err != nil {
		// The URL may carry secrets in its query (a plugin's Prepare may
		// move the form there).
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = edge.RedactURL(ue.URL)
		}
		if herr := a.refused(ex, orig, req, err); herr != nil {
			return sdk.HTTPResponse{}, herr
		}
		return sdk.HTTPResponse{}, &netError{exchange: ex, err: err}
	}
	defer hresp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(hresp.Body, maxBody))
	if err != nil {
		return sdk.HTTPResponse{}, &netError{exchange: ex, err: err}
	}
	resp := sdk.HTTPResponse{Status: uint16(hresp.StatusCode), Body: string(b)}
	for _, name := range slices.Sorted(maps.Keys(hresp.Header)) {
		for _, v := range hresp.Header[name] {
			resp.Headers = append(resp.Headers, sdk.Header{Name: name, Value: v})
		}
	}
	return a.interpret(ctx, ex, resp)
}
