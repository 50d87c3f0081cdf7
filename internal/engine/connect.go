package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/idplug/idplug/internal/edge"
	"github.com/idplug/idplug/sdk"
)

// Config is what Connect needs to reach one provider for one OAuth client.
// Spec and Client are required; the rest have defaults.
type Config struct {
	// Provider is the provider plugin's name in the configuration (its
	// [plugins] key or built-in name, plugin.Plugin.Name, not the name its
	// describe gives), which errors quote.
	Provider string
	// Spec is the provider spec as the plugin's configure returned it;
	// Connect applies discovery.
	Spec sdk.ProviderSpec
	// Client is the profile's OAuth client. Empty Scopes means
	// Spec.DefaultScopes.
	Client sdk.Client
	// Hooks adapt the wire to the provider, discovery included; nil means
	// none. Pass a nil interface, not a nil *plugin.Plugin.
	Hooks Hooks
	// Version is the idplug version sent as User-Agent "idplug/<Version>";
	// default "dev".
	Version string
	// CAFile is a PEM file of CA certificates trusted on top of the system
	// pool, for a provider behind a private CA; empty means none.
	CAFile string
	// Timeout bounds each HTTP request as a whole; default 30 seconds.
	Timeout time.Duration
	// Logger receives every HTTP exchange, secrets redacted, and polling
	// decisions, at Debug; nil logs nothing.
	Logger *slog.Logger
	// Clock defaults to the real clock.
	Clock Clock
	// Secrets are more values that errors never show, besides the client
	// secret and the tokens: the profile's secret settings.
	Secrets []string
	// PKCE sends RFC 7636's S256 code_challenge on device authorization and
	// its code_verifier on every poll. Providers that do not know PKCE
	// ignore both; Keycloak enforces them for clients that require PKCE.
	PKCE bool
}

// Connect builds the connection to one provider and returns a Client ready
// for its exchanges. In order, it:
//
//   - checks the OAuth client: a client_id, and a client_secret when the
//     authentication style needs one (see below);
//   - builds the edge every request of the Client goes through, allowing only
//     the origins of the spec's discovery URL and endpoints, each of which
//     must be an https URL, or http on a loopback host (localhost,
//     127.0.0.0/8, ::1);
//   - when the spec names a discovery URL, fetches the discovery document
//     (OpenID Connect Discovery 1.0; the issuer it names must be Spec.Issuer,
//     or fit it when that is a template, or when that is empty be the
//     discovery URL without /.well-known/openid-configuration), fills the issuer and the endpoints
//     the plugin left empty, and allows their origins on the same terms;
//   - requires a device authorization and a token endpoint (RFC 8628);
//   - gives the client Spec.DefaultScopes when it names no scopes.
//
// Client authentication (RFC 6749 §2.3.1) follows Spec.AuthStyle: basic
// and post need a client_secret. An empty AuthStyle is decided here: post
// (client_id and client_secret in the body) when the client has a
// client_secret, none (client_id alone) otherwise; Client.Spec reports the
// decision. A client_secret is never dropped silently: when the plugin says
// none explicitly but the client has a client_secret, Connect fails naming
// client_secret, rather than send a secret the provider was declared not to
// take (a public client, to which some providers answer invalid_client, and
// whose requests a plugin may move into a URL) or ignore what the user
// configured.
//
// Errors name the provider and say what to fix; they do not name the
// profile, which the caller adds.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	spec, client := cfg.Spec, cfg.Client
	if client.ClientID == "" {
		return nil, errors.New("the profile has no client_id; set client_id to the client registered at the provider")
	}
	style, err := authStyle(cfg.Provider, spec.AuthStyle, client.ClientSecret != "")
	if err != nil {
		return nil, err
	}
	spec.AuthStyle = style
	e, err := edge.New(edge.Options{Provider: cfg.Provider, Version: cfg.Version, CAFile: cfg.CAFile, Timeout: cfg.Timeout, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	if err := allowSpec(e, spec); err != nil {
		return nil, fmt.Errorf("plugin %q returned an unusable endpoint: %w", cfg.Provider, err)
	}
	plugin := adapter{name: cfg.Provider, hooks: cfg.Hooks}
	var template string
	if isTemplate(spec.Issuer) {
		template = spec.Issuer
	}
	if spec.DiscoveryURL != "" {
		d, err := discover(ctx, e.Client(), plugin, spec.DiscoveryURL, spec.Issuer)
		if err != nil {
			return nil, err
		}
		spec = resolve(spec, d)
		if err := allowSpec(e, spec); err != nil {
			return nil, fmt.Errorf("the discovery document of %s names an unusable endpoint: %w", edge.RedactURL(spec.DiscoveryURL), err)
		}
	}
	if spec.Endpoints.DeviceAuthorization == "" || spec.Endpoints.Token == "" {
		return nil, fmt.Errorf("provider %q names no device authorization or token endpoint: the identity provider may not support the device grant (RFC 8628)", cfg.Provider)
	}
	if len(client.Scopes) == 0 {
		client.Scopes = spec.DefaultScopes
	}
	c := &Client{
		spec:    spec,
		client:  client,
		plugin:  plugin,
		secrets: cfg.Secrets,
		pkce:    cfg.PKCE,
		hc:      e.Client(),
		clock:   cmp.Or[Clock](cfg.Clock, realClock{}),
		log:     cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),

		issuerTemplate: template,
	}
	if spec.Issuer != "" && spec.Endpoints.JWKS != "" {
		// The key set keeps the context for its background fetches of the
		// JWKS, which therefore go through the edge as well.
		keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), c.hc), spec.Endpoints.JWKS)
		c.verifier = oidc.NewVerifier(spec.Issuer, keys, &oidc.Config{
			ClientID:             client.ClientID,
			SupportedSigningAlgs: signingAlgs,
			Now:                  c.clock.Now,
			// VerifyIDToken checks the iss of a template itself.
			SkipIssuerCheck: isTemplate(spec.Issuer),
		})
	}
	return c, nil
}

// authStyle decides how the client authenticates, given the style the
// provider's plugin asked for and whether the profile has a client_secret
// (see Connect).
func authStyle(provider string, style sdk.AuthStyle, secret bool) (sdk.AuthStyle, error) {
	switch style {
	case "":
		if secret {
			return sdk.AuthPost, nil
		}
		return sdk.AuthNone, nil
	case sdk.AuthNone:
		if secret {
			return "", fmt.Errorf("provider %q takes no client authentication (a public client) but the profile sets client_secret; remove client_secret from the profile", provider)
		}
	case sdk.AuthBasic, sdk.AuthPost:
		if !secret {
			return "", fmt.Errorf("provider %q wants client authentication %q but the profile has no client_secret; set client_secret", provider, style)
		}
	default:
		return "", fmt.Errorf("plugin %q returned the unknown client authentication style %q; it must return none, basic, post or nothing", provider, style)
	}
	return style, nil
}

// allowSpec allows on e the origins of spec's discovery URL and endpoints,
// after checking that each is a URL tokens may be sent to. Errors name the
// field as a discovery document does.
func allowSpec(e *edge.Edge, spec sdk.ProviderSpec) error {
	ep := spec.Endpoints
	for _, f := range []struct{ name, url string }{
		{"discovery_url", spec.DiscoveryURL},
		{"device_authorization_endpoint", ep.DeviceAuthorization},
		{"token_endpoint", ep.Token},
		{"refresh_endpoint", ep.Refresh},
		{"userinfo_endpoint", ep.Userinfo},
		{"revocation_endpoint", ep.Revocation},
		{"jwks_uri", ep.JWKS},
		{"end_session_endpoint", ep.EndSession},
	} {
		if f.url == "" {
			continue
		}
		if !secureURL(f.url) {
			return fmt.Errorf("%s %q must be an https URL (http:// is accepted only for loopback hosts)", f.name, edge.RedactURL(f.url))
		}
		if err := e.Allow(f.url); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

// secureURL reports whether raw is an absolute https URL, or http on a
// loopback host (localhost, 127.0.0.0/8, ::1): the only URLs tokens may be
// sent to, and users sent to. Every endpoint (allowSpec) and verification
// URI (webURL) is held to it.
func secureURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return true
	case "http":
		return sdk.IsLoopback(strings.ToLower(u.Hostname()))
	}
	return false
}
