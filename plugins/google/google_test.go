package google

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idplug/idplug/sdk"
	"github.com/idplug/idplug/sdk/sdktest"
)

// recorded is testdata/google.json: shapes from Google's documentation (see
// its "source").
type recorded struct {
	DeviceAuthorization []sdktest.Recorded `json:"device_authorization"`
	TokenPoll           []sdktest.Recorded `json:"token_poll"`
	Refresh             []sdktest.Recorded `json:"refresh"`
	Revocation          []sdktest.Recorded `json:"revocation"`
	Discovery           sdktest.Recorded   `json:"discovery"`
	Issuer              string             `json:"issuer"`
	IDTokenClaims       sdk.Claims         `json:"id_token_claims"`
	Userinfo            sdk.Claims         `json:"userinfo"`
	Identity            sdk.Identity       `json:"identity"`
}

func load(t *testing.T) (r recorded) {
	sdktest.Load(t, "testdata/google.json", &r)
	return r
}

func TestDescribe(t *testing.T) {
	info, err := sdktest.New(Provider{}).Describe()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]sdk.Hook{sdk.HookInterpret}, info.Hooks); info.Name != "google" || diff != "" {
		t.Errorf("describe = %+v; want google with the interpret hook", info)
	}
	if info.ContractVersion != sdk.ContractVersion {
		t.Errorf("contract version %d", info.ContractVersion)
	}
	want := []sdk.SettingSpec{{Name: "issuer", Type: sdk.SettingURL, Default: "https://accounts.google.com", Help: info.Settings[0].Help}}
	if diff := cmp.Diff(want, info.Settings); diff != "" || info.Settings[0].Help == "" {
		t.Errorf("settings (-want +got), want an optional issuer url defaulting to Google's, with help:\n%s", diff)
	}
}

func TestConfigure(t *testing.T) {
	p := sdktest.New(Provider{})
	spec := func(issuer string) *sdk.ProviderSpec {
		return &sdk.ProviderSpec{
			Issuer:        issuer,
			DiscoveryURL:  issuer + "/.well-known/openid-configuration",
			AuthStyle:     sdk.AuthPost,
			DefaultScopes: []string{"openid", "email", "profile"},
			ExtraParams:   []sdk.Param{},
		}
	}
	for _, tc := range []struct {
		name     string
		settings map[string]string
		want     *sdk.ProviderSpec
	}{
		{"DESIGN.md example: the default, as the host applies it", map[string]string{"issuer": "https://accounts.google.com"}, spec("https://accounts.google.com")},
		{"no issuer at all", map[string]string{}, spec("https://accounts.google.com")},
		{"trailing slash", map[string]string{"issuer": "https://accounts.google.com/"}, spec("https://accounts.google.com")},
		{"custom issuer", map[string]string{"issuer": "https://accounts.example.com/google"}, spec("https://accounts.example.com/google")},
		{"loopback test server", map[string]string{"issuer": "http://127.0.0.1:8080"}, spec("http://127.0.0.1:8080")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errs, err := p.Configure(tc.settings, sdk.Client{ClientID: "123-abc.apps.googleusercontent.com", ClientSecret: "s3cret"})
			if err != nil || len(errs) > 0 {
				t.Fatalf("configure: %v, %v", errs, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("no client_secret", func(t *testing.T) {
		got, errs, err := p.Configure(map[string]string{"issuer": "https://accounts.google.com"}, sdk.Client{ClientID: "123-abc.apps.googleusercontent.com"})
		if err != nil {
			t.Fatal(err)
		}
		if got != nil || len(errs) != 1 || errs[0].Setting != "" {
			t.Fatalf("configure = %+v, %v; want one error about the profile as a whole", got, errs)
		}
		for _, w := range []string{"client_secret", "TVs and Limited Input devices", "Google Cloud console", "APIs & Services > Credentials"} {
			if !strings.Contains(errs[0].Message, w) {
				t.Errorf("message %q lacks %q", errs[0].Message, w)
			}
		}
	})
}

// TestConfigureAgreesWithDiscovery checks the plugin against Google's
// recorded discovery document: its issuer is the default one, and the
// document names every endpoint the host needs, on origins other than the
// issuer's, which the host allows because discovery names them; the
// default scopes, client authentication and grant are among those it
// supports.
func TestConfigureAgreesWithDiscovery(t *testing.T) {
	r := load(t)
	var d map[string]any
	if err := json.Unmarshal(r.Discovery.Body, &d); err != nil {
		t.Fatal(err)
	}
	spec, _, err := sdktest.New(Provider{}).Configure(map[string]string{"issuer": r.Issuer}, sdk.Client{ClientID: "cli", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if d["issuer"] != spec.Issuer || spec.Issuer != DefaultIssuer {
		t.Errorf("issuer: discovery says %v, plugin %q", d["issuer"], spec.Issuer)
	}
	if spec.Endpoints != (sdk.Endpoints{}) {
		t.Errorf("endpoints %+v; want none: discovery names them", spec.Endpoints)
	}
	issuer, _ := url.Parse(spec.Issuer)
	for _, field := range []string{"device_authorization_endpoint", "token_endpoint", "userinfo_endpoint", "revocation_endpoint", "jwks_uri"} {
		s, _ := d[field].(string)
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.Host == issuer.Host {
			t.Errorf("%s %q: want an https endpoint on another origin than the issuer's", field, s)
		}
	}
	has := func(field, v string) bool { return slices.Contains(d[field].([]any), any(v)) }
	for _, s := range spec.DefaultScopes {
		if !has("scopes_supported", s) {
			t.Errorf("default scope %q is not in Google's scopes_supported", s)
		}
	}
	if !has("token_endpoint_auth_methods_supported", "client_secret_post") {
		t.Error("Google's discovery does not list client_secret_post")
	}
	if !has("grant_types_supported", "urn:ietf:params:oauth:grant-type:device_code") {
		t.Error("Google's discovery does not list the device grant")
	}
}

// TestInterpretRecordedResponses runs every recorded answer through the
// interpret hook and checks the OAuth error the engine then decides on; an
// answer already in the RFC shape passes unchanged, unless the hook adds
// what to fix.
func TestInterpretRecordedResponses(t *testing.T) {
	r := load(t)
	p := sdktest.New(Provider{})
	for ex, list := range map[sdk.Exchange][]sdktest.Recorded{
		sdk.ExchangeDiscovery:           {r.Discovery},
		sdk.ExchangeDeviceAuthorization: r.DeviceAuthorization,
		sdk.ExchangeTokenPoll:           r.TokenPoll,
		sdk.ExchangeRefresh:             r.Refresh,
	} {
		for _, rec := range list {
			t.Run(string(ex)+"/"+string(rec.Body), func(t *testing.T) {
				in := rec.Response()
				out := sdktest.Interpret(t, p, ex, rec)
				if out.Status != rec.Status {
					t.Errorf("status %d, want it kept: %d", out.Status, rec.Status)
				}
				if code, _ := in.OAuthError(); code == rec.Means && fixes[ex][code] == "" && out.Body != in.Body {
					t.Errorf("an RFC error was rewritten: %s", out.Body)
				}
			})
		}
	}
}

// TestInterpretRevocation checks that a revocation Google refuses with
// invalid_token, a token it no longer knows, becomes the 200 of RFC 7009
// §2.2, and that other answers pass unchanged.
func TestInterpretRevocation(t *testing.T) {
	p := sdktest.New(Provider{})
	for _, rec := range append(load(t).Revocation, sdktest.Recorded{Status: 400, Body: []byte(`{"error":"unsupported_token_type"}`), Means: "unsupported_token_type"}) {
		t.Run(string(rec.Body), func(t *testing.T) {
			in := rec.Response()
			out, err := p.Interpret(sdk.ExchangeRevocation, in)
			if err != nil {
				t.Fatal(err)
			}
			code, _ := out.OAuthError()
			if code != rec.Means {
				t.Errorf("error %q, want %q", code, rec.Means)
			}
			if rec.Means == "" && (out.Status != 200 || out.Body != "") {
				t.Errorf("answer %d %q, want a 200 without a body", out.Status, out.Body)
			}
			if code, _ := in.OAuthError(); code == rec.Means && (out.Status != in.Status || out.Body != in.Body) {
				t.Errorf("answer rewritten: %d %s", out.Status, out.Body)
			}
		})
	}
}

func TestInterpretSaysWhatToFix(t *testing.T) {
	p := sdktest.New(Provider{})
	for _, tc := range []struct {
		ex     sdk.Exchange
		status uint16
		body   string
		code   string
		want   []string
	}{
		{sdk.ExchangeDeviceAuthorization, 400, `{"error":"invalid_scope","error_description":"Invalid device flow scope: https://www.googleapis.com/auth/gmail.readonly"}`,
			"invalid_scope", []string{"Invalid device flow scope: https://www.googleapis.com/auth/gmail.readonly", "openid, email, profile", AllowedScopesURL}},
		{sdk.ExchangeDeviceAuthorization, 400, `{"error":"invalid_scope"}`,
			"invalid_scope", []string{"Google answered invalid_scope", AllowedScopesURL}},
		{sdk.ExchangeDeviceAuthorization, 401, `{"error":"invalid_client","error_description":"The OAuth client was not found."}`,
			"invalid_client", []string{"The OAuth client was not found", `type "TVs and Limited Input devices"`, "client_secret"}},
		{sdk.ExchangeTokenPoll, 401, `{"error":"invalid_client","error_description":"Invalid client type."}`,
			"invalid_client", []string{"Invalid client type", `type "TVs and Limited Input devices"`, "client_secret"}},
		{sdk.ExchangeTokenPoll, 400, `{"error":"admin_policy_enforced"}`,
			"access_denied", []string{"admin_policy_enforced", "Google Workspace administrator"}},
		{sdk.ExchangeTokenPoll, 403, `{"error":"org_internal","error_description":"Org internal only."}`,
			"access_denied", []string{"Org internal only (Google: org_internal)", "Google Cloud organization"}},
		{sdk.ExchangeDeviceAuthorization, 403, `{"error_code":"rate_limit_exceeded"}`,
			"temporarily_unavailable", []string{"rate_limit_exceeded", "quota", "run login again"}},
	} {
		t.Run(tc.body, func(t *testing.T) {
			out, err := p.Interpret(tc.ex, sdk.HTTPResponse{Status: tc.status, Body: tc.body})
			if err != nil {
				t.Fatal(err)
			}
			code, desc := out.OAuthError()
			if code != tc.code || out.Status != tc.status {
				t.Errorf("%d %q, want %d %q", out.Status, code, tc.status, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(desc, w) {
					t.Errorf("description %q lacks %q", desc, w)
				}
			}
		})
	}

	// Only where Google's answers carry them: other exchanges pass.
	for _, tc := range []struct {
		ex   sdk.Exchange
		body string
	}{
		{sdk.ExchangeRefresh, `{"error":"invalid_client","error_description":"Unauthorized"}`},
		{sdk.ExchangeTokenPoll, `{"error":"invalid_scope"}`},
		{sdk.ExchangeDeviceAuthorization, `{"error":"admin_policy_enforced"}`},
		{sdk.ExchangeTokenPoll, `{"error_code":"rate_limit_exceeded"}`},
		{sdk.ExchangeUserinfo, `{"error":"invalid_token"}`},
	} {
		out, err := p.Interpret(tc.ex, sdk.HTTPResponse{Status: 400, Body: tc.body})
		if err != nil || out.Status != 400 || out.Body != tc.body {
			t.Errorf("%s %s = %d %s, %v; want it unchanged", tc.ex, tc.body, out.Status, out.Body, err)
		}
	}
}

func TestIdentityFromGoogleClaims(t *testing.T) {
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
		{name: "a consumer account: no hd, no Extra; the ID token alone",
			idToken: sdk.Claims{"sub": "1", "email": "bob@gmail.com", "name": "Bob"},
			want:    sdk.Identity{Subject: "1", Username: "bob@gmail.com", Name: "Bob", Email: "bob@gmail.com", Groups: []string{}}},
		{name: "userinfo wins but for sub; groups and preferred_username are not Google's",
			idToken:  sdk.Claims{"sub": "1", "email": "old@example.com"},
			userinfo: sdk.Claims{"sub": "2", "email": "new@example.com", "preferred_username": "x", "groups": []any{"g"}, "hd": "example.com"},
			want:     sdk.Identity{Subject: "1", Username: "new@example.com", Email: "new@example.com", Groups: []string{}, Extra: []byte(`{"hd":"example.com"}`)}},
		{name: "no e-mail (the email scope not granted): no username",
			idToken: sdk.Claims{"sub": "1"},
			want:    sdk.Identity{Subject: "1", Groups: []string{}}},
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
