package engine

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/idplug/idplug/sdk"
)

// wellKnown is the path suffix of an OpenID Connect discovery document
// (OpenID Connect Discovery 1.0 §4).
const wellKnown = "/.well-known/openid-configuration"

// discovery is what a provider's discovery document says about it.
type discovery struct {
	Issuer    string
	Endpoints sdk.Endpoints // all but Refresh, which discovery does not name
}

// discoveryJSON is the part of the document idplug uses (OpenID Connect
// Discovery 1.0 §3, RFC 8628 §4, RFC 7009 via RFC 8414 §2).
type discoveryJSON struct {
	Issuer              string `json:"issuer"`
	DeviceAuthorization string `json:"device_authorization_endpoint"`
	Token               string `json:"token_endpoint"`
	Userinfo            string `json:"userinfo_endpoint"`
	Revocation          string `json:"revocation_endpoint"`
	JWKS                string `json:"jwks_uri"`
	EndSession          string `json:"end_session_endpoint"`
}

// discover fetches the discovery document at discoveryURL through hc, with
// the plugin's hooks on the discovery exchange. The document's issuer
// must equal wantIssuer exactly (OpenID Connect Discovery 1.0 §4.3); an empty
// wantIssuer means the URL that discoveryURL appends wellKnown to. When
// wantIssuer is a template (issuer.go), the document's issuer must fit it
// and, unless it has a placeholder of its own, is the issuer returned: the
// concrete issuer of a tenant named by its domain. The endpoints are
// returned unchecked: Connect checks those it uses.
func discover(ctx context.Context, hc *http.Client, plugin adapter, discoveryURL, wantIssuer string) (discovery, error) {
	const ex = sdk.ExchangeDiscovery
	if wantIssuer == "" {
		var ok bool
		if wantIssuer, ok = strings.CutSuffix(discoveryURL, wellKnown); !ok {
			return discovery{}, fmt.Errorf("discovery: %s does not end in %s, so the plugin must also return the issuer", discoveryURL, wellKnown)
		}
	}
	resp, err := send(ctx, hc, plugin, ex, sdk.HTTPRequest{
		Method:  http.MethodGet,
		URL:     discoveryURL,
		Headers: []sdk.Header{{Name: "Accept", Value: "application/json"}},
	})
	if err != nil {
		return discovery{}, err
	}
	var dj discoveryJSON
	if err := decode(ex, resp, &dj); err != nil {
		return discovery{}, err
	}
	issuer := dj.Issuer
	switch {
	case isTemplate(wantIssuer) && matchesTemplate(wantIssuer, dj.Issuer):
		// A document naming a placeholder of its own (Entra's {tenantid})
		// leaves the plugin's template to be filled from each token.
		if strings.ContainsAny(dj.Issuer, "{}") {
			issuer = wantIssuer
		}
	case dj.Issuer != wantIssuer:
		return discovery{}, fmt.Errorf("discovery: the document at %s names issuer %q, not %q; set the issuer setting to exactly the provider's issuer",
			discoveryURL, dj.Issuer, wantIssuer)
	}
	return discovery{Issuer: issuer, Endpoints: sdk.Endpoints{
		DeviceAuthorization: dj.DeviceAuthorization,
		Token:               dj.Token,
		Userinfo:            dj.Userinfo,
		Revocation:          dj.Revocation,
		JWKS:                dj.JWKS,
		EndSession:          dj.EndSession,
	}}, nil
}

// resolve returns spec with the issuer discover checked and its missing
// endpoints filled from d; the endpoints the plugin returned win.
func resolve(spec sdk.ProviderSpec, d discovery) sdk.ProviderSpec {
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	spec.Issuer = d.Issuer
	e := &spec.Endpoints
	fill(&e.DeviceAuthorization, d.Endpoints.DeviceAuthorization)
	fill(&e.Token, d.Endpoints.Token)
	fill(&e.Userinfo, d.Endpoints.Userinfo)
	fill(&e.Revocation, d.Endpoints.Revocation)
	fill(&e.JWKS, d.Endpoints.JWKS)
	fill(&e.EndSession, d.Endpoints.EndSession)
	return spec
}
