package safetext

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain ASCII, with (punctuation) & symbols: ~!@#$%^*", "plain ASCII, with (punctuation) & symbols: ~!@#$%^*"},
		{`C:\plugins\acme.wasm`, `C:\plugins\acme.wasm`},
		{"Café — 中文 — 🙂 — 👩‍💻 — עברית — ÿ", "Café — 中文 — 🙂 — 👩‍💻 — עברית — ÿ"},
		{"U+FFFD itself: \uFFFD", "U+FFFD itself: \uFFFD"},
		// CSI: clear the screen, move the cursor, colours.
		{"\x1b[2J\x1b[H\x1b[31mred\x1b[0m", `\x1b[2J\x1b[H\x1b[31mred\x1b[0m`},
		// OSC 0 (window title), ended by BEL and by ST.
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\a`},
		{"\x1b]2;pwned\x1b\\", `\x1b]2;pwned\x1b\`},
		// OSC 8 hyperlink.
		{"\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\", `\x1b]8;;https://evil.example/\x1b\click\x1b]8;;\x1b\`},
		// DCS and a carriage return that would overwrite the line.
		{"\x1bPq#0\x1b\\", `\x1bPq#0\x1b\`},
		{"error\ridplug: login succeeded", `error\ridplug: login succeeded`},
		// Other C0 controls and DEL; tabs and newlines too.
		{"a\tb\nc\x00d\x08e\x0bf\x0cg\x7fh", `a\tb\nc\x00d\be\vf\fg\x7fh`},
		// C1 controls as runes (U+009B is CSI, U+009D OSC, U+0085 NEL)…
		{"\u009b2J \u009d0;pwned\u009c \u0085", `\u009b2J \u009d0;pwned\u009c \u0085`},
		// …and as raw bytes, which are not UTF-8.
		{"\x9b2J \x9d0;x\x9c", `\x9b2J \x9d0;x\x9c`},
		{"bad \xff\xfe UTF-8 \xe2\x82", `bad \xff\xfe UTF-8 \xe2\x82`},
		// Bidirectional overrides, embeddings, isolates and marks.
		{"admin\u202Etxt.exe", `admin\u202etxt.exe`},
		{"\u202A\u202B\u202C\u202D \u2066\u2067\u2068\u2069 \u200E\u200F\u061C", `\u202a\u202b\u202c\u202d \u2066\u2067\u2068\u2069 \u200e\u200f\u061c`},
		// Line and paragraph separators.
		{"one\u2028two\u2029three", `one\u2028two\u2029three`},
	} {
		got := Line(tc.in)
		if got != tc.want {
			t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !utf8.ValidString(got) || strings.ContainsFunc(got, Unsafe) {
			t.Errorf("Line(%q) = %q still holds an unsafe character", tc.in, got)
		}
	}
}

func TestJSON(t *testing.T) {
	values := []string{
		"\x1b]0;pwned\x07\x1b[2J",
		"\u009b2J\u0085\x7f",
		"admin\u202Etxt.exe \u2066x\u2069",
		"one\u2028two\u2029three",
		"<b>&amp;</b> Café 中文 🙂",
	}
	b, err := json.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	got := JSON(b)
	if !utf8.Valid(got) || strings.ContainsFunc(string(got), Unsafe) {
		t.Errorf("JSON left an unsafe character in %q", got)
	}
	var back []string
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("JSON made %q invalid: %v", got, err)
	}
	for i := range values {
		if back[i] != values[i] {
			t.Errorf("value %d: got %q back, want %q", i, back[i], values[i])
		}
	}
	if !strings.Contains(string(got), `\u009b2J\u0085\u007f`) || !strings.Contains(string(got), `\u202etxt`) {
		t.Errorf("JSON(%s) = %s, want \\uXXXX escapes", b, got)
	}
	if plain := []byte(`{"name":"oidc","summary":"Café 中文"}`); string(JSON(plain)) != string(plain) {
		t.Errorf("JSON changed %s into %s", plain, JSON(plain))
	}
}
