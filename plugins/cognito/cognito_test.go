package cognito

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idplug/idplug/sdk"
	"github.com/idplug/idplug/sdk/sdktest"
)

// recorded is testdata/cognito.json: shapes from AWS's documentation and
// the aws-samples device-grant service (see its "source").
type recorded struct {
	DeviceAuthorization []sdktest.Recorded `json:"device_authorization"`
	TokenPoll           []sdktest.Recorded `json:"token_poll"`
	Refresh             []sdktest.Recorded `json:"refresh"`
	Revocation          []sdktest.Recorded `json:"revocation"`
	IDTokenClaims       sdk.Claims         `json:"id_token_claims"`
	Userinfo            sdk.Claims         `json:"userinfo"`
	Identity            sdk.Identity       `json:"identity"`
}

func load(t *testing.T) (r recorded) {
	sdktest.Load(t, "testdata/cognito.json", &r)
	return r
}

var settings = map[string]string{
	"domain": "https://auth.example.com", "device_endpoint": "https://device.example.com",
	"region": "us-east-1", "user_pool_id": "us-east-1_Example",
}

func with(kv ...string) map[string]string {
	s := map[string]string{}
	for k, v := range settings {
		s[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(s, kv[i])
		} else {
			s[kv[i]] = kv[i+1]
		}
	}
	return s
}

func TestDescribe(t *testing.T) {
	info, err := sdktest.New(Provider{}).Describe()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]sdk.Hook{sdk.HookPrepare, sdk.HookInterpret}, info.Hooks); info.Name != "cognito" || diff != "" {
		t.Errorf("describe = %+v; want cognito with prepare and interpret", info)
	}
	var got []string
	for _, s := range info.Settings {
		if s.Help == "" || s.Required != (s.Name != "issuer") {
			t.Errorf("setting %+v: want help, and required unless issuer", s)
		}
		got = append(got, s.Name)
	}
	if diff := cmp.Diff([]string{"domain", "device_endpoint", "region", "user_pool_id", "issuer"}, got); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
}

func TestConfigure(t *testing.T) {
	p := sdktest.New(Provider{})
	t.Run("DESIGN.md example", func(t *testing.T) {
		spec, errs, err := p.Configure(settings, sdk.Client{ClientID: "1example23456789"})
		if err != nil || len(errs) > 0 {
			t.Fatal(err, errs)
		}
		issuer := "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
		want := &sdk.ProviderSpec{
			Issuer: issuer,
			Endpoints: sdk.Endpoints{
				DeviceAuthorization: "https://device.example.com/token", Token: "https://device.example.com/token",
				Refresh: "https://auth.example.com/oauth2/token", Userinfo: "https://auth.example.com/oauth2/userInfo",
				Revocation: "https://auth.example.com/oauth2/revoke", JWKS: issuer + "/.well-known/jwks.json",
				EndSession: "https://auth.example.com/logout",
			},
			AuthStyle: "", DefaultScopes: []string{"openid", "email", "profile"}, ExtraParams: []sdk.Param{},
		}
		if diff := cmp.Diff(want, spec); diff != "" {
			t.Errorf("spec (-want +got):\n%s", diff)
		}
	})
	t.Run("issuer set, confidential client", func(t *testing.T) {
		spec, errs, err := p.Configure(with("issuer", "http://127.0.0.1:9/us-east-1_Example"), sdk.Client{ClientID: "c", ClientSecret: "s"})
		if err != nil || len(errs) > 0 {
			t.Fatal(err, errs)
		}
		if spec.Issuer != "http://127.0.0.1:9/us-east-1_Example" || spec.Endpoints.JWKS != spec.Issuer+"/.well-known/jwks.json" || spec.AuthStyle != sdk.AuthBasic {
			t.Errorf("spec %+v", spec)
		}
	})
	for _, tc := range []struct {
		name     string
		settings map[string]string
		want     []string
	}{
		{"region of another pool", with("region", "eu-west-1"), []string{`region: is "eu-west-1" but user pool us-east-1_Example is in us-east-1; set region = "us-east-1"`}},
		{"malformed pool id", with("user_pool_id", "Example"), []string{`user_pool_id: must look like "us-east-1_Example"`}},
		{"malformed region", with("region", "Virginia"), []string{`region: must look like "us-east-1"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, err := p.Configure(tc.settings, sdk.Client{ClientID: "c"})
			if err != nil {
				t.Fatal(err)
			}
			if len(errs) != len(tc.want) {
				t.Fatalf("errors %v, want %q", errs, tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %q lacks %q", errs[i].Error(), w)
				}
			}
		})
	}
}

func TestPrepareMovesParametersToTheQuery(t *testing.T) {
	p := sdktest.New(Provider{})
	form := []sdk.Header{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}, {Name: "Accept", Value: "application/json"}}
	basic := append([]sdk.Header{{Name: "Authorization", Value: "Basic " + base64.StdEncoding.EncodeToString([]byte("app%2B1:s3cret"))}}, form...)
	for _, tc := range []struct {
		name    string
		ex      sdk.Exchange
		headers []sdk.Header
		body    string
		query   url.Values
	}{
		{"device authorization", sdk.ExchangeDeviceAuthorization, form, "client_id=1example23456789&scope=openid+email+profile",
			url.Values{"client_id": {"1example23456789"}, "scope": {"openid email profile"}}},
		{"poll", sdk.ExchangeTokenPoll, form, "client_id=c&device_code=d&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code",
			url.Values{"client_id": {"c"}, "device_code": {"d"}, "grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}}},
		{"poll of a confidential client", sdk.ExchangeTokenPoll, basic, "device_code=d&grant_type=g",
			url.Values{"client_id": {"app+1"}, "device_code": {"d"}, "grant_type": {"g"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := p.Prepare(tc.ex, sdk.HTTPRequest{Method: "POST", URL: "https://device.example.com/token", Headers: tc.headers, Body: tc.body})
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(out.URL)
			if diff := cmp.Diff(tc.query, u.Query()); diff != "" || out.Body != "" || out.Method != "POST" || u.Path != "/token" {
				t.Errorf("%s %s body %q; query (-want +got):\n%s", out.Method, out.URL, out.Body, diff)
			}
			for _, h := range out.Headers {
				if strings.EqualFold(h.Name, "Content-Type") {
					t.Errorf("Content-Type kept without a body")
				}
			}
			if len(out.Headers) != len(tc.headers)-1 {
				t.Errorf("headers %v: want all but Content-Type", out.Headers)
			}
		})
	}
	// Refresh goes to Cognito itself, as a form.
	req := sdk.HTTPRequest{Method: "POST", URL: "https://auth.example.com/oauth2/token", Headers: form, Body: "grant_type=refresh_token&refresh_token=r&client_id=c"}
	if out, err := p.Prepare(sdk.ExchangeRefresh, req); err != nil || !cmp.Equal(out, req) {
		t.Errorf("refresh request changed: %+v, %v", out, err)
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
		sdk.ExchangeRevocation:          r.Revocation,
	} {
		for _, rec := range list {
			t.Run(string(ex)+"/"+rec.Response().Body, func(t *testing.T) {
				sdktest.Interpret(t, p, ex, rec)
			})
		}
	}
}

func TestIdentityFromCognitoClaims(t *testing.T) {
	r := load(t)
	p := sdktest.New(Provider{})
	id, err := p.Identity(r.IDTokenClaims, r.Userinfo)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r.Identity, id); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
	// An ID token without cognito:username (a refresh may return none):
	// userInfo's username; no groups is an empty list.
	id, err = p.Identity(sdk.Claims{"sub": "s"}, sdk.Claims{"sub": "s", "username": "bob", "email": "bob@example.com"})
	if err != nil || id.Username != "bob" || id.Groups == nil || len(id.Groups) != 0 {
		t.Errorf("identity %+v, %v", id, err)
	}
}

// FuzzPrepare checks that any request body is moved to the query without a
// panic, or refused with an error.
func FuzzPrepare(f *testing.F) {
	f.Add("client_id=c&scope=openid", "Basic YTpi")
	f.Add("%zz", "Basic !!")
	f.Add("a=1&a=2&device_code=", "Bearer x")
	p := Provider{}
	f.Fuzz(func(t *testing.T, body, auth string) {
		out, err := p.Prepare(sdk.ExchangeTokenPoll, sdk.HTTPRequest{Method: "POST", URL: "https://device.example.com/token",
			Headers: []sdk.Header{{Name: "Authorization", Value: auth}}, Body: body})
		if err == nil && out.Body != "" {
			t.Fatalf("body kept: %q", out.Body)
		}
	})
}
