package github

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idplug/idplug/sdk"
	"github.com/idplug/idplug/sdk/sdktest"
)

// recorded is testdata/github.json: shapes from GitHub's documentation (see
// its "source").
type recorded struct {
	DeviceAuthorization []sdktest.Recorded `json:"device_authorization"`
	TokenPoll           []sdktest.Recorded `json:"token_poll"`
	Refresh             []sdktest.Recorded `json:"refresh"`
	Userinfo            sdk.Claims         `json:"userinfo"`
	Identity            sdk.Identity       `json:"identity"`
}

func load(t *testing.T) (r recorded) {
	sdktest.Load(t, "testdata/github.json", &r)
	return r
}

func TestDescribe(t *testing.T) {
	info, err := sdktest.New(Provider{}).Describe()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]sdk.Hook{sdk.HookPrepare, sdk.HookInterpret}, info.Hooks); info.Name != "github" || diff != "" {
		t.Errorf("describe = %+v; want github with the prepare and interpret hooks", info)
	}
	if info.ContractVersion != sdk.ContractVersion {
		t.Errorf("contract version %d", info.ContractVersion)
	}
	if !strings.Contains(info.Summary, "github.com/settings/applications") {
		t.Errorf("summary %q: want where to revoke the app's access", info.Summary)
	}
	want := map[string]string{"url": DefaultURL, "api_url": ""}
	for _, s := range info.Settings {
		def, ok := want[s.Name]
		if !ok || s.Required || s.Type != sdk.SettingURL || s.Default != def || s.Help == "" {
			t.Errorf("setting %+v: unexpected, or required, or not a url, or wrong default, or no help", s)
		}
		delete(want, s.Name)
	}
	if len(want) > 0 {
		t.Errorf("settings lack %v", want)
	}
}

func TestConfigure(t *testing.T) {
	p := sdktest.New(Provider{})
	spec := func(base, api string) *sdk.ProviderSpec {
		return &sdk.ProviderSpec{
			Endpoints: sdk.Endpoints{
				DeviceAuthorization: base + "/login/device/code",
				Token:               base + "/login/oauth/access_token",
				Userinfo:            api + "/user",
			},
			DefaultScopes: []string{"read:user", "user:email"},
			ExtraParams:   []sdk.Param{},
			LogoutHint: "GitHub cannot revoke a token for a device; the token stays valid until it expires, or for good: " +
				"revoke the app's access at " + base + "/settings/applications (Authorized OAuth Apps or Authorized GitHub Apps)",
		}
	}
	for _, tc := range []struct {
		name     string
		settings map[string]string
		secret   string
		want     *sdk.ProviderSpec
	}{
		{"DESIGN.md example: the default, github.com", map[string]string{"url": "https://github.com"}, "",
			spec("https://github.com", "https://api.github.com")},
		{"no url at all: github.com", map[string]string{}, "", spec("https://github.com", "https://api.github.com")},
		{"trailing slash, confidential client", map[string]string{"url": "https://github.com/"}, "s",
			spec("https://github.com", "https://api.github.com")},
		{"Enterprise Server: api/v3 under the base URL", map[string]string{"url": "https://github.example.com"}, "",
			spec("https://github.example.com", "https://github.example.com/api/v3")},
		{"Enterprise Server under a path", map[string]string{"url": "https://example.com/github/"}, "",
			spec("https://example.com/github", "https://example.com/github/api/v3")},
		{"Enterprise Cloud data residency: api. subdomain", map[string]string{"url": "https://octo.ghe.com"}, "",
			spec("https://octo.ghe.com", "https://api.octo.ghe.com")},
		{"loopback test server", map[string]string{"url": "http://127.0.0.1:8080"}, "",
			spec("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v3")},
		{"api_url overrides the derivation", map[string]string{"url": "https://github.example.com", "api_url": "https://api.github.example.com/"}, "",
			spec("https://github.example.com", "https://api.github.example.com")},
		{"api_url with github.com", map[string]string{"api_url": "https://proxy.example.com/gh"}, "",
			spec("https://github.com", "https://proxy.example.com/gh")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errs, err := p.Configure(tc.settings, sdk.Client{ClientID: "Iv1.0123456789abcdef", ClientSecret: tc.secret})
			if err != nil {
				t.Fatal(err)
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

func TestPrepareHeaders(t *testing.T) {
	p := sdktest.New(Provider{})
	form := sdk.Header{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}
	bearer := sdk.Header{Name: "Authorization", Value: "Bearer gho_x"}
	jsonAccept := sdk.Header{Name: "Accept", Value: "application/json"}
	for _, tc := range []struct {
		ex   sdk.Exchange
		in   []sdk.Header
		want []sdk.Header
	}{
		{sdk.ExchangeDeviceAuthorization, []sdk.Header{form, jsonAccept}, []sdk.Header{form, jsonAccept}},
		{sdk.ExchangeTokenPoll, []sdk.Header{form, {Name: "accept", Value: "*/*"}}, []sdk.Header{form, jsonAccept}},
		{sdk.ExchangeRefresh, []sdk.Header{form}, []sdk.Header{form, jsonAccept}},
		{sdk.ExchangeUserinfo, []sdk.Header{bearer, jsonAccept}, []sdk.Header{
			bearer, {Name: "Accept", Value: "application/vnd.github+json"}, {Name: "X-GitHub-Api-Version", Value: "2022-11-28"}}},
		{sdk.ExchangeRevocation, []sdk.Header{form, jsonAccept}, []sdk.Header{form, jsonAccept}},
	} {
		t.Run(string(tc.ex), func(t *testing.T) {
			req := sdk.HTTPRequest{Method: "POST", URL: "https://github.com/login/oauth/access_token", Headers: tc.in, Body: "client_id=cli&device_code=d"}
			out, err := p.Prepare(tc.ex, req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.Headers); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			if out.Method != req.Method || out.URL != req.URL || out.Body != req.Body {
				t.Errorf("request changed beyond its headers: %+v", out)
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
				in := rec.Response()
				out := sdktest.Interpret(t, p, ex, rec)
				if out.Status != rec.Status {
					t.Errorf("status %d, want it kept: %d", out.Status, rec.Status)
				}
				if code, _ := in.OAuthError(); code == rec.Means && out.Body != in.Body {
					t.Errorf("an RFC error was rewritten: %s", out.Body)
				}
			})
		}
	}
}

func TestInterpretSaysWhatToFix(t *testing.T) {
	p := sdktest.New(Provider{})
	for _, tc := range []struct {
		body, code string
		want       []string
	}{
		{`{"error":"device_flow_disabled","error_description":"Device flow has not been enabled for this app."}`,
			"unauthorized_client", []string{"device_flow_disabled", "Enable Device Flow"}},
		{`{"error":"incorrect_client_credentials","error_description":"The client_id is not valid."}`,
			"invalid_client", []string{"The client_id is not valid", "client_id"}},
		{`{"error":"incorrect_device_code"}`, "invalid_grant", []string{"incorrect_device_code", "login again"}},
	} {
		out, err := p.Interpret(sdk.ExchangeTokenPoll, sdk.HTTPResponse{Status: 200, Body: tc.body})
		if err != nil {
			t.Fatal(err)
		}
		code, desc := out.OAuthError()
		if code != tc.code {
			t.Errorf("%s: error %q, want %q", tc.body, code, tc.code)
		}
		for _, w := range tc.want {
			if !strings.Contains(desc, w) {
				t.Errorf("%s: description %q lacks %q", tc.body, desc, w)
			}
		}
	}
	// The slow_down's interval, which the engine adopts, survives.
	out, err := p.Interpret(sdk.ExchangeTokenPoll, sdk.HTTPResponse{Status: 200, Body: `{"error":"slow_down","interval":10}`})
	if err != nil || out.Body != `{"error":"slow_down","interval":10}` {
		t.Errorf("slow_down = %q, %v; want it unchanged", out.Body, err)
	}
}

func TestIdentityFromRecordedUser(t *testing.T) {
	r := load(t)
	p := sdktest.New(Provider{})
	id, err := p.Identity(nil, r.Userinfo)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Identity, id); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
}

func TestIdentity(t *testing.T) {
	p := sdktest.New(Provider{})
	for _, tc := range []struct {
		name     string
		userinfo sdk.Claims
		want     sdk.Identity
		wantErr  string
	}{
		{"a large id has no exponent; private e-mail and no name are empty",
			sdk.Claims{"login": "hubot", "id": 123456789012, "name": nil, "email": nil},
			sdk.Identity{Subject: "123456789012", Username: "hubot", Groups: []string{}}, ""},
		{"no id", sdk.Claims{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, sdk.Identity{}, "no numeric id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := p.Identity(nil, tc.userinfo)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, id); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSubjectFormatsWithoutExponent(t *testing.T) {
	for in, want := range map[float64]string{1: "1", 583231: "583231", 1e8: "100000000", 9007199254740991: "9007199254740991"} {
		if got, err := subject(in); err != nil || got != want {
			t.Errorf("subject(%v) = %q, %v; want %q", in, got, err, want)
		}
	}
}
