package keycloak

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idplug/idplug/sdk"
	"github.com/idplug/idplug/sdk/sdktest"
)

// recorded is testdata/keycloak.json: response and claim shapes from
// Keycloak's documentation and source (see its "source").
type recorded struct {
	TokenPoll     []sdktest.Recorded `json:"token_poll"`
	IDTokenClaims sdk.Claims         `json:"id_token_claims"`
	Userinfo      sdk.Claims         `json:"userinfo"`
	Identity      sdk.Identity       `json:"identity"`
}

func load(t *testing.T) (r recorded) {
	sdktest.Load(t, "testdata/keycloak.json", &r)
	return r
}

func TestDescribe(t *testing.T) {
	info, err := sdktest.New(Provider{}).Describe()
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "keycloak" || len(info.Hooks) != 0 {
		t.Errorf("describe = %+v; want keycloak without hooks (Keycloak answers in the RFC shape)", info)
	}
	var names []string
	for _, s := range info.Settings {
		if !s.Required || s.Help == "" {
			t.Errorf("setting %+v: want required, with help", s)
		}
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"url", "realm"}, names); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
}

func TestConfigure(t *testing.T) {
	p := sdktest.New(Provider{})
	endpoints := func(issuer string) sdk.Endpoints {
		oidc := issuer + "/protocol/openid-connect"
		return sdk.Endpoints{
			DeviceAuthorization: oidc + "/auth/device", Token: oidc + "/token", Userinfo: oidc + "/userinfo",
			Revocation: oidc + "/revoke", JWKS: oidc + "/certs", EndSession: oidc + "/logout",
		}
	}
	for _, tc := range []struct {
		name     string
		settings map[string]string
		secret   string
		issuer   string
		style    sdk.AuthStyle
		wantErrs []string
	}{
		{name: "DESIGN.md example", settings: map[string]string{"url": "https://keycloak.example.com", "realm": "my-realm"},
			issuer: "https://keycloak.example.com/realms/my-realm", style: ""},
		{name: "legacy /auth prefix, trailing slash, confidential client", settings: map[string]string{"url": "https://sso.example.com/auth/", "realm": "corp"},
			secret: "s3cret", issuer: "https://sso.example.com/auth/realms/corp", style: sdk.AuthBasic},
		{name: "realm name escaped in the path", settings: map[string]string{"url": "http://127.0.0.1:8080", "realm": "my realm"},
			issuer: "http://127.0.0.1:8080/realms/my%20realm", style: ""},
		{name: "realm inside url", settings: map[string]string{"url": "https://kc.example.com/realms/corp", "realm": "corp"},
			wantErrs: []string{`url: must be the server's base URL, without /realms/…; write url = "https://kc.example.com" and realm = "corp"`}},
		{name: "realm as a path", settings: map[string]string{"url": "https://kc.example.com", "realm": "realms/corp"},
			wantErrs: []string{"realm: must be a realm name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, errs, err := p.Configure(tc.settings, sdk.Client{ClientID: "cli", ClientSecret: tc.secret})
			if err != nil {
				t.Fatal(err)
			}
			if len(errs) != len(tc.wantErrs) {
				t.Fatalf("errors %v, want %d: %q", errs, len(tc.wantErrs), tc.wantErrs)
			}
			for i, want := range tc.wantErrs {
				if !strings.Contains(errs[i].Error(), want) {
					t.Errorf("error %q lacks %q", errs[i].Error(), want)
				}
			}
			if len(tc.wantErrs) > 0 {
				return
			}
			want := &sdk.ProviderSpec{
				Issuer: tc.issuer, Endpoints: endpoints(tc.issuer), AuthStyle: tc.style,
				DefaultScopes: []string{"openid", "profile", "email", "offline_access"}, ExtraParams: []sdk.Param{},
			}
			if diff := cmp.Diff(want, spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRecordedErrorsAreStandard checks that Keycloak's token errors already
// carry the RFC 8628 names the engine decides on, so the plugin needs no
// interpret hook.
func TestRecordedErrorsAreStandard(t *testing.T) {
	for _, r := range load(t).TokenPoll {
		code, _ := r.Response().OAuthError()
		if code != r.Means || r.Status != 400 {
			t.Errorf("%d %s: error %q, want %q with 400", r.Status, r.Body, code, r.Means)
		}
	}
}

func TestIdentityFromKeycloakClaims(t *testing.T) {
	r := load(t)
	id, err := sdktest.New(Provider{}).Identity(r.IDTokenClaims, r.Userinfo)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Identity, id); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}

	// Without groups or roles the list is empty, not null.
	id, err = sdktest.New(Provider{}).Identity(sdk.Claims{"sub": "s", "preferred_username": "bob"}, nil)
	if err != nil || id.Groups == nil || len(id.Groups) != 0 || id.Username != "bob" {
		t.Errorf("identity %+v, %v; want bob with no groups", id, err)
	}
}
