//go:build !unix

package cli

import "os"

// forwarded are the signals exec passes on to the command.
var forwarded = []os.Signal{os.Interrupt}
