//go:build !linux

package subprocess

import (
	"errors"
	"os"
)

// memfd is Linux only; elsewhere the copy is a private file.
func memfd(*Executable) (*os.File, error) { return nil, errors.New("memfd: not on Linux") }

// seal is never called outside Linux.
func seal(*Executable, *os.File) error { return errors.New("memfd: not on Linux") }
