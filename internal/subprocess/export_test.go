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
