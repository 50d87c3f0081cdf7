package oidc

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idplug/idplug/sdk"
	"github.com/idplug/idplug/sdk/sdktest"
)

func TestDescribe(t *testing.T) {
	info, err := sdktest.New(Provider{}).Describe()
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "oidc" || info.ContractVersion != sdk.ContractVersion || len(info.Hooks) != 0 {
		t.Errorf("describe = %+v", info)
	}
	if len(info.Settings) != 1 || info.Settings[0].Name != "issuer" || !info.Settings[0].Required {
		t.Errorf("settings = %+v, want one required issuer", info.Settings)
	}
}

func TestConfigure(t *testing.T) {
	p := sdktest.New(Provider{})
	for _, tc := range []struct {
		name     string
		settings map[string]string
		secret   string
		want     *sdk.ProviderSpec
		wantErr  string
	}{
		{
			name:     "https issuer, public client",
			settings: map[string]string{"issuer": "https://idp.example.com/realms/x"},
			want: &sdk.ProviderSpec{
				Issuer:        "https://idp.example.com/realms/x",
				DiscoveryURL:  "https://idp.example.com/realms/x/.well-known/openid-configuration",
				AuthStyle:     "",
				DefaultScopes: []string{"openid", "profile", "email", "offline_access"},
				ExtraParams:   []sdk.Param{},
			},
		},
		{
			name:     "trailing slash kept in the issuer, not doubled in discovery",
			settings: map[string]string{"issuer": "https://tenant.example.com/"},
			secret:   "s3cret",
			want: &sdk.ProviderSpec{
				Issuer:        "https://tenant.example.com/",
				DiscoveryURL:  "https://tenant.example.com/.well-known/openid-configuration",
				AuthStyle:     "",
				DefaultScopes: []string{"openid", "profile", "email", "offline_access"},
				ExtraParams:   []sdk.Param{},
			},
		},
		{name: "loopback http", settings: map[string]string{"issuer": "http://127.0.0.1:8765"}, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, errs, err := p.Configure(tc.settings, sdk.Client{ClientID: "cli", ClientSecret: tc.secret})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" {
				if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.wantErr) {
					t.Fatalf("errors %v, want one containing %q", errs, tc.wantErr)
				}
				return
			}
			if len(errs) > 0 || spec == nil {
				t.Fatalf("errors %v", errs)
			}
			if tc.want != nil {
				if diff := cmp.Diff(tc.want, spec); diff != "" {
					t.Errorf("spec (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestIdentityFromStandardClaims(t *testing.T) {
	// Claim shapes as the demo IdP and most OpenID providers emit them.
	id, err := sdktest.New(Provider{}).Identity(
		sdk.Claims{"sub": "u-1", "preferred_username": "alice", "email": "alice@example.com", "groups": []any{"admins", "dev"}},
		sdk.Claims{"sub": "u-1", "name": "Alice Liddell"},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.Identity{Subject: "u-1", Username: "alice", Name: "Alice Liddell", Email: "alice@example.com", Groups: []string{"admins", "dev"}}
	if diff := cmp.Diff(want, id); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}
}

// recorded is testdata/oidc.json: the standards' example shapes (see its
// "source").
type recorded struct {
	Issuer              string             `json:"issuer"`
	DeviceAuthorization sdktest.Recorded   `json:"device_authorization"`
	TokenPoll           []sdktest.Recorded `json:"token_poll"`
	Discovery           sdktest.Recorded   `json:"discovery"`
	IDTokenClaims       sdk.Claims         `json:"id_token_claims"`
	Userinfo            sdk.Claims         `json:"userinfo"`
	Identity            sdk.Identity       `json:"identity"`
}

// TestRecordedShapes: the standard shapes need no hook (the host reads
// them as they are), the configured discovery URL is where the recorded
// document lives, and the standard claims map to the recorded identity.
func TestRecordedShapes(t *testing.T) {
	var r recorded
	sdktest.Load(t, "testdata/oidc.json", &r)
	p := sdktest.New(Provider{})
	spec, errs, err := p.Configure(map[string]string{"issuer": r.Issuer}, sdk.Client{ClientID: "cli"})
	if err != nil || len(errs) > 0 {
		t.Fatal(err, errs)
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(r.Discovery.Body, &doc); err != nil || doc.Issuer != spec.Issuer || spec.DiscoveryURL != r.Issuer+"/.well-known/openid-configuration" {
		t.Errorf("spec %+v does not match the recorded discovery document (issuer %q): %v", spec, doc.Issuer, err)
	}
	if info, _ := p.Describe(); len(info.Hooks) != 0 {
		t.Errorf("hooks %v: the standard shapes need none", info.Hooks)
	}
	id, err := p.Identity(r.IDTokenClaims, r.Userinfo)
	if err != nil || !cmp.Equal(id, r.Identity) {
		t.Errorf("identity = %+v, %v; want %+v", id, err, r.Identity)
	}
}
