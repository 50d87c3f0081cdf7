package gitlab

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idplug/idplug/sdk"
	"github.com/idplug/idplug/sdk/sdktest"
)

// recorded is testdata/gitlab.json: response and claim shapes from
// GitLab's documentation (see its "source").
type recorded struct {
	DeviceAuthorization sdktest.Recorded   `json:"device_authorization"`
	TokenPoll           []sdktest.Recorded `json:"token_poll"`
	Discovery           map[string]any     `json:"discovery"`
	IDTokenClaims       sdk.Claims         `json:"id_token_claims"`
	Userinfo            sdk.Claims         `json:"userinfo"`
	Identity            sdk.Identity       `json:"identity"`
}

func load(t *testing.T) (r recorded) {
	sdktest.Load(t, "testdata/gitlab.json", &r)
	return r
}

func TestDescribe(t *testing.T) {
	info, err := sdktest.New(Provider{}).Describe()
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "gitlab" || info.ContractVersion != sdk.ContractVersion || len(info.Hooks) != 0 {
		t.Errorf("describe = %+v; want gitlab without hooks (GitLab answers in the RFC shape)", info)
	}
	want := []sdk.SettingSpec{{Name: "url", Type: sdk.SettingURL, Default: "https://gitlab.com", Help: info.Settings[0].Help}}
	if diff := cmp.Diff(want, info.Settings); diff != "" || info.Settings[0].Help == "" {
		t.Errorf("settings (-want +got), want an optional url defaulting to GitLab.com, with help:\n%s", diff)
	}
}

func TestConfigure(t *testing.T) {
	p := sdktest.New(Provider{})
	for _, tc := range []struct {
		name, url, secret, base string
	}{
		{name: "GitLab.com, the default", url: "https://gitlab.com", base: "https://gitlab.com"},
		{name: "self-managed with a path prefix and trailing slash, confidential client",
			url: "https://example.com/gitlab/", secret: "s3cret", base: "https://example.com/gitlab"},
		{name: "loopback", url: "http://127.0.0.1:8929", base: "http://127.0.0.1:8929"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, errs, err := p.Configure(map[string]string{"url": tc.url}, sdk.Client{ClientID: "cli", ClientSecret: tc.secret})
			if err != nil || len(errs) > 0 {
				t.Fatalf("configure: %v, %v", errs, err)
			}
			b := tc.base
			want := &sdk.ProviderSpec{
				Issuer:       b,
				DiscoveryURL: b + "/.well-known/openid-configuration",
				Endpoints: sdk.Endpoints{
					DeviceAuthorization: b + "/oauth/authorize_device", Token: b + "/oauth/token",
					Userinfo: b + "/oauth/userinfo", Revocation: b + "/oauth/revoke", JWKS: b + "/oauth/discovery/keys",
				},
				AuthStyle:     "", // decided by the host: post with a client_secret, none without
				DefaultScopes: []string{"openid", "profile", "email"},
				ExtraParams:   []sdk.Param{},
			}
			if diff := cmp.Diff(want, spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConfigureAgreesWithDiscovery checks the endpoints the plugin names
// against GitLab.com's recorded discovery document: the issuer and every
// endpoint the document has match, and the device authorization endpoint,
// which the document lacks, is the plugin's to supply.
func TestConfigureAgreesWithDiscovery(t *testing.T) {
	d := load(t).Discovery
	spec, _, err := sdktest.New(Provider{}).Configure(map[string]string{"url": "https://gitlab.com"}, sdk.Client{ClientID: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d["device_authorization_endpoint"]; ok {
		t.Error("recorded discovery names a device_authorization_endpoint; GitLab's does not")
	}
	for field, got := range map[string]string{
		"issuer":              spec.Issuer,
		"token_endpoint":      spec.Endpoints.Token,
		"userinfo_endpoint":   spec.Endpoints.Userinfo,
		"revocation_endpoint": spec.Endpoints.Revocation,
		"jwks_uri":            spec.Endpoints.JWKS,
	} {
		if d[field] != got {
			t.Errorf("%s: discovery says %v, plugin %q", field, d[field], got)
		}
	}
	for _, s := range spec.DefaultScopes {
		found := false
		for _, v := range d["scopes_supported"].([]any) {
			found = found || v == s
		}
		if !found {
			t.Errorf("default scope %q is not in GitLab's scopes_supported", s)
		}
	}
}

// TestRecordedErrorsAreStandard checks that GitLab's token poll answers
// already carry the RFC 8628 names the engine decides on, so the plugin
// needs no interpret hook.
func TestRecordedErrorsAreStandard(t *testing.T) {
	r := load(t)
	if code, _ := r.DeviceAuthorization.Response().OAuthError(); code != "" {
		t.Errorf("device authorization: error %q", code)
	}
	for _, rec := range r.TokenPoll {
		code, _ := rec.Response().OAuthError()
		wantStatus := uint16(400)
		if rec.Means == "" {
			wantStatus = 200
		}
		if code != rec.Means || rec.Status != wantStatus {
			t.Errorf("%d %s: error %q, want %q with %d", rec.Status, rec.Body, code, rec.Means, wantStatus)
		}
	}
}

func TestIdentityFromGitLabClaims(t *testing.T) {
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
		name     string
		userinfo sdk.Claims
		want     sdk.Identity
	}{
		{name: "preferred_username when nickname is absent",
			userinfo: sdk.Claims{"sub": "7", "preferred_username": "bob"},
			want:     sdk.Identity{Subject: "7", Username: "bob", Groups: []string{}}},
		{name: "nickname wins",
			userinfo: sdk.Claims{"sub": "7", "nickname": "bob", "preferred_username": "robert"},
			want:     sdk.Identity{Subject: "7", Username: "bob", Groups: []string{}}},
		{name: "email when neither",
			userinfo: sdk.Claims{"sub": "7", "email": "bob@example.com", "groups": []any{"a", "a"}},
			want:     sdk.Identity{Subject: "7", Username: "bob@example.com", Email: "bob@example.com", Groups: []string{"a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := p.Identity(sdk.Claims{"sub": "7"}, tc.userinfo)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, id); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}
