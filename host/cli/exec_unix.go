//go:build unix

package cli

import (
	"os"
	"syscall"
)

// replace runs the program at path in place of this process (execve); it
// returns only on failure.
func replace(path string, argv, env []string) error { return syscall.Exec(path, argv, env) }

// forwarded are the signals exec passes on to the command when it runs as a
// child.
var forwarded = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}
