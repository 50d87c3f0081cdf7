package entra

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

// recorded is testdata/entra.json: shapes from Microsoft's documentation
// (see its "source").
type recorded struct {
	Discovery           []sdktest.Recorded `json:"discovery"`
	DeviceAuthorization []sdktest.Recorded `json:"device_authorization"`
	TokenPoll           []sdktest.Recorded `json:"token_poll"`
	Refresh             []sdktest.Recorded `json:"refresh"`
	IDTokenClaims       sdk.Claims         `json:"id_token_claims"`
	Identity            sdk.Identity       `json:"identity"`
}

func load(t *testing.T) (r recorded) {
	sdktest.Load(t, "testdata/entra.json", &r)
	return r
}

const (
	tenantID = "aaaabbbb-0000-cccc-1111-dddd2222eeee"
	scopes   = "openid profile email offline_access"
)

// spec is what Configure should return for authority and tenant.
func spec(authority, tenant string) *sdk.ProviderSpec {
	base := authority + "/" + tenant
	return &sdk.ProviderSpec{
		Issuer:       authority + "/{tid}/v2.0",
		DiscoveryURL: base + "/v2.0/.well-known/openid-configuration",
		Endpoints: sdk.Endpoints{
			DeviceAuthorization: base + "/oauth2/v2.0/devicecode",
			Token:               base + "/oauth2/v2.0/token",
			JWKS:                base + "/discovery/v2.0/keys",
			EndSession:          base + "/oauth2/v2.0/logout",
		},
		AuthStyle:     "", // decided by the host: none for a public client, post with a client_secret
		DefaultScopes: strings.Fields(scopes),
		ExtraParams:   []sdk.Param{},
		LogoutHint:    logoutHint,
	}
}

func TestDescribe(t *testing.T) {
	info, err := sdktest.New(Provider{}).Describe()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]sdk.Hook{sdk.HookInterpret}, info.Hooks); info.Name != "entra" || diff != "" {
		t.Errorf("describe = %+v; want entra with the interpret hook", info)
	}
	if info.ContractVersion != sdk.ContractVersion {
		t.Errorf("contract version %d", info.ContractVersion)
	}
	if !strings.Contains(info.Summary, "https://myaccount.microsoft.com") {
		t.Errorf("summary %q: want where to sign out, as there is no revocation", info.Summary)
	}
	want := []sdk.SettingSpec{
		{Name: "tenant", Type: sdk.SettingString, Required: true},
		{Name: "authority", Type: sdk.SettingURL, Default: DefaultAuthority},
	}
	for i, s := range info.Settings {
		if s.Help == "" {
			t.Errorf("setting %s has no help", s.Name)
		}
		if i < len(want) {
			want[i].Help = s.Help
		}
	}
	if diff := cmp.Diff(want, info.Settings); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	for _, w := range []string{"organizations", "common", "consumers", "contoso.onmicrosoft.com"} {
		if !strings.Contains(info.Settings[0].Help, w) {
			t.Errorf("tenant help %q lacks %q", info.Settings[0].Help, w)
		}
	}
	for _, w := range []string{"https://login.microsoftonline.us", "https://login.partner.microsoftonline.cn"} {
		if !strings.Contains(info.Settings[1].Help, w) {
			t.Errorf("authority help %q lacks the national cloud %q", info.Settings[1].Help, w)
		}
	}
}

func TestConfigure(t *testing.T) {
	p := sdktest.New(Provider{})
	for _, tc := range []struct {
		name     string
		settings map[string]string
		secret   string
		want     *sdk.ProviderSpec
	}{
		{"DESIGN.md example: a tenant by domain, no authority", map[string]string{"tenant": "contoso.onmicrosoft.com"}, "",
			spec(DefaultAuthority, "contoso.onmicrosoft.com")},
		{"a tenant by ID, the default authority as the host applies it", map[string]string{"tenant": tenantID, "authority": DefaultAuthority}, "",
			spec(DefaultAuthority, tenantID)},
		{"organizations", map[string]string{"tenant": "organizations"}, "", spec(DefaultAuthority, "organizations")},
		{"common", map[string]string{"tenant": "common"}, "", spec(DefaultAuthority, "common")},
		{"consumers", map[string]string{"tenant": "consumers"}, "", spec(DefaultAuthority, "consumers")},
		{"Azure Government", map[string]string{"tenant": tenantID, "authority": "https://login.microsoftonline.us"}, "",
			spec("https://login.microsoftonline.us", tenantID)},
		{"operated by 21Vianet", map[string]string{"tenant": "contoso.partner.onmschina.cn", "authority": "https://login.partner.microsoftonline.cn"}, "",
			spec("https://login.partner.microsoftonline.cn", "contoso.partner.onmschina.cn")},
		{"loopback test server", map[string]string{"tenant": "organizations", "authority": "http://127.0.0.1:8080"}, "",
			spec("http://127.0.0.1:8080", "organizations")},
		{"trailing slashes, and Microsoft's /common", map[string]string{"tenant": "/common/", "authority": "https://login.microsoftonline.com/"}, "",
			spec(DefaultAuthority, "common")},
		{"spaces around the tenant, confidential client", map[string]string{"tenant": " contoso.onmicrosoft.com "}, "s3cret",
			spec(DefaultAuthority, "contoso.onmicrosoft.com")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errs, err := p.Configure(tc.settings, sdk.Client{ClientID: "00001111-aaaa-2222-bbbb-3333cccc4444", ClientSecret: tc.secret})
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

func TestConfigureSaysWhatToFix(t *testing.T) {
	p := sdktest.New(Provider{})
	for _, tc := range []struct {
		name     string
		settings map[string]string
		wantErrs []string // in the errors, one for each setting at fault
	}{
		{"empty tenant", map[string]string{"tenant": ""}, []string{"tenant: must say who may sign in"}},
		{"only a slash", map[string]string{"tenant": " / "}, []string{"tenant: must say who may sign in"}},
		{"the tenant as an MSAL authority", map[string]string{"tenant": "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"},
			[]string{`tenant: must be the tenant alone, not a URL; write authority = "https://login.microsoftonline.com" and tenant = "contoso.onmicrosoft.com"`}},
		{"the tenant as a sign-in host", map[string]string{"tenant": "https://login.microsoftonline.us"},
			[]string{`tenant: must be the tenant alone, not a URL; write authority = "https://login.microsoftonline.us", and only the tenant ID or domain in tenant`}},
		{"a path", map[string]string{"tenant": "contoso.onmicrosoft.com/v2.0"},
			[]string{`tenant: must be the tenant alone, without "/"; put the sign-in host in authority,`}},
		{"a user", map[string]string{"tenant": "alice@contoso.com"}, []string{`tenant: must be a tenant, not a user; write the domain: tenant = "contoso.com"`}},
		{"a space", map[string]string{"tenant": "contoso tenant"}, []string{`tenant: must be a tenant ID (a GUID), a domain`, `got "contoso tenant"`}},
		{"an underscore", map[string]string{"tenant": "contoso_corp"}, []string{`tenant: must be a tenant ID`, `letters, digits, "." and "-" only`}},
		{"a query", map[string]string{"tenant": "common?x=1"}, []string{`tenant: must be a tenant ID`, `got "common?x=1"`}},
		{"the tenant inside authority", map[string]string{"tenant": "contoso.onmicrosoft.com", "authority": "https://login.microsoftonline.com/contoso.onmicrosoft.com"},
			[]string{`authority: must be the sign-in host alone, without a path; write authority = "https://login.microsoftonline.com", and the tenant in the tenant setting`}},
		{"remote http", map[string]string{"tenant": "common", "authority": "http://login.microsoftonline.com"},
			[]string{"authority: http:// is accepted only for loopback hosts; use https://login.microsoftonline.com"}},
		{"not a URL", map[string]string{"tenant": "common", "authority": "login.microsoftonline.com"},
			[]string{"authority: must be an absolute https URL"}},
		{"both wrong: each named", map[string]string{"tenant": "", "authority": "https://login.microsoftonline.com/common/"},
			[]string{"authority: must be the sign-in host alone", "tenant: must say who may sign in"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errs, err := p.Configure(tc.settings, sdk.Client{ClientID: "cli"})
			if err != nil {
				t.Fatal(err)
			}
			settings := map[string]bool{}
			msgs := make([]string, len(errs))
			for i, e := range errs {
				settings[e.Setting] = true
				msgs[i] = e.Error()
			}
			all := strings.Join(msgs, "\n")
			for _, want := range tc.wantErrs {
				if !strings.Contains(all, want) {
					t.Errorf("errors %q lack %q", msgs, want)
				}
				setting, _, _ := strings.Cut(want, ":")
				delete(settings, setting)
			}
			if got != nil || len(errs) == 0 || len(settings) > 0 {
				t.Errorf("spec %+v, errors %q; want no spec and errors naming only the settings of %q", got, msgs, tc.wantErrs)
			}
		})
	}
}

// TestIssuerTemplate checks the issuer template against the recorded ID
// token: filled from the token's own tid it is the token's iss, on any
// cloud.
func TestIssuerTemplate(t *testing.T) {
	claims := load(t).IDTokenClaims
	for _, authority := range []string{DefaultAuthority, "https://login.microsoftonline.us"} {
		got, _, err := sdktest.New(Provider{}).Configure(map[string]string{"tenant": "organizations", "authority": authority}, sdk.Client{ClientID: "cli"})
		if err != nil {
			t.Fatal(err)
		}
		filled := strings.ReplaceAll(got.Issuer, "{tid}", claims.String("tid"))
		want := strings.Replace(claims.String("iss"), DefaultAuthority, authority, 1)
		if filled != want {
			t.Errorf("issuer template %q filled from tid is %q, want %q", got.Issuer, filled, want)
		}
	}
}

// TestConfigureAgreesWithDiscovery checks the spec against the recorded
// discovery documents of organizations and of one tenant: every endpoint
// the plugin names is the document's, the document's issuer fits the
// template, and the document has no revocation endpoint the plugin misses.
func TestConfigureAgreesWithDiscovery(t *testing.T) {
	found := 0
	for _, rec := range load(t).Discovery {
		if rec.Means != "" {
			continue
		}
		found++
		var d map[string]any
		if err := json.Unmarshal(rec.Body, &d); err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(d["token_endpoint"].(string))
		if err != nil {
			t.Fatal(err)
		}
		tenant, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		t.Run(tenant, func(t *testing.T) {
			spec, errs, err := sdktest.New(Provider{}).Configure(map[string]string{"tenant": tenant}, sdk.Client{ClientID: "cli"})
			if err != nil || len(errs) > 0 {
				t.Fatalf("configure: %v, %v", errs, err)
			}
			for field, got := range map[string]string{
				"device_authorization_endpoint": spec.Endpoints.DeviceAuthorization,
				"token_endpoint":                spec.Endpoints.Token,
				"jwks_uri":                      spec.Endpoints.JWKS,
				"end_session_endpoint":          spec.Endpoints.EndSession,
			} {
				if d[field] != got {
					t.Errorf("%s: discovery says %v, plugin %q", field, d[field], got)
				}
			}
			prefix, suffix, _ := strings.Cut(spec.Issuer, "{tid}")
			iss, _ := d["issuer"].(string)
			middle := strings.TrimSuffix(strings.TrimPrefix(iss, prefix), suffix)
			if !strings.HasPrefix(iss, prefix) || !strings.HasSuffix(iss, suffix) || middle == "" || strings.Contains(middle, "/") {
				t.Errorf("discovery issuer %q does not fit the template %q", iss, spec.Issuer)
			}
			if _, ok := d["revocation_endpoint"]; ok {
				t.Error("recorded discovery names a revocation_endpoint; Entra's does not")
			}
			for _, s := range spec.DefaultScopes {
				if !slices.Contains(d["scopes_supported"].([]any), any(s)) {
					t.Errorf("default scope %q is not in scopes_supported", s)
				}
			}
		})
	}
	if found != 2 {
		t.Errorf("%d recorded discovery documents, want organizations' and a tenant's", found)
	}
}

// TestInterpretRecordedResponses runs every recorded answer through the
// interpret hook and checks the OAuth error the engine then decides on.
func TestInterpretRecordedResponses(t *testing.T) {
	r := load(t)
	p := sdktest.New(Provider{})
	for ex, list := range map[sdk.Exchange][]sdktest.Recorded{
		sdk.ExchangeDiscovery:           r.Discovery,
		sdk.ExchangeDeviceAuthorization: r.DeviceAuthorization,
		sdk.ExchangeTokenPoll:           r.TokenPoll,
		sdk.ExchangeRefresh:             r.Refresh,
	} {
		for i, rec := range list {
			if ex == sdk.ExchangeDiscovery && rec.Means == "" {
				continue // rewritten: TestInterpretDropsGraphUserinfo
			}
			t.Run(string(ex)+"/"+rec.Means, func(t *testing.T) {
				in := rec.Response()
				out := sdktest.Interpret(t, p, ex, rec)
				if out.Status != rec.Status {
					t.Errorf("#%d: status %d, want it kept: %d", i, out.Status, rec.Status)
				}
				if code, _ := in.OAuthError(); code == rec.Means && out.Body != in.Body {
					t.Errorf("#%d: an RFC error was rewritten: %s", i, out.Body)
				}
			})
		}
	}
}

// TestInterpretDropsGraphUserinfo checks that the recorded discovery
// documents lose their userinfo_endpoint, Microsoft Graph's, and nothing
// else, and that other documents pass unchanged.
func TestInterpretDropsGraphUserinfo(t *testing.T) {
	p := sdktest.New(Provider{})
	for _, rec := range load(t).Discovery {
		if rec.Means != "" {
			continue
		}
		in := rec.Response()
		out, err := p.Interpret(sdk.ExchangeDiscovery, in)
		if err != nil {
			t.Fatal(err)
		}
		var before, after map[string]any
		if err := json.Unmarshal([]byte(in.Body), &before); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(out.Body), &after); err != nil {
			t.Fatalf("interpreted discovery is not JSON: %v", err)
		}
		if before["userinfo_endpoint"] != "https://graph.microsoft.com/oidc/userinfo" {
			t.Fatalf("recorded userinfo_endpoint %v, want Graph's", before["userinfo_endpoint"])
		}
		delete(before, "userinfo_endpoint")
		if diff := cmp.Diff(before, after); diff != "" || out.Status != in.Status {
			t.Errorf("status %d, document (-want +got), want only userinfo_endpoint dropped:\n%s", out.Status, diff)
		}
	}
	for _, tc := range []struct {
		ex   sdk.Exchange
		body string
	}{
		{sdk.ExchangeDiscovery, `{"issuer":"https://login.microsoftonline.com/{tenantid}/v2.0","token_endpoint":"https://login.microsoftonline.com/common/oauth2/v2.0/token"}`},
		{sdk.ExchangeDiscovery, "<html>Not Found</html>"},
		{sdk.ExchangeDiscovery, ""},
		{sdk.ExchangeTokenPoll, `{"access_token":"at","token_type":"Bearer","userinfo_endpoint":"x"}`},
	} {
		in := sdk.HTTPResponse{Status: 200, Body: tc.body}
		if out, err := p.Interpret(tc.ex, in); err != nil || out.Body != in.Body {
			t.Errorf("%s %q = %q, %v; want it unchanged", tc.ex, in.Body, out.Body, err)
		}
	}
}

func TestInterpretSaysWhatToFix(t *testing.T) {
	r := load(t)
	p := sdktest.New(Provider{})
	var bad sdktest.Recorded
	for _, rec := range r.TokenPoll {
		if strings.Contains(string(rec.Body), "bad_verification_code") {
			bad = rec
		}
	}
	out, err := p.Interpret(sdk.ExchangeTokenPoll, bad.Response())
	if err != nil {
		t.Fatal(err)
	}
	code, desc := out.OAuthError()
	if code != "invalid_grant" {
		t.Errorf("error %q, want invalid_grant", code)
	}
	for _, w := range []string{"AADSTS70018: Invalid verification code", "(Microsoft Entra: bad_verification_code)", "run login again",
		"Trace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333, Correlation ID: aaaa0000-bb11-2222-33cc-444444dddddd, Timestamp: 2025-01-01 00:00:00Z"} {
		if !strings.Contains(desc, w) {
			t.Errorf("description %q lacks %q", desc, w)
		}
	}
	if h := strings.Index(desc, "run login again"); h > strings.Index(desc, "Trace ID") || h+len("run login again") > 300 {
		t.Errorf("description %q: want the hint before Entra's diagnostics, within the 300 bytes the host quotes", desc)
	}
	if strings.ContainsAny(desc, "\r\n") {
		t.Errorf("description %q: want one line", desc)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(out.Body), &body); err != nil {
		t.Fatal(err)
	}
	for _, member := range []string{"error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"} {
		if _, ok := body[member]; !ok {
			t.Errorf("member %s of Entra's answer dropped: %s", member, out.Body)
		}
	}

	for _, tc := range []struct {
		ex         sdk.Exchange
		body, code string
		desc       string
	}{
		{sdk.ExchangeTokenPoll, `{"error":"bad_verification_code"}`, "invalid_grant", "Microsoft Entra answered bad_verification_code; run login again"},
		{sdk.ExchangeTokenPoll, `{"error":"authorization_declined","error_description":"The end user denied the authorization request."}`,
			"access_denied", "The end user denied the authorization request (Microsoft Entra: authorization_declined)"},
		{sdk.ExchangeRefresh, `{"error":"authorization_declined"}`, "access_denied", "Microsoft Entra answered authorization_declined"},
		// slow_down is RFC 8628's: unchanged, with any interval.
		{sdk.ExchangeTokenPoll, `{"error":"slow_down","interval":10}`, "slow_down", ""},
		// Only the token endpoint's answers are renamed.
		{sdk.ExchangeDeviceAuthorization, `{"error":"authorization_declined"}`, "authorization_declined", ""},
	} {
		in := sdk.HTTPResponse{Status: 400, Body: tc.body}
		out, err := p.Interpret(tc.ex, in)
		if err != nil {
			t.Fatal(err)
		}
		code, desc := out.OAuthError()
		if code != tc.code || desc != tc.desc {
			t.Errorf("%s %s: error %q (%q), want %q (%q)", tc.ex, tc.body, code, desc, tc.code, tc.desc)
		}
		if tc.desc == "" && out.Body != in.Body {
			t.Errorf("%s %s: rewritten to %s, want it unchanged", tc.ex, tc.body, out.Body)
		}
	}
}

func TestIdentityFromRecordedClaims(t *testing.T) {
	r := load(t)
	id, err := sdktest.New(Provider{}).Identity(r.IDTokenClaims, nil)
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
		name              string
		idToken, userinfo sdk.Claims
		want              sdk.Identity
	}{
		{"no oid (no profile scope): sub, and the e-mail as username",
			sdk.Claims{"sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "tid": tenantID, "email": "bob@contoso.com"}, nil,
			sdk.Identity{Subject: "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", Username: "bob@contoso.com", Email: "bob@contoso.com", Groups: []string{}}},
		{"no groups claim, no email claim",
			sdk.Claims{"sub": "s", "oid": "o", "preferred_username": "bob@contoso.com", "name": "Bob"}, nil,
			sdk.Identity{Subject: "o", Username: "bob@contoso.com", Name: "Bob", Groups: []string{}}},
		{"groups overage: a _claim_names entry pointing at Graph, not followed",
			sdk.Claims{"sub": "s", "oid": "o", "preferred_username": "bob@contoso.com",
				"_claim_names":   map[string]any{"groups": "src1"},
				"_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.microsoft.com/v1.0/users/o/getMemberObjects"}}}, nil,
			sdk.Identity{Subject: "o", Username: "bob@contoso.com", Groups: []string{}}},
		{"groups overage with the source's name in groups",
			sdk.Claims{"oid": "o", "groups": "src1", "_claim_names": map[string]any{"groups": "src1"}}, nil,
			sdk.Identity{Subject: "o", Groups: []string{}}},
		{"userinfo, Graph's, is not used",
			sdk.Claims{"sub": "s", "oid": "o", "name": "Bob"}, sdk.Claims{"sub": "s", "name": "Robert", "email": "robert@contoso.com", "groups": []any{"g"}},
			sdk.Identity{Subject: "o", Name: "Bob", Groups: []string{}}},
		{"no claims at all (no openid scope)", nil, nil, sdk.Identity{Groups: []string{}}},
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

func TestLogoutHintIsOneLine(t *testing.T) {
	if strings.ContainsAny(logoutHint, "\r\n") || !strings.Contains(logoutHint, "https://myaccount.microsoft.com") {
		t.Errorf("logout hint %q: want one line saying where to sign out", logoutHint)
	}
}
