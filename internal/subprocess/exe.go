package subprocess

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// Executable is a private, immutable copy of a plugin executable. The bytes
// whose digest SHA256 reports are the bytes every start of the plugin runs,
// whatever happens to the original file after Copy read it: there is no gap
// between checking a pinned digest and executing.
//
// On Linux the copy is a sealed memfd (memfd_create with F_SEAL_WRITE and
// friends), which a child receives as its descriptor 3 and executes as
// /proc/self/fd/3; it lives in memory and vanishes with the process.
// Elsewhere, or when memfds are unavailable, it is a read-only file in a
// fresh 0700 directory, removed by Close.
type Executable struct {
	source string // the file the bytes were read from
	sum    [sha256.Size]byte
	path   string   // the private copy, or "" for a memfd
	keep   *os.File // a read-only descriptor of the memfd, or nil
	dir    string   // the private directory of a copy, or ""
}

// command makes cmd execute the copy. A memfd is handed to the child as
// its descriptor 3, open across exec, and executed by that number: an
// interpreter that a #! line names opens the script by the path executed,
// after exec closed the descriptors it was not given. (The plugin keeps
// that read-only descriptor of its own executable.)
func (e *Executable) command(cmd *exec.Cmd) {
	if e.keep == nil {
		cmd.Path = e.path
		return
	}
	cmd.ExtraFiles = []*os.File{e.keep}
	cmd.Path = "/proc/self/fd/3"
}

// Copy reads the executable at path into a private, immutable copy,
// hashing the bytes as it writes them.
func Copy(path string) (*Executable, error) {
	src, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	e := &Executable{source: path}
	// No child may inherit a writable descriptor of the copy: exec would
	// fail with ETXTBSY while one is open. Forks wait for ForkLock.
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	dst, err := memfd(e)
	if err != nil {
		dst, err = e.private()
	}
	if err != nil {
		return nil, fmt.Errorf("making a private copy of %s: %w", path, err)
	}
	h := sha256.New()
	_, err = io.CopyBuffer(io.MultiWriter(dst, h), src, make([]byte, 256<<10))
	if err == nil && e.dir == "" {
		err = seal(e, dst)
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("making a private copy of %s: %w", path, err)
	}
	h.Sum(e.sum[:0])
	return e, nil
}

// private creates the copy as a read-only file in a new 0700 directory and
// returns it open for writing.
func (e *Executable) private() (*os.File, error) {
	dir, err := os.MkdirTemp("", "idplug-plugin-")
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, filepath.Base(e.source))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o500)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	e.path, e.dir = p, dir
	return f, nil
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
