package subprocess

// Hooks for the tests of package subprocess_test, which also reach this
// package through internal/plugin, which imports it.

// PID returns the process ID of p's running process, or 0 when none runs.
// The tests use it to check which process answered and that none outlives
// its host.
func PID(p *Plugin) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil {
		return 0
	}
	return p.cur.proc.pid()
}

// ErrClosed is the error of a call on a closed Plugin.
var ErrClosed = errClosed

// PluginToHost is the check of the address a plugin's handshake names,
// for a plugin whose private socket directory is socketDir.
func PluginToHost(socketDir, network, addr string) error {
	_, _, err := (&proc{socketDir: socketDir}).PluginToHost(network, addr)
	return err
}

// MaxLogPerProcess bounds what a plugin process logs.
const MaxLogPerProcess = maxLogPerProcess
