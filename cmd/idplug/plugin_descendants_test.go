//go:build linux

package main_test

// End-to-end tests of a subprocess plugin whose own processes outlive it
// unless the host kills them: a child that holds the plugin's stdout and
// stderr open, and a daemon in a session of its own. idplug must end
// promptly, by itself or on SIGTERM, and leave none of them behind.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/idplug/idplug/internal/demoidp"
)

// promptly is how long idplug may take to end in these tests: far more than
// it needs, far less than forever.
const promptly = 10 * time.Second

// descendantsEnv is an env whose profile uses, as the subprocess plugin
// oidc-sub, a script that starts a sleep child and a setsid daemon, both
// holding its stdout and stderr, runs the shell command then, if not "",
// and then execs the oidc provider built as a subprocess plugin. It returns
// the path of that executable and the files the script writes the child's
// and the daemon's process IDs to.
func descendantsEnv(t *testing.T, then string) (*env, string, []string) {
	t.Helper()
	e := newEnv(t, demoidp.Options{})
	plugins := filepath.Join(e.dir, "bin", "plugins")
	exe := filepath.Join(plugins, "idplug-plugin-oidc")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, oidcExecutable(t), 0o755); err != nil {
		t.Fatal(err)
	}
	child, daemon := filepath.Join(e.dir, "child.pid"), filepath.Join(e.dir, "daemon.pid")
	sh, sleep := requireProgram(t, "sh"), requireProgram(t, "sleep")
	script := fmt.Sprintf("#!%s\n%s 1000 &\necho $! >%s\n%s -f %s -c 'echo $$ >%s; exec %s 1000'\n%s\nexec %s\n",
		sh, sleep, child, requireProgram(t, "setsid"), sh, daemon, sleep, then, exe)
	wrapper := filepath.Join(plugins, "oidc-wrapper")
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(script))
	e.subprocessProfile("oidc-wrapper", hex.EncodeToString(sum[:]))
	return e, exe, []string{child, daemon}
}

// requireProgram returns the path of the program name, skipping t without it.
func requireProgram(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("no %s: %v", name, err)
	}
	return path
}

// descendants returns the process IDs in files, failing t if a file has
// none.
func descendants(t *testing.T, files []string) []int {
	t.Helper()
	var pids []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || perr != nil {
			t.Fatalf("the plugin wrote no process ID to %s: %v %v", f, err, perr)
		}
		t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) }) // should the test fail
		pids = append(pids, pid)
	}
	return pids
}

// noneLeft fails t if the plugin at exe or a process of pids still runs a
// moment after what.
func noneLeft(t *testing.T, exe string, pids []int, what string) {
	t.Helper()
	noPluginProcess(t, exe, what)
	alive := func(pid int) bool {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		return err == nil && len(fields) > 0 && fields[0] != "Z"
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("the plugin's process %d outlived %s", pid, what)
		}
	}
}

func TestPluginDescendants(t *testing.T) {
	// A command that succeeded ends by itself, although the plugin's pipes
	// stay open after it was killed.
	t.Run("exit", func(t *testing.T) {
		e, exe, files := descendantsEnv(t, "")
		ctx, cancel := context.WithTimeout(t.Context(), promptly)
		defer cancel()
		out, err := e.command(ctx, "plugins", "info", "oidc-sub").CombinedOutput()
		pids := descendants(t, files)
		if ctx.Err() != nil {
			t.Fatalf("idplug plugins info did not end within %v: %s", promptly, out)
		}
		if err != nil || !strings.Contains(string(out), "contract version: 1") {
			t.Errorf("plugins info: %v: %s", err, out)
		}
		noneLeft(t, exe, pids, "plugins info")
	})
	// SIGTERM ends a login waiting for approval.
	t.Run("SIGTERM", func(t *testing.T) {
		e, exe, files := descendantsEnv(t, "")
		cmd := e.command(t.Context(), "login", "--json", "--no-browser")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		if !sc.Scan() || !strings.Contains(sc.Text(), `"verification"`) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("login printed %q, want the verification event: %s", sc.Text(), stderr.String())
		}
		pids := descendants(t, files)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() {
			for sc.Scan() {
			}
			exited <- cmd.Wait()
		}()
		select {
		case <-exited:
		case <-time.After(promptly):
			cmd.Process.Kill()
			<-exited
			t.Fatalf("idplug did not end within %v of SIGTERM: %s", promptly, stderr.String())
		}
		if code := cmd.ProcessState.ExitCode(); code != 1 {
			t.Errorf("exit code %d after SIGTERM, want 1: %s", code, stderr.String())
		}
		noneLeft(t, exe, pids, "SIGTERM")
	})
	// A second SIGTERM ends idplug whatever it is doing: here, blocked
	// writing the plugin's debug log to a stderr nobody reads.
	t.Run("second SIGTERM", func(t *testing.T) {
		e, exe, files := descendantsEnv(t, requireProgram(t, "head")+" -c 10485760 /dev/zero | "+requireProgram(t, "tr")+" '\\0' x >&2")
		cmd := e.command(t.Context(), "--debug", "plugins", "info", "oidc-sub")
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		cmd.Stderr = w
		err = cmd.Start()
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// idplug blocks once it wrote what the pipe holds, and then what is
		// unread stays the same.
		for last, same, deadline := -1, 0, time.Now().Add(promptly); same < 5; time.Sleep(100 * time.Millisecond) {
			unread, err := unix.IoctlGetInt(int(r.Fd()), unix.TIOCINQ) // FIONREAD
			if err != nil {
				t.Fatal(err)
			}
			if unread == last && unread >= 16<<10 {
				same++
			} else {
				last, same = unread, 0
			}
			if time.Now().After(deadline) {
				t.Fatalf("idplug does not fill its stderr (%d bytes)", unread)
			}
		}
		pids := descendants(t, files)
		for range 2 {
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		select {
		case <-exited:
		case <-time.After(promptly):
			cmd.Process.Kill()
			<-exited
			t.Fatalf("idplug did not end within %v of a second SIGTERM", promptly)
		}
		if code := cmd.ProcessState.ExitCode(); code != 1 {
			t.Errorf("exit code %d after a second SIGTERM, want 1", code)
		}
		noneLeft(t, exe, pids, "a second SIGTERM")
	})
}
