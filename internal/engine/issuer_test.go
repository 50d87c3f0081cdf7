package engine

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"

	"github.com/idplug/idplug/sdk"
)

// TestIssuerTemplate: a plugin's issuer template ({tid} for Microsoft
// Entra's multi-tenant issuer) is matched against the discovery document,
// made concrete by a document that names one tenant, and otherwise filled
// from each ID token's own claims, which must then equal its iss.
func TestIssuerTemplate(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: priv.Public(), KeyID: "k1", Algorithm: oidc.ES256}}}
	const tenant, other = "9b5e7d2c-0000-4000-8000-000000000001", "9b5e7d2c-0000-4000-8000-000000000002"
	var base string
	base = newServer(t, map[string]http.HandlerFunc{
		"GET /keys": keys.ServeHTTP,
		// organizations: Entra's document names a placeholder of its own.
		"GET /organizations/v2.0/.well-known/openid-configuration": func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, `{"issuer":"%s/{tenantid}/v2.0","jwks_uri":"%[1]s/keys"}`, base)
		},
		// a tenant named by its domain: the document names its ID.
		"GET /contoso.example/v2.0/.well-known/openid-configuration": func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, `{"issuer":"%s/%s/v2.0","jwks_uri":"%[1]s/keys"}`, base, tenant)
		},
		// a document whose issuer does not fit the template.
		"GET /wrong/v2.0/.well-known/openid-configuration": func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, `{"issuer":"%s/a/b/v2.0","jwks_uri":"%[1]s/keys"}`, base)
		},
	})
	connect := func(t *testing.T, path string) (*Client, error) {
		t.Helper()
		return Connect(background(t), Config{
			Provider: "entra",
			Spec: func() (s sdk.ProviderSpec) {
				s = testConfig(base, nil).Spec
				s.Issuer = base + "/{tid}/v2.0"
				s.DiscoveryURL = base + path + "/v2.0" + wellKnown
				s.Endpoints.JWKS = ""
				return s
			}(),
			Client: testConfig(base, nil).Client,
			Clock:  newFakeClock(),
		})
	}
	exp := t0.Add(time.Hour).Unix()
	token := func(iss, tid string) string {
		claims := fmt.Sprintf(`{"iss":%q,"aud":"cli","sub":"u1","exp":%d`, iss, exp)
		if tid != "" {
			claims += fmt.Sprintf(`,"tid":%q`, tid)
		}
		return oidctest.SignIDToken(priv, "k1", oidc.ES256, claims+"}")
	}
	issuerOf := func(tid string) string { return base + "/" + tid + "/v2.0" }

	t.Run("multi-tenant", func(t *testing.T) {
		c, err := connect(t, "/organizations")
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Spec().Issuer; got != base+"/{tid}/v2.0" {
			t.Errorf("issuer %q, want the plugin's template kept", got)
		}
		for _, tc := range []struct {
			name, raw string
			ok        bool
		}{
			{"iss of its own tenant", token(issuerOf(tenant), tenant), true},
			{"iss of another tenant", token(issuerOf(tenant), other), false},
			{"no tid", token(issuerOf(tenant), ""), false},
			{"tid with a slash", token(base+"/a/b/v2.0", "a/b"), false},
			{"unfilled template as iss", token(base+"/{tid}/v2.0", "{tid}"), false},
		} {
			_, err := c.VerifyIDToken(background(t), tc.raw)
			if (err == nil) != tc.ok {
				t.Errorf("%s: VerifyIDToken error %v, want ok %v", tc.name, err, tc.ok)
			}
		}
	})
	t.Run("tenant by domain", func(t *testing.T) {
		c, err := connect(t, "/contoso.example")
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Spec().Issuer; got != issuerOf(tenant) {
			t.Errorf("issuer %q, want the document's concrete %q", got, issuerOf(tenant))
		}
		if _, err := c.VerifyIDToken(background(t), token(issuerOf(tenant), tenant)); err != nil {
			t.Errorf("the tenant's own token: %v", err)
		}
		if _, err := c.VerifyIDToken(background(t), token(issuerOf(other), other)); err == nil {
			t.Error("a token of another tenant verified")
		}
		if _, err := c.VerifyIDToken(background(t), token(issuerOf(tenant), other)); err == nil {
			t.Error("a token whose tid is not its issuer's tenant verified")
		}
	})
	t.Run("document off the template", func(t *testing.T) {
		_, err := connect(t, "/wrong")
		if err == nil || !strings.Contains(err.Error(), "names issuer") {
			t.Fatalf("Connect error %v, want the issuer mismatch", err)
		}
	})
}
