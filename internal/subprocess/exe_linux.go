package subprocess

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// sealed puts b in a sealed memfd and points e at it. The caller holds
// syscall.ForkLock.
func sealed(e *Executable, b []byte) error {
	name := "idplug-plugin-" + filepath.Base(e.source)
	const flags = unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	fd, err := unix.MemfdCreate(name, flags|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) { // kernels before 6.3 know no MFD_EXEC
		fd, err = unix.MemfdCreate(name, flags)
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for rest := b; len(rest) > 0; {
		n, err := unix.Write(fd, rest)
		if err != nil {
			return err
		}
		rest = rest[n:]
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, 0o500); err != nil {
		return err
	}
	// execve refuses a file open for writing: keep a read-only descriptor,
	// numbered above stdin, stdout and stderr, which a child's are dup'ed
	// onto before it executes the path.
	ro, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if ro < 3 {
		high, err := unix.FcntlInt(uintptr(ro), unix.F_DUPFD_CLOEXEC, 3)
		unix.Close(ro)
		if err != nil {
			return err
		}
		ro = high
	}
	e.keep = os.NewFile(uintptr(ro), name)
	e.path = fmt.Sprintf("/proc/self/fd/%d", ro)
	return nil
}
