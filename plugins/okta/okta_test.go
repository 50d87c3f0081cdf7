package okta

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idplug/idplug/sdk"
	"github.com/idplug/idplug/sdk/sdktest"
)

// recorded is testdata/okta.json: response and claim shapes from Okta's
// documentation (see its "source").
type recorded struct {
	Domain              string             `json:"domain"`
	AuthorizationServer string             `json:"authorization_server"`
	DeviceAuthorization []sdktest.Recorded `json:"device_authorization"`
	TokenPoll           []sdktest.Recorded `json:"token_poll"`
	Refresh             []sdktest.Recorded `json:"refresh"`
	Revocation          []sdktest.Recorded `json:"revocation"`
	Discovery           map[string]any     `json:"discovery"`
	OrgDiscovery        map[string]any     `json:"org_discovery"`
	IDTokenClaims       sdk.Claims         `json:"id_token_claims"`
	Userinfo            sdk.Claims         `json:"userinfo"`
	Identity            sdk.Identity       `json:"identity"`
}

func load(t *testing.T) (r recorded) {
	sdktest.Load(t, "testdata/okta.json", &r)
	return r
}

var scopes = []string{"openid", "profile", "email", "offline_access"}

func TestDescribe(t *testing.T) {
	info, err := sdktest.New(Provider{}).Describe()
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "okta" || info.ContractVersion != sdk.ContractVersion || len(info.Hooks) != 0 {
		t.Errorf("describe = %+v; want okta without hooks (Okta answers in the RFC shape)", info)
	}
	var got []sdk.SettingSpec
	for _, s := range info.Settings {
		if s.Help == "" {
			t.Errorf("setting %s has no help", s.Name)
		}
		s.Help = ""
		got = append(got, s)
	}
	want := []sdk.SettingSpec{
		{Name: "domain", Type: sdk.SettingString, Required: true},
		{Name: "authorization_server", Type: sdk.SettingString, Default: "default"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
}

func TestConfigure(t *testing.T) {
	p := sdktest.New(Provider{})
	custom := func(base, as string, style sdk.AuthStyle) *sdk.ProviderSpec {
		issuer := base + "/oauth2/" + as
		return spec(issuer, issuer+"/v1", style)
	}
	org := func(base string, style sdk.AuthStyle) *sdk.ProviderSpec {
		return spec(base, base+"/oauth2/v1", style)
	}
	for _, tc := range []struct {
		name     string
		settings map[string]string
		secret   string
		want     *sdk.ProviderSpec
		wantErrs []string
	}{
		{name: "DESIGN.md example: the default custom authorization server",
			settings: map[string]string{"domain": "example.okta.com", "authorization_server": "default"},
			want:     custom("https://example.okta.com", "default", "")},
		{name: "no authorization_server: the default one",
			settings: map[string]string{"domain": "example.okta.com"},
			want:     custom("https://example.okta.com", "default", "")},
		{name: "a named custom authorization server, confidential client",
			settings: map[string]string{"domain": "example.okta.com", "authorization_server": " aus9o8wzkhckw9TLa0h7z "}, secret: "s3cret",
			want: custom("https://example.okta.com", "aus9o8wzkhckw9TLa0h7z", sdk.AuthBasic)},
		{name: `"" is the org authorization server`,
			settings: map[string]string{"domain": "example.okta.com", "authorization_server": ""},
			want:     org("https://example.okta.com", "")},
		{name: "custom domain as a full URL",
			settings: map[string]string{"domain": "https://login.example.com", "authorization_server": "default"},
			want:     custom("https://login.example.com", "default", "")},
		{name: "loopback http, org authorization server",
			settings: map[string]string{"domain": "http://127.0.0.1:8080", "authorization_server": ""},
			want:     org("http://127.0.0.1:8080", "")},
		{name: "trailing slashes",
			settings: map[string]string{"domain": "https://example.okta.com/"},
			want:     custom("https://example.okta.com", "default", "")},
		{name: "bare domain, trailing slash",
			settings: map[string]string{"domain": "example.oktapreview.com/", "authorization_server": ""},
			want:     org("https://example.oktapreview.com", "")},
		{name: "remote http",
			settings: map[string]string{"domain": "http://example.okta.com"},
			wantErrs: []string{"domain: http:// is accepted only for loopback hosts; use https://example.okta.com"}},
		{name: "not a domain",
			settings: map[string]string{"domain": "example okta com"},
			wantErrs: []string{`domain: must be a domain such as login.example.com, or a URL such as https://login.example.com; got "example okta com"`}},
		{name: "a path",
			settings: map[string]string{"domain": "https://example.okta.com/app"},
			wantErrs: []string{`domain: must not have a path; write domain = "https://example.okta.com"`}},
		{name: "a custom server's issuer as the domain",
			settings: map[string]string{"domain": "https://example.okta.com/oauth2/default"},
			wantErrs: []string{`domain: must be the org's domain alone, not an issuer or endpoint URL; write domain = "https://example.okta.com" and authorization_server = "default"`}},
		{name: "an org server's endpoint as the domain",
			settings: map[string]string{"domain": "example.okta.com/oauth2/v1/device/authorize"},
			wantErrs: []string{`domain: must be the org's domain alone, not an issuer or endpoint URL; write domain = "example.okta.com" and authorization_server = ""`}},
		{name: "a path as the authorization server",
			settings: map[string]string{"domain": "example.okta.com", "authorization_server": "oauth2/default"},
			wantErrs: []string{`authorization_server: must be the ID of a custom authorization server, letters and digits such as default or aus9o8wzkhckw9TLa0h7z (Security > API), or "" for the org authorization server; got "oauth2/default"`}},
		{name: "both wrong",
			settings: map[string]string{"domain": "http://example.okta.com", "authorization_server": "my-server"},
			wantErrs: []string{"domain: http:// is accepted only", `authorization_server: must be the ID of a custom authorization server`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errs, err := p.Configure(tc.settings, sdk.Client{ClientID: "0oa1example", ClientSecret: tc.secret})
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
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}

// spec is the spec of an authorization server with issuer, whose endpoints
// are under v1.
func spec(issuer, v1 string, style sdk.AuthStyle) *sdk.ProviderSpec {
	return &sdk.ProviderSpec{
		Issuer:       issuer,
		DiscoveryURL: issuer + "/.well-known/openid-configuration",
		Endpoints: sdk.Endpoints{
			DeviceAuthorization: v1 + "/device/authorize", Token: v1 + "/token", Userinfo: v1 + "/userinfo",
			Revocation: v1 + "/revoke", JWKS: v1 + "/keys", EndSession: v1 + "/logout",
		},
		AuthStyle:     style, // "": decided by the host, none without a client_secret
		DefaultScopes: scopes,
		ExtraParams:   []sdk.Param{},
	}
}

// TestConfigureAgreesWithDiscovery checks the issuer and endpoints the
// plugin names, for the default custom authorization server and for the
// org authorization server, against their recorded discovery documents.
func TestConfigureAgreesWithDiscovery(t *testing.T) {
	r := load(t)
	for _, tc := range []struct {
		name string
		as   string
		doc  map[string]any
	}{
		{"custom authorization server", r.AuthorizationServer, r.Discovery},
		{"org authorization server", "", r.OrgDiscovery},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, errs, err := sdktest.New(Provider{}).Configure(map[string]string{"domain": r.Domain, "authorization_server": tc.as}, sdk.Client{ClientID: "cli"})
			if err != nil || len(errs) > 0 {
				t.Fatalf("configure: %v, %v", errs, err)
			}
			if want := tc.doc["issuer"].(string) + "/.well-known/openid-configuration"; spec.DiscoveryURL != want {
				t.Errorf("discovery URL %q, want %q", spec.DiscoveryURL, want)
			}
			for field, got := range map[string]string{
				"issuer":                        spec.Issuer,
				"device_authorization_endpoint": spec.Endpoints.DeviceAuthorization,
				"token_endpoint":                spec.Endpoints.Token,
				"userinfo_endpoint":             spec.Endpoints.Userinfo,
				"revocation_endpoint":           spec.Endpoints.Revocation,
				"jwks_uri":                      spec.Endpoints.JWKS,
				"end_session_endpoint":          spec.Endpoints.EndSession,
			} {
				if tc.doc[field] != got {
					t.Errorf("%s: discovery says %v, plugin %q", field, tc.doc[field], got)
				}
			}
			supported := sdk.Claims(tc.doc).Strings("scopes_supported")
			for _, s := range spec.DefaultScopes {
				if !slices.Contains(supported, s) {
					t.Errorf("default scope %q is not in scopes_supported %v", s, supported)
				}
			}
			if !slices.Contains(sdk.Claims(tc.doc).Strings("grant_types_supported"), "urn:ietf:params:oauth:grant-type:device_code") {
				t.Error("grant_types_supported lacks the device grant")
			}
		})
	}
}

// TestRecordedErrorsAreStandard checks that Okta's answers already carry
// the RFC 6749 and RFC 8628 error names the engine decides on, so the
// plugin needs no interpret hook.
func TestRecordedErrorsAreStandard(t *testing.T) {
	r := load(t)
	for ex, list := range map[sdk.Exchange][]sdktest.Recorded{
		sdk.ExchangeDeviceAuthorization: r.DeviceAuthorization,
		sdk.ExchangeTokenPoll:           r.TokenPoll,
		sdk.ExchangeRefresh:             r.Refresh,
		sdk.ExchangeRevocation:          r.Revocation,
	} {
		for _, rec := range list {
			code, _ := rec.Response().OAuthError()
			if code != rec.Means || (rec.Status == 200) != (rec.Means == "") {
				t.Errorf("%s %d %s: error %q, want %q, and 200 only for a success", ex, rec.Status, rec.Body, code, rec.Means)
			}
		}
	}
	// RFC 8628 §3.5's polling errors come as RFC 6749 §5.2 has it: 400.
	polling := []string{"authorization_pending", "slow_down", "expired_token"}
	for _, rec := range r.TokenPoll {
		if slices.Contains(polling, rec.Means) && rec.Status != 400 {
			t.Errorf("%s with %d, want 400", rec.Means, rec.Status)
		}
	}
}

func TestIdentityFromOktaClaims(t *testing.T) {
	r := load(t)
	p := sdktest.New(Provider{})
	id, err := p.Identity(r.IDTokenClaims, r.Userinfo)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Identity, id); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		name              string
		idToken, userinfo sdk.Claims
		want              sdk.Identity
	}{
		{name: "no groups claim: an empty list",
			idToken: sdk.Claims{"sub": "00u1", "preferred_username": "bob@example.com", "name": "Bob"},
			want:    sdk.Identity{Subject: "00u1", Username: "bob@example.com", Name: "Bob", Groups: []string{}}},
		{name: "org server: groups in the ID token only, from the app's Groups claim filter",
			idToken:  sdk.Claims{"sub": "00u1", "iss": "https://example.okta.com", "groups": []any{"Everyone", "IT"}},
			userinfo: sdk.Claims{"sub": "00u1", "preferred_username": "bob@example.com"},
			want:     sdk.Identity{Subject: "00u1", Username: "bob@example.com", Groups: []string{"Everyone", "IT"}}},
		{name: "no profile scope: the e-mail as the username",
			idToken: sdk.Claims{"sub": "00u1", "email": "bob@example.com"},
			want:    sdk.Identity{Subject: "00u1", Username: "bob@example.com", Email: "bob@example.com", Groups: []string{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := p.Identity(tc.idToken, tc.userinfo)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, id); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}
