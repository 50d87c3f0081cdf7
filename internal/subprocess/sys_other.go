//go:build !unix

package subprocess

import (
	"errors"
	"os"
	"syscall"
)

// sysProcAttr has nothing to add outside Unix: a plugin built with
// serve.Main exits by itself when its host process is gone.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills process only: its descendants are not tracked.
func killGroup(process *os.Process) error {
	if err := process.Kill(); !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// end waits for the process.
func (p *proc) end() error {
	defer func() {
		p.mu.Lock()
		p.reaped = true
		p.mu.Unlock()
	}()
	return p.cmd.Wait()
}

// killStrays does nothing outside Linux: descendants are not tracked.
func killStrays(string, uint64) {}

// startTime is for killStrays.
func startTime(int) uint64 { return 0 }
