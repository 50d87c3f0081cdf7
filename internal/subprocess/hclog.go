package subprocess

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
)

// Bounds of what a plugin process may log, as for WebAssembly plugins
// (internal/wasm), except that the calls a process serves concurrently
// share its budget.
const (
	// maxRecord is the longest message, and the longest attribute, of a
	// record: a longer one is cut.
	maxRecord = 4 << 10
	// maxLogPerProcess bounds what one process logs through stderr, stdout
	// and sdk.Logf together, and what go-plugin logs about it; one record
	// says when the rest is dropped. A restarted process starts afresh.
	maxLogPerProcess = 1 << 20
)

// budget logs the records of one plugin process within maxLogPerProcess.
// Records the logger would discard cost nothing.
type budget struct {
	log  *slog.Logger
	mu   sync.Mutex
	left int // bytes the process may still log
}

func newBudget(l *slog.Logger) *budget { return &budget{log: l, left: maxLogPerProcess} }

// record logs msg with the attributes args (key, value, …), each cut to
// maxRecord and all of them to what is left of the budget, unless the
// budget is spent.
func (b *budget) record(level slog.Level, msg string, args ...any) {
	ctx := context.Background()
	if !b.log.Enabled(ctx, level) {
		return
	}
	b.mu.Lock()
	if b.left <= 0 {
		b.mu.Unlock()
		return
	}
	msg = cut(msg, min(maxRecord, b.left))
	b.left -= len(msg)
	for i, a := range args {
		switch a.(type) {
		case bool, int, int64, float64:
			b.left -= 8
			continue
		}
		s, ok := a.(string)
		if !ok {
			s = fmt.Sprint(a) // an error, or JSON that a plugin's record nests
		}
		s = cut(s, max(0, min(maxRecord, b.left)))
		args[i], b.left = s, b.left-len(s)
	}
	spent := b.left <= 0
	b.mu.Unlock()
	b.log.Log(ctx, level, msg, args...)
	if spent {
		b.log.Warn(fmt.Sprintf("subprocess: the plugin process logged %d KiB; the rest of its output is dropped", maxLogPerProcess>>10))
	}
}

// cut returns s, or its first n bytes and an ellipsis when it is longer,
// not splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// logger adapts slog to the hclog.Logger go-plugin writes to. go-plugin logs
// what the plugin writes to stderr on a child named after the plugin, at the
// level of the plugin's JSON records (sdk.Logf); that child remembers what
// an error message may quote. Records of go-plugin's own doings are capped
// at debug: killing a plugin, say, is routine. All of them are logged
// within the process's budget.
type logger struct {
	out    *budget
	name   string // "" for go-plugin's own logger
	output string // the name of the child that logs the plugin's stderr
	args   []any
	stderr *tail
}

// newLogger returns the logger of the plugin process runner.Name() calls
// name, remembering its stderr in stderr.
func newLogger(out *budget, name string, stderr *tail) *logger {
	return &logger{out: out, output: filepath.Base(name), stderr: stderr}
}

// Log implements hclog.Logger.
func (l *logger) Log(level hclog.Level, msg string, args ...any) {
	lv := slogLevel(level)
	if l.name == l.output || strings.HasPrefix(l.name, l.output+".") {
		l.stderr.add(msg)
	} else {
		lv = min(lv, slog.LevelDebug)
	}
	if !l.out.log.Enabled(context.Background(), lv) {
		return
	}
	var attrs []any
	attrs = append(attrs, l.args...)
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] != "timestamp" { // go-plugin's copy of the plugin's clock
			attrs = append(attrs, args[i], args[i+1])
		}
	}
	l.out.record(lv, msg, attrs...)
}

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug, hclog.NoLevel:
		return slog.LevelDebug
	case hclog.Info:
		return slog.LevelInfo
	case hclog.Warn:
		return slog.LevelWarn
	}
	return slog.LevelError
}

// Trace implements hclog.Logger.
func (l *logger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }

// Debug implements hclog.Logger.
func (l *logger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }

// Info implements hclog.Logger.
func (l *logger) Info(msg string, args ...any) { l.Log(hclog.Info, msg, args...) }

// Warn implements hclog.Logger.
func (l *logger) Warn(msg string, args ...any) { l.Log(hclog.Warn, msg, args...) }

// Error implements hclog.Logger.
func (l *logger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

func (l *logger) enabled(level hclog.Level) bool {
	return l.out.log.Enabled(context.Background(), slogLevel(level))
}

// IsTrace implements hclog.Logger.
func (l *logger) IsTrace() bool { return l.enabled(hclog.Trace) }

// IsDebug implements hclog.Logger.
func (l *logger) IsDebug() bool { return l.enabled(hclog.Debug) }

// IsInfo implements hclog.Logger.
func (l *logger) IsInfo() bool { return l.enabled(hclog.Info) }

// IsWarn implements hclog.Logger.
func (l *logger) IsWarn() bool { return l.enabled(hclog.Warn) }

// IsError implements hclog.Logger.
func (l *logger) IsError() bool { return l.enabled(hclog.Error) }

// ImpliedArgs implements hclog.Logger.
func (l *logger) ImpliedArgs() []any { return l.args }

// With implements hclog.Logger.
func (l *logger) With(args ...any) hclog.Logger {
	c := *l
	c.args = append(append([]any(nil), l.args...), args...)
	return &c
}

// Name implements hclog.Logger.
func (l *logger) Name() string { return l.name }

// Named implements hclog.Logger.
func (l *logger) Named(name string) hclog.Logger {
	if l.name != "" {
		name = l.name + "." + name
	}
	return l.ResetNamed(name)
}

// ResetNamed implements hclog.Logger.
func (l *logger) ResetNamed(name string) hclog.Logger {
	c := *l
	c.name = name
	return &c
}

// SetLevel implements hclog.Logger; the slog handler decides.
func (l *logger) SetLevel(hclog.Level) {}

// GetLevel implements hclog.Logger.
func (l *logger) GetLevel() hclog.Level {
	for _, lv := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn} {
		if l.enabled(lv) {
			return lv
		}
	}
	return hclog.Error
}

// StandardLogger implements hclog.Logger.
func (l *logger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(l.StandardWriter(opts), "", 0)
}

// StandardWriter implements hclog.Logger.
func (l *logger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return writerFunc(func(b []byte) (int, error) {
		l.Debug(strings.TrimSpace(string(b)))
		return len(b), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// lines logs what a plugin writes to os.Stdout or os.Stderr once serving,
// which go-plugin forwards over gRPC, a record per line, and remembers the
// lines in t when t is not nil.
func (b *budget) lines(stream string, level slog.Level, t *tail) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		for line := range strings.Lines(string(p)) {
			if line = strings.TrimRight(line, "\r\n"); line != "" {
				b.record(level, line, "stream", stream)
				if t != nil {
					t.add(line)
				}
			}
		}
		return len(p), nil
	})
}

// tail remembers what a plugin process said last on stderr, for errors: the
// first line of a Go panic, else the last line.
type tail struct {
	mu          sync.Mutex
	panic, last string
}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.panic == "" && (strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ")) {
		t.panic = line
	}
	t.last = line
}

// String returns the line to quote, at most 200 bytes of it.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.panic
	if s == "" {
		s = t.last
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
