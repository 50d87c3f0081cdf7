//go:build !linux

package subprocess

import "errors"

// sealed is Linux only; elsewhere the copy is a private file.
func sealed(*Executable, []byte) error { return errors.New("memfd: not on Linux") }
