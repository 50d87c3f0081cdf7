package config

import (
	"fmt"
	"strings"
)

// Position is a place in a configuration file.
type Position struct {
	File string
	Line int // 1-based; 0 when unknown
	Col  int // 1-based; 0 when only the line is known
}

// String formats p as "file:line" or "file:line:col", leaving out what is unknown.
func (p Position) String() string {
	s := p.File
	if p.Line > 0 {
		s += fmt.Sprintf(":%d", p.Line)
		if p.Col > 0 {
			s += fmt.Sprintf(":%d", p.Col)
		}
	}
	return s
}

// Error is one problem in a configuration file. Its message says what to change.
// It never contains the value of client_secret.
type Error struct {
	Pos Position
	Key string // dotted TOML key, such as "profiles.work.settings.realm"; empty for syntax errors
	Msg string
}

// Error formats e as "file:line: key: message".
func (e *Error) Error() string {
	if e.Key == "" {
		return e.Pos.String() + ": " + e.Msg
	}
	return e.Pos.String() + ": " + e.Key + ": " + e.Msg
}

// Errors is every problem found in a configuration file, ordered by line
// (after those of the built-in defaults, if any). Parse and Load return it
// when the file is not valid.
type Errors []*Error

// Error lists the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the individual errors, for errors.As and errors.Is.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// Suggest returns ` (did you mean "x"?)` when one of known is close to s, else "".
func Suggest(s string, known []string) string {
	best, bestDist := "", max(1, min(2, len(s)/3))+1
	for _, k := range known {
		if d := distance(strings.ToLower(s), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the optimal-string-alignment edit distance between a and b
// (insertions, deletions, substitutions and transpositions of adjacent bytes).
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
