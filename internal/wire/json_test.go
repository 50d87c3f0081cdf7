package wire

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idplug/idplug/sdk"
)

// jsonSeeds are documents that exercise every path of the parser.
var jsonSeeds = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e3`, `-12.25E-2`, `1e400`, `01`, `1.`, `.5`, `-`, `+1`,
	`"plain"`, `"esc \" \\ \/ \b \f \n \r \t"`, `"\u00e9\u4e2d\ud83d\ude00"`, `"\ud83d"`, `"\ud83d\u0041"`, `"\ude00\ud83d"`,
	`"\ud83dx"`, `"\uZZZZ"`, `"\x"`, "\"tab\there\"", "\"\xff\xfe bad utf-8 \xc3\"", `"é中😀"`, "\"\u2028\"",
	` { "a" : [ 1 , "b" , { "c" : null } ] , "a" : 2 } `, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{1:2}`, `[1 2]`, `{"a":1}x`,
	`{"sub":"u-1","groups":["admins","dev"],"nested":{"x":[true,false,null]},"n":42}`,
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001), strings.Repeat("[", 100) + strings.Repeat("]", 100),
	`"unterminated`, `tru`, `nul`, `[`, `{"a":`, "",
}

// FuzzParseJSON: the parser reads every document to the value
// encoding/json reads into an interface{}, and fails where it fails.
func FuzzParseJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want any
		wantErr := json.Unmarshal(data, &want)
		got, err := parseJSON(data)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: error %v, encoding/json's %v", data, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%.200q: read %.200#v, encoding/json %.200#v", data, got, want)
		}
	})
}

// FuzzWriteString: strings are written byte for byte as json.Marshal
// writes them.
func FuzzWriteString(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "<a href='x'>&</a>", "\x00\x01\b\f\n\r\t\x1f\x7f", "\u2028\u2029", "é中😀", "\xff\xfe\xc3", "\ufffd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		var w writer
		w.str(s)
		if string(w.b) != string(want) {
			t.Fatalf("%q written %s, json.Marshal %s", s, w.b, want)
		}
	})
}

// TestWriteValues: every result type is written byte for byte as
// json.Marshal writes it, empty and full, nil slices included.
func TestWriteValues(t *testing.T) {
	tricky := "a<b>&\"c\"\n\u2028é\xff"
	values := []any{
		sdk.PluginInfo{},
		sdk.PluginInfo{Name: "n", Version: "1", ContractVersion: 1, Summary: tricky, Hooks: []sdk.Hook{}, Settings: []sdk.SettingSpec{}},
		sdk.PluginInfo{Name: "n", Settings: []sdk.SettingSpec{
			{Name: "a", Type: sdk.SettingURL, Required: true, Help: tricky},
			{Name: "b", Type: sdk.SettingBool, Secret: true, Default: "true", Help: "h"},
		}, Hooks: []sdk.Hook{sdk.HookPrepare, sdk.HookInterpret}},
		ConfigureOutput{OK: &sdk.ProviderSpec{}},
		ConfigureOutput{OK: &sdk.ProviderSpec{DefaultScopes: []string{}, ExtraParams: []sdk.Param{}}},
		ConfigureOutput{OK: &sdk.ProviderSpec{
			Issuer: "https://i/{tid}/v2.0", DiscoveryURL: "https://i/.well-known/openid-configuration",
			Endpoints: sdk.Endpoints{DeviceAuthorization: "https://i/d", Token: "https://i/t?a=1&b=2", Refresh: "r", Userinfo: "u", Revocation: "v", JWKS: "j", EndSession: "e"},
			AuthStyle: sdk.AuthPost, DefaultScopes: []string{"openid", tricky},
			ExtraParams: []sdk.Param{{Exchange: sdk.ExchangeDeviceAuthorization, Name: "audience", Value: tricky}},
			LogoutHint:  tricky,
		}},
		ConfigureOutput{OK: &sdk.ProviderSpec{Endpoints: sdk.Endpoints{Token: "t"}}},
		ConfigureOutput{Err: []sdk.ConfigError{{Setting: "issuer", Message: tricky}, {Message: "whole"}}},
		sdk.HTTPRequest{},
		sdk.HTTPRequest{Method: "POST", URL: "https://i/t", Headers: []sdk.Header{{Name: "Accept", Value: "application/json"}, {Name: "X", Value: tricky}}, Body: "a=1&b=<2>"},
		sdk.HTTPResponse{},
		sdk.HTTPResponse{Status: 65535, Headers: []sdk.Header{}, Body: `{"error":"x"}`},
		sdk.Identity{},
		sdk.Identity{Subject: "s", Username: "u", Name: tricky, Email: "e", Groups: []string{}},
		sdk.Identity{Subject: "s", Groups: []string{"a", "b"}, Extra: json.RawMessage(` { "hd" : "<example>.com" } `)},
	}
	for i, v := range values {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var w writer
		if err := w.value(v); err != nil {
			t.Fatalf("#%d %T: %v", i, v, err)
		}
		if string(w.b) != string(want) {
			t.Errorf("#%d %T:\nwritten     %s\njson.Marshal %s", i, v, w.b, want)
		}
	}
	var w writer
	if err := w.value(sdk.Identity{Extra: json.RawMessage(`{bad`)}); err == nil {
		t.Error("an Extra that is not JSON was written")
	}
}

// FuzzReadInput: each function's input document is read to the value
// encoding/json reads, and refused where it is refused.
func FuzzReadInput(f *testing.F) {
	for _, s := range []string{
		`{"settings":{"issuer":"https://i","a":null},"client":{"client_id":"cli","client_secret":"s","scopes":["openid",null]}}`,
		`{"exchange":"token_poll","request":{"method":"POST","url":"https://i/t","headers":[{"name":"A","value":"b"},null],"body":"x=1"}}`,
		`{"exchange":"token_poll","response":{"status":400,"headers":[],"body":"{\"error\":\"x\"}"}}`,
		`{"id_token_claims":{"sub":"u","groups":["a"],"n":1.5},"userinfo":null,"settings":{}}`,
		`{"response":{"status":70000}}`, `{"response":{"status":-1}}`, `{"response":{"status":"200"}}`, `{"settings":[]}`,
		`{"client":{"scopes":"openid"}}`, `{"request":{"headers":[{"name":1}]}}`, `[]`, `null`, `{}`, `{"unknown":[1,{}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		for fn, target := range map[Function]func() any{
			FuncConfigure: func() any { return new(ConfigureInput) },
			FuncPrepare:   func() any { return new(PrepareInput) },
			FuncInterpret: func() any { return new(InterpretInput) },
			FuncIdentity:  func() any { return new(IdentityInput) },
		} {
			if strings.ContainsFunc(doc, func(r rune) bool { return 'A' <= r && r <= 'Z' }) {
				continue // encoding/json also matches member names in other cases; the host never sends them
			}
			ptr := target()
			wantErr := json.Unmarshal([]byte(doc), ptr)
			got, err := readInput(fn, []byte(doc))
			if wantErr != nil {
				// A number that is not a u16 status, such as 2e2 or 200.0,
				// which encoding/json refuses and the host never sends, is
				// read here; everything else must fail as it does.
				if err == nil && !strings.Contains(wantErr.Error(), "uint16") {
					t.Fatalf("%s %q: read %#v, encoding/json failed: %v", fn, doc, got, wantErr)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s %q: %v; encoding/json read it", fn, doc, err)
			}
			if want := deref(ptr); !cmp.Equal(got, want) {
				t.Fatalf("%s %q:\nread          %#v\nencoding/json %#v", fn, doc, got, want)
			}
		}
	})
}

func deref(ptr any) any {
	switch p := ptr.(type) {
	case *ConfigureInput:
		return *p
	case *PrepareInput:
		return *p
	case *InterpretInput:
		return *p
	case *IdentityInput:
		return *p
	}
	return nil
}

// identityInput is the input of the bench's hook call.
const identityInput = `{"id_token_claims":{"sub":"u-1","preferred_username":"alice","email":"alice@example.com","groups":["admins"]},"userinfo":{},"settings":{"issuer":"https://idp.example.com"}}`

// BenchmarkReadInput reads the bench's identity input; run under a
// WebAssembly runtime (GOOS=wasip1 go test -c) to see what a plugin pays.
func BenchmarkReadInput(b *testing.B) {
	for b.Loop() {
		if _, err := readInput(FuncIdentity, []byte(identityInput)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadInputEncodingJSON reads the same with encoding/json, for
// comparison.
func BenchmarkReadInputEncodingJSON(b *testing.B) {
	for b.Loop() {
		var in IdentityInput
		if err := json.Unmarshal([]byte(identityInput), &in); err != nil {
			b.Fatal(err)
		}
	}
}

// standard is a provider with the standard identity mapping.
type standard struct{}

func (standard) Describe() sdk.PluginInfo { return sdk.PluginInfo{Name: "standard"} }
func (standard) Configure(map[string]string, sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	return sdk.ProviderSpec{}, nil
}

// BenchmarkHandleIdentity is a whole identity call: input read, mapping,
// result written.
func BenchmarkHandleIdentity(b *testing.B) {
	for b.Loop() {
		Handle(standard{}, FuncIdentity, []byte(identityInput))
	}
}
