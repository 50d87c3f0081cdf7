//go:build unix && !linux

package subprocess

import "syscall"

// sysProcAttr starts a plugin in a process group of its own, which its
// children join. A plugin built with serve.Main exits by itself when its
// host process is gone; nothing kills its descendants then.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// end waits for the process and then kills what is left of its process
// group. (Without waitid's WNOWAIT, the group is killed just after its
// leader was reaped: only if the group is empty by then, and the system
// gave its ID to a new group in that instant, could the signal reach
// another group.)
func (p *proc) end() error {
	err := p.cmd.Wait()
	p.kill()
	p.mu.Lock()
	p.reaped = true
	p.mu.Unlock()
	return err
}

// killStrays does nothing outside Linux: descendants that left the
// plugin's process group are not tracked.
func killStrays(string, uint64) {}

// startTime is for killStrays.
func startTime(int) uint64 { return 0 }
