//go:build unix

package cli

import (
	"os"
	"syscall"
)

// forwarded are the signals exec passes on to the command.
var forwarded = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}
