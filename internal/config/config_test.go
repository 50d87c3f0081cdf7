package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const validProfile = "[profiles.work]\nprovider = \"oidc\"\nclient_id = \"cli\"\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want []string
	}{
		{
			name: "syntax",
			toml: "default_profile = \n",
			want: []string{`c.toml:1:19: invalid TOML: expected value but found '\n' instead`},
		},
		{
			name: "syntax error hides a secret",
			toml: "[profiles.w]\nclient_secret = s3cr3t\n",
			want: []string{`c.toml:2:17: invalid TOML: expected value but found "…" instead`},
		},
		{
			name: "unknown keys",
			toml: "profile = 1\n" + validProfile + "clientid = 1\nfoo = 2\n[store]\nbakend = \"file\"\n[plugins.p]\nwasm = \"p.wasm\"\nsha = \"x\"\n",
			want: []string{
				`c.toml:1: profile: unknown key (did you mean "profiles"?)`,
				`c.toml:5: profiles.work.clientid: unknown key (did you mean "client_id"?)`,
				`c.toml:6: profiles.work.foo: unknown key; the keys here are: provider, client_id, client_secret, scopes, pkce, settings, git_hosts, git_username`,
				`c.toml:8: store.bakend: unknown key (did you mean "backend"?)`,
				`c.toml:11: plugins.p.sha: unknown key; the keys here are: wasm, command, sha256`,
			},
		},
		{
			name: "wrong types",
			toml: "default_profile = 1\n[profiles.work]\nprovider = true\nclient_id = 42\nclient_secret = 7\nscopes = \"openid\"\nsettings = \"x\"\n[store]\ndir = []\n",
			want: []string{
				`c.toml:1: default_profile: must be a string in quotes, such as default_profile = "…", not an integer`,
				`c.toml:3: profiles.work.provider: must be a string in quotes, such as provider = "…", not a boolean`,
				`c.toml:4: profiles.work.client_id: must be a string in quotes, such as client_id = "…", not an integer`,
				`c.toml:5: profiles.work.client_secret: must be a string in quotes, such as client_secret = "…", not an integer`,
				`c.toml:6: profiles.work.scopes: must be a list of strings, such as ["openid", "profile"], not a string`,
				`c.toml:7: profiles.work.settings: must be a table, not a string: write [profiles.work.settings] followed by key = value lines`,
				`c.toml:9: store.dir: must be a string in quotes, such as dir = "…", not an array`,
			},
		},
		{
			name: "tables of the wrong type",
			toml: "store = 1\nplugins = [1]\n[[profiles]]\n",
			want: []string{
				`c.toml:1: store: must be a table, not an integer: write [store] followed by backend = "auto"`,
				`c.toml:2: plugins: must be a table, not an array: write [plugins.NAME] tables`,
				`c.toml:3: profiles: must be a table, not an array of tables: write [profiles.NAME] tables`,
			},
		},
		{
			name: "profile and plugin not tables",
			toml: "[profiles]\nwork = \"x\"\n[plugins]\np = 1\n",
			want: []string{
				`c.toml:2: profiles.work: must be a table, not a string: write [profiles.work] followed by provider = … and client_id = … lines`,
				`c.toml:4: plugins.p: must be a table, not an integer: write [plugins.p] followed by wasm = "path/to/plugin.wasm"`,
			},
		},
		{
			name: "bad scopes",
			toml: validProfile + "scopes = [\n  \"openid\",\n  2,\n]\n[profiles.b]\nprovider = \"x\"\nclient_id = \"y\"\nscopes = [\"open id\", \"\"]\n",
			want: []string{
				`c.toml:4: profiles.work.scopes: must be a list of strings, such as ["openid", "profile"]; it contains an integer`,
				`c.toml:11: profiles.b.scopes: "open id" is not a scope: scopes are not empty and have no spaces, quotes or backslashes; write each scope as its own string`,
				`c.toml:11: profiles.b.scopes: "" is not a scope: scopes are not empty and have no spaces, quotes or backslashes; write each scope as its own string`,
			},
		},
		{
			name: "missing provider and client_id",
			toml: "\n[profiles.work]\nscopes = []\n",
			want: []string{
				`c.toml:2: profiles.work.provider: missing; add provider = "NAME", a built-in provider or a key of [plugins]`,
				`c.toml:2: profiles.work.client_id: missing; add client_id = "…", the client ID registered at the identity provider`,
			},
		},
		{
			name: "implicit profile table takes its first key's line",
			toml: "# settings only\n\n[profiles.work.settings]\nrealm = \"r\"\n",
			want: []string{
				`c.toml:3: profiles.work.provider: missing; add provider = "NAME", a built-in provider or a key of [plugins]`,
				`c.toml:3: profiles.work.client_id: missing; add client_id = "…", the client ID registered at the identity provider`,
			},
		},
		{
			name: "dotted and inline tables",
			toml: "\nprofiles.a.provider = \"x\"\n[profiles]\nb = { provider = \"Y\", client_id = \"c\" }\n",
			want: []string{
				`c.toml:2: profiles.a.client_id: missing; add client_id = "…", the client ID registered at the identity provider`,
				`c.toml:4: profiles.b.provider: "Y" is not a provider name: use a built-in provider or a key of [plugins] (lowercase letters, digits and "-")`,
			},
		},
		{
			name: "empty values",
			toml: "[profiles.\"\"]\nprovider = \"x\"\nclient_id = \"\"\n[plugins.p]\nwasm = \"\"\n",
			want: []string{
				`c.toml:1: profiles."": a profile needs a name: write [profiles.NAME]`,
				`c.toml:3: profiles."".client_id: must not be empty; set the client ID registered at the identity provider`,
				`c.toml:5: plugins.p.wasm: must not be empty; give the path of the plugin file`,
			},
		},
		{
			name: "bad provider name",
			toml: "[profiles.work]\nprovider = \"Key Cloak\"\nclient_id = \"c\"\n",
			want: []string{
				`c.toml:2: profiles.work.provider: "Key Cloak" is not a provider name: use a built-in provider or a key of [plugins] (lowercase letters, digits and "-")`,
			},
		},
		{
			name: "default_profile names a missing profile",
			toml: "default_profile = \"wrok\"\n" + validProfile,
			want: []string{`c.toml:1: default_profile: there is no profile "wrok" (did you mean "work"?); define [profiles.wrok] or name one of: work`},
		},
		{
			name: "default_profile without profiles",
			toml: "default_profile = \"my work\"\n",
			want: []string{`c.toml:1: default_profile: there is no profile "my work"; define [profiles."my work"]`},
		},
		{
			name: "store backend",
			toml: "[store]\nbackend = \"files\"\n",
			want: []string{`c.toml:2: store.backend: must be "auto", "keyring" or "file", not "files" (did you mean "file"?)`},
		},
		{
			name: "plugins",
			toml: "[plugins.both]\nwasm = \"a.wasm\"\ncommand = \"a\"\n\n[plugins.neither]\nsha256 = \"" + strings.Repeat("A", 64) + "\"\n\n[plugins.Acme]\ncommand = \"/bin/acme\"\n",
			want: []string{
				`c.toml:1: plugins.both: sets both wasm and command; keep exactly one`,
				`c.toml:5: plugins.neither: needs wasm = "path/to/plugin.wasm" or command = "path/to/executable"`,
				"c.toml:6: plugins.neither.sha256: must be 64 lowercase hexadecimal digits, as printed by `sha256sum FILE`",
				`c.toml:8: plugins.Acme: plugin names have only lowercase letters, digits and "-"; rename the table and the providers that use it`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("c.toml", []byte(tt.toml))
			if c != nil {
				t.Errorf("Parse returned a config with errors")
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse error = %v (%T), want Errors", err, err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error reveals the client secret: %v", err)
			}
		})
	}
}

func TestParseDesignExample(t *testing.T) {
	const file = "testdata/design.toml"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(file, data)
	if err != nil {
		t.Fatal(err)
	}
	at := func(line int) Position { return Position{File: file, Line: line} }
	str := func(line int, s string) Value { return Value{Raw: s, Pos: at(line)} }
	want := &Config{
		Path:           file,
		DefaultProfile: "work",
		Store:          Store{Backend: BackendAuto},
		Profiles: map[string]*Profile{
			"work": {
				Name: "work", Provider: "keycloak", ClientID: "my-cli-tool",
				Scopes: []string{"openid", "profile", "email", "offline_access"},
				Settings: map[string]Value{
					"url":   str(13, "https://keycloak.example.com"),
					"realm": str(14, "my-realm"),
				},
				Pos: at(8),
			},
			"personal": {
				Name: "personal", Provider: "auth0", ClientID: "abc123",
				Settings: map[string]Value{
					"domain":   str(20, "example.us.auth0.com"),
					"audience": str(21, "https://api.example.com"),
				},
				Pos: at(16),
			},
			"aws": {
				Name: "aws", Provider: "cognito", ClientID: "1example23456789",
				Settings: map[string]Value{
					"domain":          str(27, "https://auth.example.com"),
					"device_endpoint": str(28, "https://device.example.com"),
					"region":          str(29, "us-east-1"),
					"user_pool_id":    str(30, "us-east-1_Example"),
				},
				Pos: at(23),
			},
			"any": {
				Name: "any", Provider: "oidc", ClientID: "cli",
				Settings: map[string]Value{"issuer": str(37, "https://idp.example.com")},
				Pos:      at(33),
			},
		},
		Plugins: map[string]*Plugin{
			"acme": {
				Name:   "acme",
				Wasm:   filepath.Join("testdata", "plugins", "acme.wasm"),
				SHA256: strings.Repeat("0123456789abcdef", 4),
				Pos:    at(39),
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse(%s) (-want +got):\n%s", file, diff)
	}
}

func TestParseValues(t *testing.T) {
	c, err := Parse("c.toml", []byte(`
[store]
backend = "file"
dir = "tokens"

[profiles.x]
provider = "acme"
client_id = "id"
client_secret = "s3cr3t"
scopes = []
settings = { n = 3, b = true, when = 2024-01-02T03:04:05Z, list = [1, "a"] }

[plugins.acme]
command = "/usr/bin/acme"
`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Store{Backend: BackendFile, Dir: "tokens"}); c.Store != want {
		t.Errorf("Store = %+v, want %+v", c.Store, want)
	}
	p := c.Profiles["x"]
	if p.ClientSecret != "s3cr3t" || p.Scopes == nil || len(p.Scopes) != 0 {
		t.Errorf("ClientSecret, Scopes = %q, %#v; want s3cr3t, empty non-nil", string(p.ClientSecret), p.Scopes)
	}
	for key, typ := range map[string]string{"n": "integer", "b": "boolean", "when": "datetime", "list": "array"} {
		v, ok := p.Setting(key)
		if !ok || v.Type() != typ || v.Pos.Line != 11 {
			t.Errorf("Setting(%q) = %+v, %v; want a %s at line 11", key, v, ok, typ)
		}
	}
	if got := c.Plugins["acme"].Command; got != "/usr/bin/acme" {
		t.Errorf("Command = %q", got)
	}
	if s := fmt.Sprintf("%v %+v %#v", p, *p, p); strings.Contains(s, "s3cr3t") {
		t.Errorf("formatting a profile reveals its secret: %s", s)
	}
}

func TestSettingError(t *testing.T) {
	c, err := Parse("c.toml", []byte(validProfile+"[profiles.work.settings]\nrealm = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Profiles["work"]
	for key, want := range map[string]string{
		"realm":   "c.toml:5: profiles.work.settings.realm: must be a string",
		"issuer":  "c.toml:1: profiles.work.settings.issuer: must be a string",
		"a.b url": `c.toml:1: profiles.work.settings."a.b url": must be a string`,
		"":        "c.toml:1: profiles.work: must be a string", // the profile as a whole
	} {
		if got := p.SettingError(key, "must be a string").Error(); got != want {
			t.Errorf("SettingError(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte("[store]\ndir = \"state\"\n[plugins.p]\nwasm = \"p.wasm\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	c, err := Load("idplug", "config.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != "config.toml" || c.Plugins["p"].Wasm != filepath.Join(dir, "p.wasm") || c.Store.Dir != filepath.Join(dir, "state") {
		t.Errorf("Load = Path %q, Wasm %q, Dir %q; want relative paths resolved against %s", c.Path, c.Plugins["p"].Wasm, c.Store.Dir, dir)
	}

	_, err = Load("idplug", filepath.Join(dir, "missing.toml"), nil)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "[profiles.work]") {
		t.Errorf("Load(missing) = %v; want fs.ErrNotExist with an example", err)
	}
	t.Setenv("HOME", "") // no home directory: no file can be located
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("IDPLUG_CONFIG", "")
	if _, err := Load("idplug", "", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(\"\") = %v; want fs.ErrNotExist", err)
	}
}

func TestProfile(t *testing.T) {
	one := &Profile{Name: "one"}
	two := &Profile{Name: "two"}
	tests := []struct {
		name, lookup string
		config       Config
		want         *Profile
		wantErr      string
	}{
		{"by name", "two", Config{Profiles: map[string]*Profile{"one": one, "two": two}}, two, ""},
		{"default", "", Config{DefaultProfile: "two", Profiles: map[string]*Profile{"one": one, "two": two}}, two, ""},
		{"only one", "", Config{Profiles: map[string]*Profile{"one": one}}, one, ""},
		{"ambiguous", "", Config{Path: "c.toml", Profiles: map[string]*Profile{"one": one, "two": two}}, nil,
			"unknown profile: several profiles (one, two) and no default_profile in c.toml: choose one with --profile or set default_profile"},
		{"unknown", "tow", Config{Path: "c.toml", Profiles: map[string]*Profile{"one": one, "two": two}}, nil,
			`unknown profile: no profile "tow" in c.toml (did you mean "two"?); the profiles are: one, two`},
		{"none", "", Config{Path: "c.toml"}, nil, "unknown profile: c.toml defines no profiles; add a [profiles.NAME] table such as:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.config.Profile(tt.lookup)
			if got != tt.want {
				t.Errorf("Profile(%q) = %v, want %v", tt.lookup, got, tt.want)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Profile(%q) error = %v", tt.lookup, err)
				}
				return
			}
			if !errors.Is(err, ErrUnknownProfile) || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("Profile(%q) error = %v, want ErrUnknownProfile starting %q", tt.lookup, err, tt.wantErr)
			}
		})
	}
}

func TestLocate(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("MY_TOOL_CONFIG", "")
	if got, want := Locate("my-tool", ""), "/home/u/.config/my-tool/config.toml"; got != want {
		t.Errorf("home: Locate = %q, want %q", got, want)
	}
	t.Setenv("XDG_CONFIG_HOME", "relative/is/ignored")
	if got, want := Locate("my-tool", ""), "/home/u/.config/my-tool/config.toml"; got != want {
		t.Errorf("relative XDG_CONFIG_HOME: Locate = %q, want %q", got, want)
	}
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	if got, want := Locate("my-tool", ""), "/xdg/my-tool/config.toml"; got != want {
		t.Errorf("XDG: Locate = %q, want %q", got, want)
	}
	t.Setenv("MY_TOOL_CONFIG", "/env.toml")
	if got, want := Locate("my-tool", ""), "/env.toml"; got != want {
		t.Errorf("env: Locate = %q, want %q", got, want)
	}
	if got, want := Locate("my-tool", "flag.toml"), "flag.toml"; got != want {
		t.Errorf("flag: Locate = %q, want %q", got, want)
	}
	if got := EnvName("idplug", "PROFILE"); got != "IDPLUG_PROFILE" {
		t.Errorf("EnvName = %q", got)
	}
}

func TestFingerprint(t *testing.T) {
	base := func() *Profile {
		return &Profile{
			Name: "work", Provider: "keycloak", ClientID: "cli", ClientSecret: "s",
			Scopes:   []string{"openid", "email"},
			Settings: map[string]Value{"realm": {Raw: "r", Pos: Position{Line: 3}}, "n": {Raw: int64(1)}},
		}
	}
	fp := base().Fingerprint("builtin")
	if len(fp) != 64 {
		t.Fatalf("Fingerprint = %q, want 64 hex digits", fp)
	}
	same := map[string]func(p *Profile){
		"name":          func(p *Profile) { p.Name = "other" },
		"client secret": func(p *Profile) { p.ClientSecret = "rotated" },
		"scope order":   func(p *Profile) { p.Scopes = []string{"email", "openid"} },
		"positions":     func(p *Profile) { p.Pos.Line = 9; p.Settings["realm"] = Value{Raw: "r"} },
	}
	for name, edit := range same {
		p := base()
		edit(p)
		if got := p.Fingerprint("builtin"); got != fp {
			t.Errorf("changing the %s changed the fingerprint", name)
		}
	}
	differs := map[string]func(p *Profile){
		"provider":       func(p *Profile) { p.Provider = "auth0" },
		"client ID":      func(p *Profile) { p.ClientID = "cli2" },
		"scopes":         func(p *Profile) { p.Scopes = append(p.Scopes, "profile") },
		"default scopes": func(p *Profile) { p.Scopes = nil },
		"no scopes":      func(p *Profile) { p.Scopes = []string{} },
		"setting value":  func(p *Profile) { p.Settings["realm"] = Value{Raw: "r2"} },
		"setting type":   func(p *Profile) { p.Settings["n"] = Value{Raw: "1"} },
		"new setting":    func(p *Profile) { p.Settings["x"] = Value{Raw: false} },
	}
	for name, edit := range differs {
		p := base()
		edit(p)
		if got := p.Fingerprint("builtin"); got == fp {
			t.Errorf("changing the %s kept the fingerprint", name)
		}
	}
	if base().Fingerprint("sha256:abc") == fp {
		t.Errorf("changing the plugin source kept the fingerprint")
	}
}

func FuzzParse(f *testing.F) {
	for _, file := range []string{"testdata/design.toml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(validProfile + "[profiles.work.settings]\na.b = { c = [1, 2.5, 1979-05-27] }\n[[x]]\n"))
	f.Add([]byte("profiles.a = 1\n[plugins.x]\nwasm='a'\ncommand='b'\nsha256='c'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.toml", data)
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse = %v, %v; want exactly one", c, err)
		}
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("Parse error %v is not a non-empty Errors", err)
			}
			return
		}
		for _, p := range c.Profiles {
			p.Fingerprint("")
		}
	})
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/design.toml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("design.toml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// A profile's provider that is neither built in nor configured is reported
// at the profile, once.
func TestProviderError(t *testing.T) {
	c, err := Parse("c.toml", []byte(validProfile))
	if err != nil {
		t.Fatal(err)
	}
	got := c.Profiles["work"].ProviderError(errors.New(`provider "oidc" is neither built in nor configured under [plugins]`))
	if want := `c.toml:1: profiles.work.provider: provider "oidc" is neither built in nor configured under [plugins]`; got.Error() != want {
		t.Errorf("ProviderError = %q, want %q", got, want)
	}
}

// defaultsTOML is an embedding tool's compiled-in configuration.
const defaultsTOML = `default_profile = "main"

[store]
backend = "file"
dir = "/var/lib/mytool"

[profiles.main]
provider = "oidc"
client_id = "mytool"
scopes = ["openid"]
[profiles.main.settings]
issuer = "https://idp.example.com"

[profiles.extra]
provider = "acme"
client_id = "x"

[plugins.acme]
wasm = "/usr/lib/mytool/acme.wasm"
`

// userConfig writes the user's file of "mytool" at its default location, or
// writes nothing for "", and returns the file's path.
func userConfig(t *testing.T, toml string) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("MYTOOL_CONFIG", "")
	path := filepath.Join(dir, "mytool", "config.toml")
	if toml == "" {
		return path
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadDefaultsAlone(t *testing.T) {
	userConfig(t, "")
	c, err := Load("mytool", "", []byte(defaultsTOML))
	if err != nil {
		t.Fatal(err)
	}
	at := func(line int) Position { return Position{File: "<mytool built-in defaults>", Line: line} }
	want := &Config{
		Path:           "<mytool built-in defaults>",
		DefaultProfile: "main",
		Store:          Store{Backend: BackendFile, Dir: "/var/lib/mytool"},
		Profiles: map[string]*Profile{
			"main": {
				Name: "main", Provider: "oidc", ClientID: "mytool", Scopes: []string{"openid"},
				Settings: map[string]Value{"issuer": {Raw: "https://idp.example.com", Pos: at(12)}},
				Pos:      at(7),
			},
			"extra": {Name: "extra", Provider: "acme", ClientID: "x", Pos: at(14)},
		},
		Plugins: map[string]*Plugin{
			"acme": {Name: "acme", Wasm: "/usr/lib/mytool/acme.wasm", Pos: at(18)},
		},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Load with defaults alone (-want +got):\n%s", diff)
	}
	if p, err := c.Profile(""); err != nil || p.Name != "main" {
		t.Errorf("Profile(\"\") = %v, %v; want the defaults' default profile", p, err)
	}
}

func TestLoadOverDefaults(t *testing.T) {
	path := userConfig(t, `
[profiles.mine]
provider = "keycloak"
client_id = "me"

[profiles.main]
provider = "auth0"
client_id = "override"

[store]
dir = "tokens"

[plugins.acme]
command = "/opt/acme"
`)
	c, err := Load("mytool", "", []byte(defaultsTOML))
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != path {
		t.Errorf("Path = %q, want the user's file %q", c.Path, path)
	}
	if got := slices.Sorted(maps.Keys(c.Profiles)); !slices.Equal(got, []string{"extra", "main", "mine"}) {
		t.Errorf("profiles = %v, want the defaults' and the file's", got)
	}
	want := &Profile{Name: "main", Provider: "auth0", ClientID: "override", Pos: Position{File: path, Line: 6}}
	if diff := cmp.Diff(want, c.Profiles["main"]); diff != "" {
		t.Errorf("the file's profile main does not replace the defaults' entirely (-want +got):\n%s", diff)
	}
	if got := c.Profiles["extra"].Pos.File; got != "<mytool built-in defaults>" {
		t.Errorf("profile extra comes from %q, want the defaults", got)
	}
	if want := (Store{Backend: BackendFile, Dir: filepath.Join(filepath.Dir(path), "tokens")}); c.Store != want {
		t.Errorf("Store = %+v, want %+v: the defaults' backend, the file's dir", c.Store, want)
	}
	if want := (&Plugin{Name: "acme", Command: "/opt/acme", Pos: Position{File: path, Line: 13}}); !cmp.Equal(want, c.Plugins["acme"]) {
		t.Errorf("plugin acme = %+v, want the file's %+v", c.Plugins["acme"], want)
	}
	if c.DefaultProfile != "main" {
		t.Errorf("DefaultProfile = %q, want the defaults' main when the file sets none", c.DefaultProfile)
	}
}

func TestLoadDefaultProfile(t *testing.T) {
	tests := []struct {
		name, defaults, file, want string
	}{
		{"the file's wins", defaultsTOML, `default_profile = "extra"`, "extra"},
		{"the defaults' when the file sets none", defaultsTOML, validProfile, "main"},
		{"the file names a profile of the defaults", validProfile, `default_profile = "work"`, "work"},
		{"the defaults name a profile of the file", `default_profile = "mine"`, strings.ReplaceAll(validProfile, "work", "mine"), "mine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			userConfig(t, tt.file)
			c, err := Load("mytool", "", []byte(tt.defaults))
			if err != nil {
				t.Fatal(err)
			}
			if c.DefaultProfile != tt.want {
				t.Errorf("DefaultProfile = %q, want %q", c.DefaultProfile, tt.want)
			}
		})
	}
}

func TestLoadDefaultsErrors(t *testing.T) {
	tests := []struct {
		name, defaults, file string
		want                 []string // "FILE" stands for the user's file
	}{
		{
			name:     "in the defaults",
			defaults: validProfile + "scopes = \"openid\"\n",
			want:     []string{`<mytool built-in defaults>:4: profiles.work.scopes: must be a list of strings, such as ["openid", "profile"], not a string`},
		},
		{
			name:     "syntax in the defaults",
			defaults: "\ndefault_profile = \n",
			file:     validProfile,
			want:     []string{`<mytool built-in defaults>:2:19: invalid TOML: expected value but found '\n' instead`},
		},
		{
			name:     "relative paths in the defaults",
			defaults: "[store]\ndir = \"state\"\n[plugins.p]\nwasm = \"p.wasm\"\n",
			want: []string{
				`<mytool built-in defaults>:2: store.dir: must be an absolute path: built-in defaults have no directory to resolve "state" against`,
				`<mytool built-in defaults>:4: plugins.p.wasm: must be an absolute path: built-in defaults have no directory to resolve "p.wasm" against`,
			},
		},
		{
			name:     "in the file",
			defaults: defaultsTOML,
			file:     "\n[store]\nbackend = \"files\"\n",
			want:     []string{`FILE:3: store.backend: must be "auto", "keyring" or "file", not "files" (did you mean "file"?)`},
		},
		{
			name:     "in both, the defaults first",
			defaults: "[store]\nbackend = 1\n",
			file:     "\nprofile = \"oidc\"\n",
			want: []string{
				`<mytool built-in defaults>:2: store.backend: must be a string in quotes, such as backend = "…", not an integer`,
				`FILE:2: profile: unknown key (did you mean "profiles"?)`,
			},
		},
		{
			name:     "the file's default_profile names no profile of either",
			defaults: defaultsTOML,
			file:     "\ndefault_profile = \"mian\"\n",
			want:     []string{`FILE:2: default_profile: there is no profile "mian" (did you mean "main"?); define [profiles.mian] or name one of: extra, main`},
		},
		{
			name:     "the defaults' default_profile names no profile of either",
			defaults: "default_profile = \"main\"\n",
			file:     validProfile,
			want:     []string{`<mytool built-in defaults>:1: default_profile: there is no profile "main"; define [profiles.main] or name one of: work`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := userConfig(t, tt.file)
			c, err := Load("mytool", "", []byte(tt.defaults))
			if c != nil {
				t.Errorf("Load returned a config with errors")
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load error = %v (%T), want Errors", err, err)
			}
			var got []string
			for _, e := range errs {
				got = append(got, strings.ReplaceAll(e.Error(), path, "FILE"))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadNamedFileMissing(t *testing.T) {
	userConfig(t, "")
	missing := filepath.Join(t.TempDir(), "missing.toml")
	if _, err := Load("mytool", missing, []byte(defaultsTOML)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(--config missing) = %v; want fs.ErrNotExist although there are defaults", err)
	}
	t.Setenv("MYTOOL_CONFIG", missing)
	if _, err := Load("mytool", "", []byte(defaultsTOML)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load($MYTOOL_CONFIG missing) = %v; want fs.ErrNotExist although there are defaults", err)
	}
	t.Setenv("MYTOOL_CONFIG", "")
	if _, err := Load("mytool", "", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(no file, no defaults) = %v; want fs.ErrNotExist", err)
	}
}

// TestGitKeys: git_hosts and git_username, the keys of the git credential
// helper, parse; a host with a scheme or path is refused at its line.
func TestGitKeys(t *testing.T) {
	c, err := Parse("c.toml", []byte(validProfile+"git_hosts = [\"GitLab.example.com\", \"git.example.com:8443\", \"[::1]:3000\"]\ngit_username = \"x-access-token\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Profiles["work"]
	if !slices.Equal(p.GitHosts, []string{"gitlab.example.com", "git.example.com:8443", "[::1]:3000"}) || p.GitUsername != "x-access-token" {
		t.Errorf("git_hosts %q, git_username %q", p.GitHosts, p.GitUsername)
	}
	for _, bad := range []string{`git_hosts = ["https://gitlab.example.com"]`, `git_hosts = ["gitlab.example.com/group"]`, `git_hosts = "gitlab.example.com"`, `git_username = ""`} {
		if _, err := Parse("c.toml", []byte(validProfile+bad+"\n")); err == nil || !strings.Contains(err.Error(), "c.toml:") {
			t.Errorf("%s: %v, want an error at its line", bad, err)
		}
	}
}

// TestPKCEKey: pkce is on unless the profile says pkce = false.
func TestPKCEKey(t *testing.T) {
	for text, want := range map[string]bool{"": true, "pkce = true\n": true, "pkce = false\n": false} {
		c, err := Parse("c.toml", []byte(validProfile+text))
		if err != nil || c.Profiles["work"].NoPKCE == want {
			t.Errorf("%q: pkce %v, %v; want %v", text, !c.Profiles["work"].NoPKCE, err, want)
		}
	}
	if _, err := Parse("c.toml", []byte(validProfile+"pkce = \"no\"\n")); err == nil || !strings.Contains(err.Error(), "c.toml:4: profiles.work.pkce: must be true or false") {
		t.Errorf("pkce = \"no\": %v", err)
	}
}
