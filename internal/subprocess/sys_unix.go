//go:build unix

package subprocess

import (
	"errors"
	"os"
	"syscall"
)

// killGroup sends SIGKILL to process and every process of its process
// group, whose ID is process's: Start put it in a group of its own.
func killGroup(process *os.Process) error {
	if err := syscall.Kill(-process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}
