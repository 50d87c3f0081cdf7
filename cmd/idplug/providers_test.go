package main_test

// End-to-end tests of the vendor providers through the idplug binary,
// against the conformance peer (internal/peer): panva's oidc-provider under
// Node at Keycloak's paths and behind shims with each vendor's documented
// wire behaviour (Auth0, the Cognito device-grant service, Microsoft Entra
// ID, Google, GitHub, Okta, GitLab). Each profile selects its provider by
// TOML alone.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idplug/idplug/internal/peer"
)

// provider is one provider plugin as a test sees it at the peer.
type provider struct {
	name string
	// settings is the profile's [settings] table for peer p.
	settings func(p *peer.Peer) string
	// verification is the page the CLI must send the user to.
	verification func(p *peer.Peer) string
	// polled is the origin that answers device polls; issued the one that
	// issues, refreshes and revokes tokens.
	polled, issued func(p *peer.Peer) string
	// rotates says whether a refresh returns a new refresh token.
	rotates bool
	// secret says whether the profile needs the tenant's client_secret.
	secret bool
	// noRevocation, for a provider without a revocation endpoint, is what
	// logout must say instead: where to revoke by hand.
	noRevocation func(p *peer.Peer) string
	// noIDToken says the provider is not OpenID: no ID token to verify.
	noIDToken bool
	// alice is whoami --json for the peer's alice, mapped from this
	// provider's own claim shapes.
	alice map[string]any
}

var providers = []provider{
	{
		name: "keycloak",
		settings: func(p *peer.Peer) string {
			return fmt.Sprintf("url = %q\nrealm = %q\n", p.Keycloak, p.Realm)
		},
		verification: func(p *peer.Peer) string { return p.Keycloak + "/realms/" + p.Realm + "/device" },
		polled:       func(p *peer.Peer) string { return p.Keycloak },
		issued:       func(p *peer.Peer) string { return p.Keycloak },
		rotates:      true,
		alice: map[string]any{
			"subject": "2c2f7d3c-9b1e-4a55-8d8e-0f6f5c3a1b2d", "username": "alice", "name": "Alice Liddell", "email": "alice@example.com",
			// group paths of the Group Membership mapper, then realm roles
			"groups": []any{"/admins", "/dev", "offline_access", "uma_authorization", "default-roles-idplug", "developer"},
		},
	},
	{
		name: "auth0",
		settings: func(p *peer.Peer) string {
			return fmt.Sprintf("domain = %q\naudience = %q\ngroups_claim = %q\n", p.Auth0, p.Audience, p.GroupsClaim)
		},
		verification: func(p *peer.Peer) string { return p.Auth0 + "/activate" },
		polled:       func(p *peer.Peer) string { return p.Auth0 },
		issued:       func(p *peer.Peer) string { return p.Auth0 },
		rotates:      true,
		alice: map[string]any{
			// no preferred_username at Auth0: the nickname
			"subject": "auth0|2c2f7d3c9b1e4a558d8e0f6f", "username": "alice", "name": "Alice Liddell", "email": "alice@example.com",
			"groups": []any{"admins", "dev"}, // from the namespaced claim groups_claim names
		},
	},
	{
		name: "cognito",
		settings: func(p *peer.Peer) string {
			return fmt.Sprintf("domain = %q\ndevice_endpoint = %q\nregion = \"us-east-1\"\nuser_pool_id = %q\nissuer = %q\n",
				p.Cognito, p.Device, p.UserPoolID, p.Cognito+"/"+p.UserPoolID)
		},
		verification: func(p *peer.Peer) string { return p.Device + "/device" },
		polled:       func(p *peer.Peer) string { return p.Device },
		issued:       func(p *peer.Peer) string { return p.Cognito },
		rotates:      false, // Cognito keeps the refresh token
		alice: map[string]any{
			"subject": "2c2f7d3c-9b1e-4a55-8d8e-0f6f5c3a1b2d", "username": "alice", "name": "Alice Liddell", "email": "alice@example.com",
			"groups": []any{"admins", "dev"}, // cognito:groups
		},
	},
	{
		name: "entra",
		settings: func(p *peer.Peer) string {
			// Any work account: the issuer template filled from each token's tid.
			return fmt.Sprintf("authority = %q\ntenant = \"organizations\"\n", p.Entra)
		},
		verification: func(p *peer.Peer) string { return p.Entra + "/devicelogin" },
		polled:       func(p *peer.Peer) string { return p.Entra },
		issued:       func(p *peer.Peer) string { return p.Entra },
		rotates:      true,
		noRevocation: func(*peer.Peer) string { return "https://myaccount.microsoft.com" },
		alice: map[string]any{
			// oid, not the pairwise sub; the UPN; group object IDs
			"subject": "9d5e7f2a-3c1b-4a6d-8e9f-0b1c2d3e4f5a", "username": "alice@idplug.onmicrosoft.com", "name": "Alice Liddell", "email": "alice@example.com",
			"groups": []any{"a1f3c5e7-1b2d-4c6e-8f0a-2b4d6f8a0c1e", "d2e4f6a8-3c5e-4f7a-9b1c-3d5f7b9d1f2a"},
		},
	},
	{
		name:         "google",
		settings:     func(p *peer.Peer) string { return fmt.Sprintf("issuer = %q\n", p.Google) },
		verification: func(p *peer.Peer) string { return p.Google + "/device" }, // sent as verification_url
		polled:       func(p *peer.Peer) string { return p.GoogleAPIs },
		issued:       func(p *peer.Peer) string { return p.GoogleAPIs },
		rotates:      false, // Google keeps the refresh token
		secret:       true,
		alice: map[string]any{
			"subject": "104857319927340915826", "username": "alice@example.com", "name": "Alice Liddell", "email": "alice@example.com",
			"groups": []any{},
		},
	},
	{
		name: "github",
		settings: func(p *peer.Peer) string {
			return fmt.Sprintf("url = %q\napi_url = %q\n", p.GitHub, p.GitHubAPI)
		},
		verification: func(p *peer.Peer) string { return p.GitHub + "/login/device" },
		polled:       func(p *peer.Peer) string { return p.GitHub },
		issued:       func(p *peer.Peer) string { return p.GitHub },
		rotates:      true, // a GitHub App's expiring user tokens
		noRevocation: func(p *peer.Peer) string { return p.GitHub + "/settings/applications" },
		noIDToken:    true,
		alice: map[string]any{
			// from {api_url}/user on the API's own origin
			"subject": "5830211", "username": "alice", "name": "Alice Liddell", "email": "alice@example.com",
			"groups": []any{},
		},
	},
	{
		name:         "okta",
		settings:     func(p *peer.Peer) string { return fmt.Sprintf("domain = %q\n", p.Okta) }, // the "default" server
		verification: func(p *peer.Peer) string { return p.Okta + "/activate" },
		polled:       func(p *peer.Peer) string { return p.Okta },
		issued:       func(p *peer.Peer) string { return p.Okta },
		rotates:      true,
		alice: map[string]any{
			"subject": "00u1abcd2EFGH3ijk4l5", "username": "alice@example.com", "name": "Alice Liddell", "email": "alice@example.com",
			"groups": []any{"Everyone", "admins", "dev"},
		},
	},
	{
		name:         "gitlab",
		settings:     func(p *peer.Peer) string { return fmt.Sprintf("url = %q\n", p.GitLab) },
		verification: func(p *peer.Peer) string { return p.GitLab + "/oauth/device" },
		polled:       func(p *peer.Peer) string { return p.GitLab },
		issued:       func(p *peer.Peer) string { return p.GitLab },
		rotates:      true,
		alice: map[string]any{
			// username from nickname; every group's full path, from userinfo
			"subject": "1238412", "username": "alice", "name": "Alice Liddell", "email": "alice@example.com",
			"groups": []any{"idplug", "idplug/admins", "idplug/dev"},
		},
	},
}

// profileTOML is one profile of provider pv at peer p.
func profileTOML(profile string, pv provider, p *peer.Peer) string {
	secret := ""
	if pv.secret {
		secret = fmt.Sprintf("client_secret = %q\n", p.Secrets[pv.name])
	}
	return fmt.Sprintf("[profiles.%s]\nprovider = %q\nclient_id = %q\n%s[profiles.%s.settings]\n%s\n",
		profile, pv.name, p.Clients[pv.name], secret, profile, pv.settings(p))
}

// peerEnv is a private world whose config has one profile per provider
// given, the first the default.
func peerEnv(t *testing.T, p *peer.Peer, pvs ...provider) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	text := fmt.Sprintf("default_profile = %q\n[store]\nbackend = \"file\"\ndir = %q\n\n", pvs[0].name, filepath.Join(e.dir, "tokens"))
	for _, pv := range pvs {
		text += profileTOML(pv.name, pv, p)
	}
	e.writeConfig(text)
	return e
}

// TestPluginsListsEveryProvider: the binary, built by go build alone, offers
// every provider of plugins/ as a built-in.
func TestPluginsListsEveryProvider(t *testing.T) {
	dirs, err := filepath.Glob("../../plugins/*/cmd")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no providers under plugins/: %v", err)
	}
	e := &env{t: t, dir: t.TempDir()}
	e.writeConfig("")
	list := e.run("plugins", "list")
	for _, dir := range dirs {
		name := filepath.Base(filepath.Dir(dir))
		if !regexp.MustCompile(`(?m)^` + name + `\s.*\sbuilt-in\s`).MatchString(list.stdout) {
			t.Errorf("plugins list does not show the built-in %s:\n%s", name, list.stdout)
		}
	}
}

func tokenFiles(t *testing.T, e *env) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(e.dir, "tokens", "*.json"))
	return files
}

func approve(t *testing.T, uri, code string) {
	t.Helper()
	if err := peer.Approve(uri, code, peer.Alice); err != nil {
		t.Error(err)
	}
}

func stats(t *testing.T, origin string) peer.Stats {
	t.Helper()
	s, err := peer.StatsOf(origin)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func active(t *testing.T, origin, token string) bool {
	t.Helper()
	ok, err := peer.Active(origin, token)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// whoami runs whoami --json and returns the fields the plugin maps.
func whoami(t *testing.T, e *env, args ...string) map[string]any {
	t.Helper()
	r := e.run(append([]string{"whoami", "--json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("whoami: exit %d: %s", r.code, r.stderr)
	}
	var id map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestProviders(t *testing.T) {
	// The CLI refreshes 10 s before expiry: 12 s tokens are due 2 s after
	// login.
	live := peer.Start(t, peer.Options{AccessTokenTTL: 12 * time.Second})
	// Device codes that die after 2 s while devices are told 60 s, so that
	// the CLI meets the provider's own expired_token.
	short := peer.Start(t, peer.Options{DeviceCodeTTL: 2 * time.Second, AdvertisedExpiresIn: time.Minute})
	// A peer of its own whose tenants tamper with every ID token once a test
	// asks, with device codes that live long enough for a loaded machine.
	broken := peer.Start(t, peer.Options{})

	for _, pv := range providers {
		t.Run(pv.name, func(t *testing.T) {
			t.Parallel()
			t.Run("login token whoami refresh logout", func(t *testing.T) { testLifecycle(t, pv, live) })
			t.Run("denied", func(t *testing.T) { testDenied(t, pv, live) })
			t.Run("slow_down", func(t *testing.T) { testSlowDown(t, pv, live) })
			t.Run("expired", func(t *testing.T) { testExpired(t, pv, short) })
			if !pv.noIDToken {
				t.Run("ID token failing verification", func(t *testing.T) { testUnverifiableIDToken(t, pv, broken) })
			}
		})
	}
}

func testLifecycle(t *testing.T, pv provider, p *peer.Peer) {
	e := peerEnv(t, p, pv)
	r, events := e.login(func(code string) { approve(t, pv.verification(p), code) })
	if r.code != 0 {
		t.Fatalf("login: exit %d: %s", r.code, r.stderr)
	}
	if v := events[0]; v["verification_uri"] != pv.verification(p) || v["interval"] != 1.0 {
		t.Errorf("verification event %v: want the provider's page and the interval it sent", v)
	}
	if k := kinds(events); k[len(k)-1] != "authorized" {
		t.Fatalf("login events %v", k)
	}

	first := e.run("token")
	if first.code != 0 || strings.TrimSpace(first.stdout) == "" {
		t.Fatalf("token: exit %d: %s", first.code, first.stderr)
	}
	before := readBundle(t, filepath.Join(e.dir, "tokens"))
	if !active(t, pv.issued(p), before.RefreshToken) {
		t.Fatal("the stored refresh token is unknown at the IdP")
	}
	id := whoami(t, e)
	for k, want := range pv.alice {
		if !cmp.Equal(id[k], want) {
			t.Errorf("whoami %s = %v, want %v", k, id[k], want)
		}
	}
	if id["provider"] != pv.name || id["profile"] != pv.name || id["expires_at"] == nil {
		t.Errorf("whoami provider %v profile %v expires_at %v", id["provider"], id["profile"], id["expires_at"])
	}

	refreshes := stats(t, pv.issued(p)).Refreshes
	time.Sleep(2500 * time.Millisecond)
	second := e.run("token")
	if second.code != 0 || second.stdout == first.stdout {
		t.Fatalf("token after expiry: exit %d, same token %v: %s", second.code, second.stdout == first.stdout, second.stderr)
	}
	if n := stats(t, pv.issued(p)).Refreshes - refreshes; n != 1 {
		t.Errorf("the IdP saw %d refreshes, want 1", n)
	}
	after := readBundle(t, filepath.Join(e.dir, "tokens"))
	if rotated := after.RefreshToken != before.RefreshToken; rotated != pv.rotates {
		t.Errorf("refresh token rotated: %v, want %v", rotated, pv.rotates)
	}
	if id := whoami(t, e); id["username"] != pv.alice["username"] {
		t.Errorf("whoami after refresh: %v", id)
	}

	out := e.run("logout")
	if pv.noRevocation != nil {
		// Deleted here, and the user told where to revoke by hand.
		if hint := pv.noRevocation(p); out.code != 0 || !strings.Contains(out.stderr, "not revoked") || !strings.Contains(out.stderr, hint) {
			t.Fatalf("logout: exit %d, want 0 saying the tokens were not revoked and naming %s: %s", out.code, hint, out.stderr)
		}
		if n := stats(t, pv.issued(p)).Revocations; n != 0 {
			t.Errorf("the IdP saw %d revocation requests", n)
		}
	} else {
		if out.code != 0 || !strings.Contains(out.stderr, "revoked at the identity provider") {
			t.Fatalf("logout: exit %d: %s", out.code, out.stderr)
		}
		if active(t, pv.issued(p), after.RefreshToken) || active(t, pv.issued(p), after.AccessToken) {
			t.Error("the tokens are still active at the IdP after logout")
		}
	}
	if files := tokenFiles(t, e); len(files) != 0 {
		t.Errorf("logout left %v", files)
	}
	if r := e.run("token"); r.code != 3 {
		t.Errorf("token after logout: exit %d, want 3", r.code)
	}
}

func testDenied(t *testing.T, pv provider, p *peer.Peer) {
	e := peerEnv(t, p, pv)
	r, events := e.login(func(code string) {
		if err := peer.Deny(pv.verification(p), code); err != nil {
			t.Error(err)
		}
	})
	if r.code != 4 {
		t.Fatalf("login denied: exit %d, want 4: %s", r.code, r.stderr)
	}
	if last := events[len(events)-1]; last["error"] != "access_denied" {
		t.Errorf("last event %v, want access_denied", last)
	}
	if files := tokenFiles(t, e); len(files) != 0 {
		t.Errorf("a denied login stored %v", files)
	}
}

func testSlowDown(t *testing.T, pv provider, p *peer.Peer) {
	e := peerEnv(t, p, pv)
	if err := peer.SlowDown(pv.polled(p), 1); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// Approve after the first poll (at 1 s), which the IdP answers slow_down.
	r, events := e.login(func(code string) {
		go func() { time.Sleep(1500 * time.Millisecond); approve(t, pv.verification(p), code) }()
	})
	if r.code != 0 {
		t.Fatalf("login: exit %d: %s", r.code, r.stderr)
	}
	if !slices.Contains(kinds(events), "slow_down") {
		t.Errorf("events %v lack slow_down", kinds(events))
	}
	if took := time.Since(start); took < 6*time.Second {
		t.Errorf("login took %s: the 1 s interval was not raised by 5 s after slow_down", took)
	}
}

func testExpired(t *testing.T, pv provider, p *peer.Peer) {
	e := peerEnv(t, p, pv)
	start := time.Now()
	r, events := e.login(nil)
	if r.code != 5 || !strings.Contains(r.stderr, "login") {
		t.Fatalf("login never approved: exit %d, want 5 with a hint: %s", r.code, r.stderr)
	}
	// The device was told 60 s: only the IdP's expired_token ends it early.
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("login took %s: the provider's expired_token was not taken as expiry", took)
	}
	if last := events[len(events)-1]; last["error"] != "expired_token" {
		t.Errorf("last event %v, want expired_token", last)
	}
}

func testUnverifiableIDToken(t *testing.T, pv provider, p *peer.Peer) {
	if err := peer.BreakIDTokens(pv.issued(p)); err != nil {
		t.Fatal(err)
	}
	e := peerEnv(t, p, pv)
	r, _ := e.login(func(code string) { approve(t, pv.verification(p), code) })
	if r.code == 0 || !strings.Contains(r.stderr, "failed verification") {
		t.Fatalf("login with a tampered ID token: exit %d: %s", r.code, r.stderr)
	}
	if files := tokenFiles(t, e); len(files) != 0 {
		t.Errorf("a login whose ID token failed verification stored %v", files)
	}
}

// TestOneConfigEveryProvider switches IdPs by profile only: one file, one
// profile per provider, each logged in and mapped by its own plugin.
func TestOneConfigEveryProvider(t *testing.T) {
	t.Parallel()
	p := peer.Start(t, peer.Options{})
	e := peerEnv(t, p, providers...)
	for _, pv := range providers {
		if r, _ := e.login(func(code string) { approve(t, pv.verification(p), code) }, "--profile", pv.name); r.code != 0 {
			t.Fatalf("login --profile %s: exit %d: %s", pv.name, r.code, r.stderr)
		}
	}
	for _, pv := range providers {
		id := whoami(t, e, "--profile", pv.name)
		if id["provider"] != pv.name || id["subject"] != pv.alice["subject"] || !cmp.Equal(id["groups"], pv.alice["groups"]) {
			t.Errorf("whoami --profile %s: %v", pv.name, id)
		}
	}
	var status []map[string]any
	if err := json.Unmarshal([]byte(e.run("status", "--json").stdout), &status); err != nil {
		t.Fatal(err)
	}
	for _, st := range status {
		if st["logged_in"] != true || st["provider"] != st["profile"] {
			t.Errorf("status %v", st)
		}
	}
	if len(status) != len(providers) {
		t.Errorf("status lists %d profiles, want %d", len(status), len(providers))
	}

	// An audience the tenant does not know is a setting to fix, not a denial.
	e.writeConfig(strings.Replace(string(must(os.ReadFile(e.config))), p.Audience, "https://api.unknown.test", 1))
	r, _ := e.login(nil, "--profile", "auth0")
	if r.code != 1 || !strings.Contains(r.stderr, "audience setting") || !strings.Contains(r.stderr, "https://api.unknown.test") {
		t.Errorf("login with an unknown audience: exit %d, want 1 naming the audience setting: %s", r.code, r.stderr)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestProviderSettings checks plugins info and configuration errors, which
// name the setting and the fix, without any IdP.
func TestProviderSettings(t *testing.T) {
	e := &env{t: t, dir: t.TempDir()}
	e.writeConfig("")
	for name, settings := range map[string][]string{
		"keycloak": {"url", "realm", "base URL"},
		"auth0":    {"domain", "audience", "groups_claim", "namespaced"},
		"cognito":  {"domain", "device_endpoint", "region", "user_pool_id", "issuer", "cognito-idp.<region>.amazonaws.com"},
		"entra":    {"tenant", "authority", "organizations", "https://login.microsoftonline.com", "myaccount.microsoft.com"},
		"google":   {"issuer", "https://accounts.google.com", "client_secret"},
		"github":   {"url", "api_url", "https://github.com", "/api/v3", "github.com/settings/applications"},
		"okta":     {"domain", "authorization_server", "default", "org authorization server"},
		"gitlab":   {"url", "https://gitlab.com"},
	} {
		info := e.run("plugins", "info", name)
		for _, s := range settings {
			if info.code != 0 || !strings.Contains(info.stdout, s) {
				t.Errorf("plugins info %s: exit %d, lacks %q:\n%s%s", name, info.code, s, info.stdout, info.stderr)
			}
		}
	}

	for _, tc := range []struct {
		name, provider, settings string
		want                     []string
	}{
		{"keycloak realm inside url", "keycloak", "url = \"https://kc.example.com/realms/corp\"\nrealm = \"corp\"\n",
			[]string{"config.toml:5", "url", `write url = "https://kc.example.com" and realm = "corp"`}},
		{"keycloak without realm", "keycloak", "url = \"https://kc.example.com\"\n", []string{"realm", "requires this setting"}},
		{"auth0 domain with a path", "auth0", "domain = \"https://example.us.auth0.com/authorize\"\n",
			[]string{"config.toml:5", "domain", "must not have a path"}},
		{"cognito region of another pool", "cognito",
			"domain = \"https://auth.example.com\"\ndevice_endpoint = \"https://device.example.com\"\nregion = \"eu-west-1\"\nuser_pool_id = \"us-east-1_Example\"\n",
			[]string{"config.toml:7", "region", `set region = "us-east-1"`}},
		{"entra tenant as a URL", "entra", "tenant = \"https://login.microsoftonline.com/contoso.onmicrosoft.com\"\n",
			[]string{"config.toml:5", "tenant", `authority = "https://login.microsoftonline.com" and tenant = "contoso.onmicrosoft.com"`}},
		{"google without client_secret", "google", "",
			[]string{"config.toml:1", "profiles.p:", "client_secret", "Google Cloud console"}},
		{"okta issuer as domain", "okta", "domain = \"https://example.okta.com/oauth2/default\"\n",
			[]string{"config.toml:5", "domain", `domain = "https://example.okta.com" and authorization_server = "default"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.writeConfig(fmt.Sprintf("[profiles.p]\nprovider = %q\nclient_id = \"cli\"\n[profiles.p.settings]\n%s", tc.provider, tc.settings))
			r := e.run("login", "--no-browser")
			if r.code != 2 {
				t.Fatalf("exit %d, want 2: %s", r.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q lacks %q", r.stderr, w)
				}
			}
		})
	}
}

// TestProviderVariants covers the shapes of a provider that the lifecycle
// table does not: an Entra tenant named by its domain, and ID tokens whose
// tid is not the tenant of their issuer; Okta's org authorization server; a
// GitHub OAuth App's token, which never expires; a Keycloak client that
// requires PKCE, with and without it.
func TestProviderVariants(t *testing.T) {
	t.Parallel()
	p := peer.Start(t, peer.Options{AccessTokenTTL: 12 * time.Second}) // due for a refresh 2 s after login
	byName := map[string]provider{}
	for _, pv := range providers {
		byName[pv.name] = pv
	}
	variant := func(pv provider, settings, extra string) *env {
		e := &env{t: t, dir: t.TempDir()}
		pv.settings = func(*peer.Peer) string { return settings }
		text := profileTOML(pv.name, pv, p)
		text = strings.Replace(text, "[profiles."+pv.name+".settings]", extra+"[profiles."+pv.name+".settings]", 1)
		e.writeConfig(fmt.Sprintf("[store]\nbackend = \"file\"\ndir = %q\n\n%s", filepath.Join(e.dir, "tokens"), text))
		return e
	}
	login := func(t *testing.T, e *env, pv provider, verification string) result {
		t.Helper()
		r, _ := e.login(func(code string) { approve(t, verification, code) }, "--profile", pv.name)
		return r
	}

	t.Run("entra tenant by domain", func(t *testing.T) {
		t.Parallel()
		pv := byName["entra"]
		e := variant(pv, fmt.Sprintf("authority = %q\ntenant = %q\n", p.Entra, p.EntraDomain), "")
		if r := login(t, e, pv, p.Entra+"/devicelogin"); r.code != 0 {
			t.Fatalf("login: exit %d: %s", r.code, r.stderr)
		}
		if id := whoami(t, e, "--profile", pv.name); id["subject"] != pv.alice["subject"] {
			t.Errorf("whoami: %v", id)
		}
	})
	for _, tenant := range []string{"organizations", p.EntraDomain} {
		t.Run("entra token of another tenant, tenant "+tenant, func(t *testing.T) {
			pv := byName["entra"]
			e := variant(pv, fmt.Sprintf("authority = %q\ntenant = %q\n", p.Entra, tenant), "")
			if err := peer.ForeignTenant(p.Entra, 1); err != nil {
				t.Fatal(err)
			}
			r := login(t, e, pv, p.Entra+"/devicelogin")
			if r.code == 0 || !strings.Contains(r.stderr, "failed verification") || !strings.Contains(r.stderr, p.EntraOtherTenant) {
				t.Fatalf("login with a token whose tid is not its issuer's tenant: exit %d: %s", r.code, r.stderr)
			}
			if files := tokenFiles(t, e); len(files) != 0 {
				t.Errorf("stored %v", files)
			}
		})
	}
	t.Run("okta org authorization server", func(t *testing.T) {
		t.Parallel()
		pv := byName["okta"]
		e := variant(pv, fmt.Sprintf("domain = %q\nauthorization_server = \"\"\n", p.Okta), "")
		if r := login(t, e, pv, p.Okta+"/activate"); r.code != 0 {
			t.Fatalf("login: exit %d: %s", r.code, r.stderr)
		}
		id := whoami(t, e, "--profile", pv.name)
		if id["subject"] != pv.alice["subject"] || id["username"] != "alice@example.com" {
			t.Errorf("whoami: %v", id)
		}
		if r := e.run("token", "--profile", pv.name); r.code != 0 {
			t.Errorf("token: exit %d: %s", r.code, r.stderr)
		}
	})
	t.Run("github OAuth App token that never expires", func(t *testing.T) {
		t.Parallel()
		pv := byName["github"]
		e := variant(pv, fmt.Sprintf("url = %q\napi_url = %q\n", p.GitHub, p.GitHubAPI), "")
		e.writeConfig(strings.Replace(string(must(os.ReadFile(e.config))), p.Clients["github"], p.Clients["github-oauth-app"], 1))
		if r := login(t, e, pv, p.GitHub+"/login/device"); r.code != 0 {
			t.Fatalf("login: exit %d: %s", r.code, r.stderr)
		}
		b := readBundle(t, filepath.Join(e.dir, "tokens"))
		if !strings.HasPrefix(b.AccessToken, "gho_") || b.RefreshToken != "" {
			t.Fatalf("stored an access token %.4s… and a refresh token %v; want an OAuth App's gho_ token alone", b.AccessToken, b.RefreshToken != "")
		}
		refreshes := stats(t, p.GitHub).Refreshes
		// A GitHub App's 12 s token would be due for a refresh now.
		time.Sleep(2500 * time.Millisecond)
		for range 2 {
			if r := e.run("token", "--profile", pv.name); r.code != 0 || strings.TrimSpace(r.stdout) != b.AccessToken {
				t.Fatalf("token: exit %d, not the stored token: %s", r.code, r.stderr)
			}
		}
		if id := whoami(t, e, "--profile", pv.name); id["username"] != "alice" || id["expires_at"] != nil {
			t.Errorf("whoami %v: want alice, no expiry", id)
		}
		if n := stats(t, p.GitHub).Refreshes - refreshes; n != 0 {
			t.Errorf("a token that never expires was refreshed %d times", n)
		}
	})
	t.Run("keycloak client requiring PKCE", func(t *testing.T) {
		t.Parallel()
		pv := byName["keycloak"]
		settings := fmt.Sprintf("url = %q\nrealm = %q\n", p.Keycloak, p.Realm)
		e := variant(pv, settings, "")
		e.writeConfig(strings.Replace(string(must(os.ReadFile(e.config))), p.Clients["keycloak"], p.Clients["keycloak-pkce"], 1))
		verification := p.Keycloak + "/realms/" + p.Realm + "/device"
		if r := login(t, e, pv, verification); r.code != 0 {
			t.Fatalf("login with PKCE (the default): exit %d: %s", r.code, r.stderr)
		}
		off := variant(pv, settings, "pkce = false\n")
		off.writeConfig(strings.Replace(string(must(os.ReadFile(off.config))), p.Clients["keycloak"], p.Clients["keycloak-pkce"], 1))
		r, _ := off.login(nil, "--profile", pv.name)
		if r.code != 1 || !strings.Contains(r.stderr, "code_challenge") || !strings.Contains(r.stderr, "remove pkce = false") {
			t.Errorf("login with pkce = false: exit %d, want 1 saying the client requires PKCE: %s", r.code, r.stderr)
		}
	})
}
