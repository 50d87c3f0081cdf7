package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
				`c.toml:6: profiles.work.foo: unknown key; the keys here are: provider, client_id, client_secret, scopes, settings`,
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
	c, err := Load("config.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != "config.toml" || c.Plugins["p"].Wasm != filepath.Join(dir, "p.wasm") || c.Store.Dir != filepath.Join(dir, "state") {
		t.Errorf("Load = Path %q, Wasm %q, Dir %q; want relative paths resolved against %s", c.Path, c.Plugins["p"].Wasm, c.Store.Dir, dir)
	}

	_, err = Load(filepath.Join(dir, "missing.toml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "[profiles.work]") {
		t.Errorf("Load(missing) = %v; want fs.ErrNotExist with an example", err)
	}
	if _, err := Load(""); !errors.Is(err, fs.ErrNotExist) {
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
