package subprocess_test

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/subprocess"
)

// counter counts what a slog handler writes, keeping only whether a record
// said that the rest of the output was dropped.
type counter struct {
	mu      sync.Mutex
	bytes   int
	dropped bool
}

func (c *counter) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bytes += len(b)
	c.dropped = c.dropped || bytes.Contains(b, []byte("the rest of its output is dropped"))
	return len(b), nil
}

func (c *counter) get() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes, c.dropped
}

// TestLogFlood checks that a plugin process that writes 100 MiB to stderr,
// raw or through go-plugin's forwarding of os.Stderr, has at most its
// budget logged even at debug level, with a record saying the rest was
// dropped, and that the host reads all of it: the plugin goes on serving.
func TestLogFlood(t *testing.T) {
	for _, tc := range []struct{ name, path, mode string }{
		{"raw stderr", "", ""},
		{"os.Stderr", misbehave["misbehave"], "flood"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = script(t, t.TempDir(),
					"{head} -c 104857600 /dev/zero | {tr} '\\0' x >&2",
					"exec {misbehave}")
			}
			c := &counter{}
			log := slog.New(slog.NewTextHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug}))
			p, err := startScript(t, path, subprocess.Options{Logger: log, StartTimeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := configure(t, p, tc.mode); err != nil {
				t.Fatal(err)
			}
			if _, err := configure(t, p, ""); err != nil {
				t.Fatalf("the call after: %v", err)
			}
			// Each record carries some 100 bytes of its own on top of what
			// the budget counts, and there are MaxLogPerProcess/4 KiB of
			// them at most, or a few more short ones.
			logged, dropped := c.get()
			t.Logf("%d bytes logged", logged)
			if limit := subprocess.MaxLogPerProcess * 3 / 2; logged > limit {
				t.Errorf("%d bytes logged, want at most %d", logged, limit)
			}
			if !dropped {
				t.Errorf("no record says the rest of the output was dropped (%d bytes logged)", logged)
			}
		})
	}
}
