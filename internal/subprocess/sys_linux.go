package subprocess

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sysProcAttr starts a plugin in a process group of its own, which its
// children join, and has the kernel kill the plugin when the host thread
// that started it ends, which is when the host process ends, however it
// ends. (Were that thread to end before, the plugin dies with it and the
// next call starts it again.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// end waits for the process to exit and, while it is not yet reaped, so
// that its ID still names its process group and no other process, kills
// what is left of the group and the descendants that left it; then it
// reaps the process and returns how it ended.
func (p *proc) end() error {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, p.process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
	for errors.Is(err, unix.EINTR) {
		err = unix.Waitid(unix.P_PID, p.process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
	}
	if err != nil { // say, SIGCHLD is ignored and the kernel reaped it
		err := p.cmd.Wait()
		p.mu.Lock()
		p.reaped = true
		p.mu.Unlock()
		return err
	}
	p.kill()
	killStrays(p.marker, p.since)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reaped = true
	return p.cmd.Wait() // at once: the process has exited
}

// killStrays kills the processes that descend from a plugin process but
// left its process group (a daemon that called setsid, say), wherever they
// were re-parented: the processes started since the plugin (since, in the
// clock of /proc) whose environment holds marker, the go-plugin variable
// that names the plugin's private socket directory. The process group and
// the marker are all that Linux keeps of where a process came from once its
// parent is gone; a descendant that both left the group and dropped the
// variable from its environment (or that the host may not inspect, like a
// setuid program) is not found. killStrays returns when it finds no such
// process alive any more, or after strayTimeout.
func killStrays(marker string, since uint64) {
	if marker == "" {
		return
	}
	entry := []byte(marker + "\x00")
	for deadline := time.Now().Add(strayTimeout); killMarked(entry, since) > 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond) // for SIGKILL to take effect
	}
}

// killMarked sends SIGKILL to the live processes started since since whose
// environment holds entry, and returns how many it found.
func killMarked(entry []byte, since uint64) int {
	dir, err := os.Open("/proc")
	if err != nil {
		return 0
	}
	names, _ := dir.Readdirnames(-1)
	dir.Close()
	found, self, buf := 0, os.Getpid(), make([]byte, 1024)
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == self {
			continue
		}
		if start, ok := liveSince(pid, buf); !ok || start < since || !marked(pid, entry) {
			continue
		}
		found++
		// A pidfd holds on to the process: checked again through it, the
		// mark cannot belong to another process that took a recycled ID.
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			if errors.Is(err, unix.ENOSYS) { // kernels before 5.3
				syscall.Kill(pid, syscall.SIGKILL)
			}
			continue
		}
		if marked(pid, entry) {
			unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		}
		unix.Close(fd)
	}
	return found
}

// liveSince returns when process pid started, in clock ticks since boot,
// and whether it is alive: not a zombie. It reads /proc/<pid>/stat into
// buf, with as few system calls as it takes: it reads that of every
// process.
func liveSince(pid int, buf []byte) (uint64, bool) {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	n, err := unix.Read(fd, buf)
	unix.Close(fd)
	if err != nil {
		return 0, false
	}
	// pid (comm) state ppid … starttime (field 22); comm may hold spaces
	// and parentheses.
	b := buf[:n]
	fields := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
	if len(fields) < 20 || string(fields[0]) == "Z" || string(fields[0]) == "X" {
		return 0, false
	}
	start, err := strconv.ParseUint(string(fields[19]), 10, 64)
	return start, err == nil
}

// startTime returns when process pid started, in clock ticks since boot,
// or 0 when it cannot tell.
func startTime(pid int) uint64 {
	start, _ := liveSince(pid, make([]byte, 1024))
	return start
}

// marked reports whether the environment of process pid holds entry, a
// NUL-terminated NAME=value.
func marked(pid int, entry []byte) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	return err == nil && (bytes.HasPrefix(env, entry) || bytes.Contains(env, append([]byte{0}, entry...)))
}
