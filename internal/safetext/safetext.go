// Package safetext makes text that came from a plugin or an identity
// provider safe to print on a terminal. Such text must not move the cursor,
// clear the screen, retitle the window, open a hyperlink (OSC 8) or reorder
// what the user reads, so the characters that could are shown escaped,
// visibly, the way Go writes them in a string literal: ESC as \x1b, BEL as
// \a, a newline as \n, the C1 control U+009B as \u009b, RIGHT-TO-LEFT
// OVERRIDE as \u202e, and a byte that is not UTF-8 as \x9b. Every escape
// sequence is thereby defused, its ESC (or C1 introducer) shown and the rest
// printed as the plain text it is. Other text, accented letters, CJK and
// emoji included, is kept as it is.
package safetext

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Unsafe reports whether r may not reach a terminal as it is: a control
// character (C0, DEL or C1), a bidirectional formatting character (the
// embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069, and
// the marks U+061C, U+200E and U+200F), or the line and paragraph
// separators U+2028 and U+2029.
func Unsafe(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}

// Line returns s fit for one line of output or one table cell: every
// unsafe character, tabs and newlines included, and every byte that is not
// part of valid UTF-8 is replaced by its Go escape. s is returned as it is
// when it has none.
func Line(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, Unsafe) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case Unsafe(r):
			q := strconv.QuoteRune(r) // '\x1b', '\u202e': never a quote or a backslash
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// JSON returns b, JSON text as encoding/json writes it, with every unsafe
// character that encoding/json leaves as it is (DEL, C1 controls and
// bidirectional formatting characters) written as a \uXXXX escape, so that
// JSON output shown on a terminal is as harmless as the rest. The escapes
// stand for the same characters: a JSON reader gets exactly the values b
// holds. Such characters can only be inside strings, since JSON's structure
// is ASCII; encoding/json itself escapes C0 controls, U+2028 and U+2029 and
// writes only valid UTF-8.
func JSON(b []byte) []byte {
	if !bytes.ContainsFunc(b, Unsafe) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if Unsafe(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[:size]...)
		}
		b = b[size:]
	}
	return out
}
