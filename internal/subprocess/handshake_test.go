package subprocess_test

import (
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/idplug/idplug/internal/plugin"
	"github.com/idplug/idplug/internal/subprocess"
)

// TestHandshakeAddress checks that the host connects only where go-plugin
// has a plugin listen: a Unix socket in the plugin's private directory (or,
// on Windows, TCP on the loopback address). A handshake naming anything else fails the
// start with an error naming the plugin and the address, before anything
// dials it or looks a name up.
func TestHandshakeAddress(t *testing.T) {
	for _, tc := range []struct{ network, addr string }{
		{"tcp", "10.255.255.1:1234"},
		{"tcp", "plugin.invalid:1234"},
		{"tcp", "localhost:1234"},
		{"unix", "/tmp/elsewhere/plugin.sock"},
		{"udp", "127.0.0.1:1234"},
	} {
		t.Run(tc.network+" "+tc.addr, func(t *testing.T) {
			path := script(t, t.TempDir(),
				"echo '1|1|"+tc.network+"|"+tc.addr+"|grpc'",
				"exec {sleep} 1000")
			var err error
			within(t, "Load", func() { _, err = newLoader(t, path, 0).Load(t.Context(), "acme") })
			var pe *plugin.Error
			want := `plugin "acme": its go-plugin handshake names the address ` + tc.network + ` "` + tc.addr + `"; idplug connects only to`
			if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %v: want a *plugin.Error starting %s", err, want)
			}
		})
	}
}

// TestPluginToHost checks which addresses the host connects to: the
// loopback TCP addresses only on Windows, where go-plugin uses them (with
// mutual TLS), and elsewhere a Unix socket in the start's directory alone.
func TestPluginToHost(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plugin-dir123")
	for _, tc := range []struct {
		network, addr string
		ok            bool
	}{
		{"unix", dir + "/plugin456", true},
		{"tcp", "127.0.0.1:10000", runtime.GOOS == "windows"},
		{"tcp", "[::1]:10000", runtime.GOOS == "windows"},
		{"unix", dir + "/../plugin456", false},
		{"unix", dir, false},
		{"unix", "plugin456", false},
		{"unix", "/tmp/plugin456", false},
		{"tcp", "127.0.0.1:0", false},
		{"tcp", "127.0.0.2:10000", false},
		{"tcp", "[::ffff:127.0.0.1]:10000", false},
		{"tcp", "0.0.0.0:10000", false},
		{"tcp", "192.168.1.1:10000", false},
		{"tcp", "localhost:10000", false},
		{"tcp", "127.0.0.1", false},
		{"tcp4", "127.0.0.1:10000", false},
		{"", "", false},
	} {
		err := subprocess.PluginToHost(dir, tc.network, tc.addr)
		if (err == nil) != tc.ok {
			t.Errorf("%s %s: %v, want ok=%v", tc.network, tc.addr, err, tc.ok)
		}
	}
}
