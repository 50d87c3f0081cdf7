package subprocess

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// memfd returns a new memfd for the copy, open for writing. The caller
// holds syscall.ForkLock.
func memfd(e *Executable) (*os.File, error) {
	name := "idplug-plugin-" + filepath.Base(e.source)
	const flags = unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	fd, err := unix.MemfdCreate(name, flags|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) { // kernels before 6.3 know no MFD_EXEC
		fd, err = unix.MemfdCreate(name, flags)
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// seal makes the memfd f immutable and has e keep a read-only descriptor
// of it; the caller closes f, since execve refuses a file open for writing.
func seal(e *Executable, f *os.File) error {
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return err
	}
	if err := f.Chmod(0o500); err != nil {
		return err
	}
	ro, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	e.keep = os.NewFile(uintptr(ro), f.Name())
	return nil
}
