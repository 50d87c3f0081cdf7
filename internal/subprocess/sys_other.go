//go:build !linux

package subprocess

import "syscall"

// sysProcAttr has nothing to add outside Linux: a plugin built with
// serve.Main exits by itself when its host process is gone.
func sysProcAttr() *syscall.SysProcAttr { return nil }
