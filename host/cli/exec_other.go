//go:build !unix

package cli

import "os"

// replace cannot replace the process here: exec runs a child instead.
func replace(string, []string, []string) error { return errCannotReplace }

// forwarded are the signals exec passes on to the command.
var forwarded = []os.Signal{os.Interrupt}
