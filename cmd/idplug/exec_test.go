package main_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/demoidp"
)

// TestExec runs commands through `idplug exec`: the access token reaches
// the command in the variable asked for, the exit status passes through,
// and a command is not run without a login.
func TestExec(t *testing.T) {
	e := newEnv(t, demoidp.Options{})
	if r := e.run("exec", "--", "sh", "-c", "echo ran"); r.code != 3 || strings.Contains(r.stdout, "ran") || !strings.Contains(r.stderr, "login") {
		t.Fatalf("exec before login: exit %d, stdout %q, stderr %q; want 3 with a hint, the command not run", r.code, r.stdout, r.stderr)
	}
	if r, _ := e.login(e.approve); r.code != 0 {
		t.Fatalf("login: exit %d: %s", r.code, r.stderr)
	}
	tok := e.run("token")
	if tok.code != 0 {
		t.Fatalf("token: exit %d: %s", tok.code, tok.stderr)
	}
	want := strings.TrimSpace(tok.stdout)
	if r := e.run("exec", "--", "sh", "-c", `printf %s "$IDPLUG_TOKEN"`); r.code != 0 || r.stdout != want {
		t.Errorf("exec: exit %d, the command saw %q; want the access token", r.code, r.stdout)
	}
	if r := e.run("exec", "--env", "API_TOKEN", "--", "sh", "-c", `printf %s "$API_TOKEN"`); r.code != 0 || r.stdout != want {
		t.Errorf("exec --env API_TOKEN: exit %d, the command saw %q; want the access token", r.code, r.stdout)
	}
	if r := e.run("exec", "--", "sh", "-c", "echo out; echo err >&2; exit 7"); r.code != 7 || r.stdout != "out\n" || r.stderr != "err\n" {
		t.Errorf("exec of a failing command: exit %d, stdout %q, stderr %q; want 7 and its own output only", r.code, r.stdout, r.stderr)
	}
	if r := e.run("exec", "--env", "1BAD", "--", "true"); r.code != 2 {
		t.Errorf("exec --env 1BAD: exit %d, want 2", r.code)
	}
	if r := e.run("exec", "--", "/nonexistent/command"); r.code != 1 || !strings.Contains(r.stderr, "/nonexistent/command") {
		t.Errorf("exec of a missing command: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestExecForwardsSignals: a signal sent to idplug's PID, as kubectl, git
// and CI send it, reaches the command, whose status idplug then exits with.
func TestExecForwardsSignals(t *testing.T) {
	e := newEnv(t, demoidp.Options{})
	if r, _ := e.login(e.approve); r.code != 0 {
		t.Fatalf("login: exit %d: %s", r.code, r.stderr)
	}
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{{syscall.SIGTERM, "TERM", 42}, {syscall.SIGINT, "INT", 43}, {syscall.SIGHUP, "HUP", 44}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			script := fmt.Sprintf("trap 'echo got %[1]s; exit %[2]d' %[1]s; echo ready; while :; do sleep 0.05; done", tc.name, tc.code)
			cmd := e.command(ctx, "exec", "--", "sh", "-c", script)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewScanner(stdout)
			if !lines.Scan() || lines.Text() != "ready" {
				t.Fatalf("the command did not start: %q, %s", lines.Text(), stderr.String())
			}
			cmd.Process.Signal(tc.sig)
			var got []string
			for lines.Scan() {
				got = append(got, lines.Text())
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.code || strings.Join(got, "\n") != "got "+tc.name {
				t.Errorf("after SIG%s: %v, output %q, stderr %q; want the command to get it and exit %d", tc.name, err, got, stderr.String(), tc.code)
			}
		})
	}
}
