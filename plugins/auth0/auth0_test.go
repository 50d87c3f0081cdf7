package auth0

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idplug/idplug/sdk"
	"github.com/idplug/idplug/sdk/sdktest"
)

// recorded is testdata/auth0.json: shapes from Auth0's documentation (see
// its "source").
type recorded struct {
	DeviceAuthorization []sdktest.Recorded `json:"device_authorization"`
	TokenPoll           []sdktest.Recorded `json:"token_poll"`
	Refresh             []sdktest.Recorded `json:"refresh"`
	IDTokenClaims       sdk.Claims         `json:"id_token_claims"`
	Userinfo            sdk.Claims         `json:"userinfo"`
	GroupsClaim         string             `json:"groups_claim"`
	Identity            sdk.Identity       `json:"identity"`
}

func load(t *testing.T) (r recorded) {
	sdktest.Load(t, "testdata/auth0.json", &r)
	return r
}

func TestDescribe(t *testing.T) {
	info, err := sdktest.New(Provider{}).Describe()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]sdk.Hook{sdk.HookInterpret}, info.Hooks); info.Name != "auth0" || diff != "" {
		t.Errorf("describe = %+v; want auth0 with the interpret hook", info)
	}
	want := map[string]bool{"domain": true, "audience": false, "groups_claim": false}
	for _, s := range info.Settings {
		if req, ok := want[s.Name]; !ok || req != s.Required || s.Help == "" {
			t.Errorf("setting %+v: unexpected, or wrong required, or no help", s)
		}
		delete(want, s.Name)
	}
	if len(want) > 0 {
		t.Errorf("settings lack %v", want)
	}
}

func TestConfigure(t *testing.T) {
	p := sdktest.New(Provider{})
	spec := func(base string, style sdk.AuthStyle, params ...sdk.Param) *sdk.ProviderSpec {
		return &sdk.ProviderSpec{
			Issuer: base + "/",
			Endpoints: sdk.Endpoints{
				DeviceAuthorization: base + "/oauth/device/code", Token: base + "/oauth/token", Userinfo: base + "/userinfo",
				Revocation: base + "/oauth/revoke", JWKS: base + "/.well-known/jwks.json", EndSession: base + "/oidc/logout",
			},
			AuthStyle: style, DefaultScopes: []string{"openid", "profile", "email", "offline_access"},
			ExtraParams: append([]sdk.Param{}, params...),
		}
	}
	audience := sdk.Param{Exchange: sdk.ExchangeDeviceAuthorization, Name: "audience", Value: "https://api.example.com"}
	for _, tc := range []struct {
		name     string
		settings map[string]string
		secret   string
		want     *sdk.ProviderSpec
		wantErr  string
	}{
		{name: "DESIGN.md example: bare domain means https, audience on device authorization",
			settings: map[string]string{"domain": "example.us.auth0.com", "audience": "https://api.example.com"},
			want:     spec("https://example.us.auth0.com", "", audience)},
		{name: "full URL on loopback, no audience", settings: map[string]string{"domain": "http://127.0.0.1:8080/"},
			want: spec("http://127.0.0.1:8080", "")},
		{name: "custom domain with port, confidential client", settings: map[string]string{"domain": "login.example.com:8443"}, secret: "s",
			want: spec("https://login.example.com:8443", "")},
		{name: "remote http", settings: map[string]string{"domain": "http://example.us.auth0.com"}, wantErr: "domain: http:// is accepted only for loopback hosts; use https://example.us.auth0.com"},
		{name: "path", settings: map[string]string{"domain": "https://example.us.auth0.com/oauth"}, wantErr: `domain: must not have a path; write domain = "https://example.us.auth0.com"`},
		{name: "bare domain with a path", settings: map[string]string{"domain": "example.us.auth0.com/authorize"}, wantErr: `domain: must not have a path; write domain = "example.us.auth0.com"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errs, err := p.Configure(tc.settings, sdk.Client{ClientID: "cli", ClientSecret: tc.secret})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" {
				if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.wantErr) {
					t.Fatalf("errors %v, want one containing %q", errs, tc.wantErr)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}

// TestInterpretRecordedResponses runs every recorded answer through the
// interpret hook and checks the OAuth error the engine then decides on.
func TestInterpretRecordedResponses(t *testing.T) {
	r := load(t)
	p := sdktest.New(Provider{})
	for ex, list := range map[sdk.Exchange][]sdktest.Recorded{
		sdk.ExchangeDeviceAuthorization: r.DeviceAuthorization,
		sdk.ExchangeTokenPoll:           r.TokenPoll,
		sdk.ExchangeRefresh:             r.Refresh,
	} {
		for _, rec := range list {
			t.Run(string(ex)+"/"+string(rec.Body), func(t *testing.T) {
				if out := sdktest.Interpret(t, p, ex, rec); out.Status != rec.Status {
					t.Errorf("status %d, want it kept: %d", out.Status, rec.Status)
				}
			})
		}
	}
}

func TestInterpretSaysWhatToFix(t *testing.T) {
	out, err := sdktest.New(Provider{}).Interpret(sdk.ExchangeDeviceAuthorization, sdk.HTTPResponse{
		Status: 403, Body: `{"error":"access_denied","error_description":"Service not found: https://api.example.org"}`})
	if err != nil {
		t.Fatal(err)
	}
	if _, desc := out.OAuthError(); !strings.Contains(desc, "https://api.example.org") || !strings.Contains(desc, "audience setting") {
		t.Errorf("description %q: want the audience and the setting to fix", desc)
	}
}

func TestIdentityFromAuth0Claims(t *testing.T) {
	r := load(t)
	p := sdktest.New(Provider{})
	id, err := p.IdentityWithSettings(map[string]string{"groups_claim": r.GroupsClaim}, r.IDTokenClaims, r.Userinfo)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Identity, id); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		name     string
		settings map[string]string
		claims   sdk.Claims
		username string
		groups   []string
	}{
		{"no groups_claim: the groups claim", map[string]string{}, sdk.Claims{"sub": "auth0|1", "nickname": "n", "groups": []any{"g"}}, "n", []string{"g"}},
		{"namespaced claim not configured: no groups", map[string]string{}, r.IDTokenClaims, "alice", []string{}},
		{"no nickname: the e-mail", map[string]string{}, sdk.Claims{"sub": "google-oauth2|1", "email": "a@example.com"}, "a@example.com", []string{}},
		{"preferred_username wins", map[string]string{}, sdk.Claims{"sub": "s", "nickname": "n", "preferred_username": "p"}, "p", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := p.IdentityWithSettings(tc.settings, tc.claims, nil)
			if err != nil {
				t.Fatal(err)
			}
			if id.Username != tc.username || !cmp.Equal(id.Groups, tc.groups) {
				t.Errorf("username %q groups %v, want %q %v", id.Username, id.Groups, tc.username, tc.groups)
			}
		})
	}
}
