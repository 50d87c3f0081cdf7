package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

// memSecrets is a keyring in memory. down, when set, makes it unreachable.
type memSecrets struct {
	mu    sync.Mutex
	items map[string]string
	down  error
	calls int // get, set and delete calls
}

func newMem() *memSecrets { return &memSecrets{items: map[string]string{}} }

func (m *memSecrets) probe(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.down
}

func (m *memSecrets) op(f func()) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.down != nil {
		return m.down
	}
	f()
	return nil
}

func (m *memSecrets) get(_ context.Context, service, account string) (s string, err error) {
	var ok bool
	if err := m.op(func() { s, ok = m.items[service+"\x00"+account] }); err != nil {
		return "", err
	}
	if !ok {
		return "", errSecretNotFound
	}
	return s, nil
}

func (m *memSecrets) set(_ context.Context, service, account, secret string) error {
	return m.op(func() { m.items[service+"\x00"+account] = secret })
}

func (m *memSecrets) delete(_ context.Context, service, account string) error {
	return m.op(func() { delete(m.items, service+"\x00"+account) })
}

func (m *memSecrets) setDown(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.down = err
}

// dirSecrets is a keyring in a directory, one file per item, that processes
// share: the crash test's writers use it.
type dirSecrets string

func (d dirSecrets) file(service, account string) string {
	sum := sha256.Sum256([]byte(service + "\x00" + account))
	return filepath.Join(string(d), hex.EncodeToString(sum[:8]))
}

func (dirSecrets) probe(context.Context) error { return nil }

func (d dirSecrets) get(_ context.Context, service, account string) (string, error) {
	b, err := os.ReadFile(d.file(service, account))
	if errors.Is(err, fs.ErrNotExist) {
		return "", errSecretNotFound
	}
	return string(b), err
}

func (d dirSecrets) set(_ context.Context, service, account, secret string) error {
	return writeAtomic(d.file(service, account), func(w io.Writer) error {
		_, err := io.WriteString(w, secret)
		return err
	})
}

func (d dirSecrets) delete(_ context.Context, service, account string) error {
	return remove(d.file(service, account))
}

// requireSecretService skips t when no Secret Service is reachable, unless
// $IDPLUG_REQUIRE_KEYRING is set (as in CI), which makes it fail instead.
func requireSecretService(t testing.TB) {
	t.Helper()
	err := osKeyring{}.probe(t.Context())
	if err == nil {
		return
	}
	if os.Getenv("IDPLUG_REQUIRE_KEYRING") != "" {
		t.Fatalf("IDPLUG_REQUIRE_KEYRING is set, but %v", err)
	}
	t.Skipf("skipping: %v (run under dbus-run-session with gnome-keyring unlocked, as .ci/run does, to test the OS keyring)", err)
}

// testService returns a keyring service name of t's own and removes its
// items when t ends.
func testService(t *testing.T) string {
	t.Helper()
	service := fmt.Sprintf("idplug-test-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), os.Getpid())
	t.Cleanup(func() { keyring.DeleteAll(service) })
	return service
}

// TestProbeOfAHungBus probes, in a process of its own (the D-Bus library
// keeps one session bus connection per process), a session bus that accepts
// connections and never answers: the probe must give up in bounded time.
func TestProbeOfAHungBus(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("skipping: no D-Bus here")
	}
	sock := filepath.Join(t.TempDir(), "bus")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent until the test ends
		}
	}()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "IDPLUG_STORE_PROBE=1", "DBUS_SESSION_BUS_ADDRESS=unix:path="+sock)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil || !strings.Contains(string(out), "did not answer") {
		t.Errorf("probe of a hung bus: %v: %s", err, out)
	}
	if took > probeTimeout+2*time.Second {
		t.Errorf("probe of a hung bus took %s, want about %s", took, probeTimeout)
	}
}
