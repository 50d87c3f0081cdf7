package subprocess

import "syscall"

// sysProcAttr has the kernel kill a plugin when the host thread that
// started it ends, which is when the host process ends, however it ends.
// (Were that thread to end before, the plugin dies with it and the next
// call starts it again.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
