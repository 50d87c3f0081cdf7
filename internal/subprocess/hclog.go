package subprocess

import (
	"context"
	"io"
	"log"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// logger adapts slog to the hclog.Logger go-plugin writes to. go-plugin logs
// what the plugin writes to stderr on a child named after the plugin, at the
// level of the plugin's JSON records (sdk.Logf); that child remembers what
// an error message may quote. Records of go-plugin's own doings are capped
// at debug: killing a plugin, say, is routine.
type logger struct {
	log    *slog.Logger
	name   string // "" for go-plugin's own logger
	output string // the name of the child that logs the plugin's stderr
	args   []any
	stderr *tail
}

// newLogger returns the logger of the plugin process runner.Name() calls
// name, remembering its stderr in stderr.
func newLogger(l *slog.Logger, name string, stderr *tail) *logger {
	return &logger{log: l, output: filepath.Base(name), stderr: stderr}
}

// Log implements hclog.Logger.
func (l *logger) Log(level hclog.Level, msg string, args ...any) {
	lv := slogLevel(level)
	if l.name == l.output || strings.HasPrefix(l.name, l.output+".") {
		l.stderr.add(msg)
	} else {
		lv = min(lv, slog.LevelDebug)
	}
	ctx := context.Background()
	if !l.log.Enabled(ctx, lv) {
		return
	}
	var attrs []any
	attrs = append(attrs, l.args...)
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] != "timestamp" { // go-plugin's copy of the plugin's clock
			attrs = append(attrs, args[i], args[i+1])
		}
	}
	l.log.Log(ctx, lv, msg, attrs...)
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
	return l.log.Enabled(context.Background(), slogLevel(level))
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
func lines(l *slog.Logger, stream string, level slog.Level, t *tail) io.Writer {
	return writerFunc(func(b []byte) (int, error) {
		for line := range strings.Lines(string(b)) {
			if line = strings.TrimRight(line, "\r\n"); line != "" {
				l.Log(context.Background(), level, line, "stream", stream)
				if t != nil {
					t.add(line)
				}
			}
		}
		return len(b), nil
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
