package subprocess

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Executable is a private, immutable copy of a plugin executable. The bytes
// whose digest SHA256 reports are the bytes every start of the plugin runs,
// whatever happens to the original file after Copy read it: there is no gap
// between checking a pinned digest and executing.
//
// On Linux the copy is a sealed memfd (memfd_create with F_SEAL_WRITE and
// friends), executed through /proc/self/fd; it lives in memory and vanishes
// with the process. Elsewhere, or when memfds are unavailable, it is a
// read-only file in a fresh 0700 directory, removed by Close.
type Executable struct {
	source string // the file the bytes were read from
	sum    [sha256.Size]byte
	path   string   // what to execute
	keep   *os.File // holds the memfd open, or nil
	dir    string   // the private directory of a copy, or ""
}

// Copy reads the executable at path into a private, immutable copy.
func Copy(path string) (*Executable, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	e := &Executable{source: path, sum: sha256.Sum256(b)}
	// No child may inherit a writable descriptor of the copy: exec would
	// fail with ETXTBSY while one is open. Forks wait for ForkLock.
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	if sealed(e, b) == nil {
		return e, nil
	}
	if err := e.private(b); err != nil {
		return nil, fmt.Errorf("making a private copy of %s: %w", path, err)
	}
	return e, nil
}

// private writes b to a read-only file in a new 0700 directory.
func (e *Executable) private(b []byte) error {
	dir, err := os.MkdirTemp("", "idplug-plugin-")
	if err != nil {
		return err
	}
	p := filepath.Join(dir, filepath.Base(e.source))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o500)
	if err == nil {
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	e.path, e.dir = p, dir
	return nil
}

// SHA256 returns the hex digest of the copy's bytes.
func (e *Executable) SHA256() string { return hex.EncodeToString(e.sum[:]) }

// Source returns the path the copy was read from.
func (e *Executable) Source() string { return e.source }

// Close releases the copy. Processes already running from it keep running.
func (e *Executable) Close() error {
	var err error
	if e.keep != nil {
		err = e.keep.Close()
	}
	if e.dir != "" {
		err = os.RemoveAll(e.dir)
	}
	return err
}
