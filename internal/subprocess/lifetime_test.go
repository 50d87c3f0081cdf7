package subprocess_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/subprocess"
	"github.com/idplug/idplug/internal/wire"
)

// The plugins of these tests are shell scripts that start processes of
// their own and then exec the misbehave fixture: children that hold the
// plugin's stdout and stderr open, a child in the plugin's process group,
// and daemons in sessions of their own. A plugin gets no environment, so a
// script names every program by its path, and writes the IDs of the
// processes it starts to files in a directory of the test.

// bound is how long any operation on a plugin may take in these tests,
// whatever its descendants do: far more than it needs, far less than
// forever.
const bound = 10 * time.Second

// within runs f and fails t if it does not return within bound.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(bound):
		t.Fatalf("%s did not return within %v", what, bound)
	}
}

// program returns the path of the program name, skipping t without it.
func program(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("no %s: %v", name, err)
	}
	return path
}

// script writes a shell script whose body is lines and returns its path.
// In lines, {sh}, {sleep}, {setsid}, {head}, {tr} and {dir} stand for the
// paths of those programs and of dir, and {misbehave}, {silent}, … for the
// copies of misbehave under those names.
func script(t *testing.T, dir string, lines ...string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("needs a Unix shell")
	}
	sh := program(t, "sh")
	body := strings.Join(append([]string{"#!" + sh}, lines...), "\n") + "\n"
	for _, name := range []string{"sh", "sleep", "setsid", "head", "tr"} {
		if strings.Contains(body, "{"+name+"}") {
			body = strings.ReplaceAll(body, "{"+name+"}", program(t, name))
		}
	}
	body = strings.ReplaceAll(body, "{dir}", dir)
	for name, path := range misbehave {
		body = strings.ReplaceAll(body, "{"+name+"}", path)
	}
	path := filepath.Join(t.TempDir(), "plugin")
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// startScript starts the executable at path as plugin acme, failing t if
// that does not return within bound; Close, when the test ends, too.
func startScript(t *testing.T, path string, opts subprocess.Options) (*subprocess.Plugin, error) {
	t.Helper()
	exe, err := subprocess.Copy(path)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var p *subprocess.Plugin
	within(t, "Start", func() { p, err = subprocess.Start(t.Context(), "acme", exe, opts) })
	if err == nil {
		t.Cleanup(func() { within(t, "Close", func() { p.Close(context.Background()) }) })
	}
	return p, err
}

// pidIn returns the process ID a script wrote to file, waiting for it.
func pidIn(t *testing.T, file string) int {
	t.Helper()
	for deadline := time.Now().Add(bound); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(file)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil && pid > 0 {
			t.Cleanup(func() { kill(pid) }) // should the test fail
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no process ID in %s: %v", file, err)
		}
	}
}

// kill kills process pid, if it still runs.
func kill(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

// allGone fails t unless every process of pids ends within bound.
func allGone(t *testing.T, what string, pids map[string]int) {
	t.Helper()
	if runtime.GOOS != "linux" {
		return
	}
	deadline := time.Now().Add(bound)
	for {
		var left []string
		for name, pid := range pids {
			if running(pid) {
				left = append(left, fmt.Sprintf("%s (%d)", name, pid))
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: %s still run", what, strings.Join(left, ", "))
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// holdsPipes is a plugin whose child, sleep, holds its stdout and stderr
// open: the plugin is killed, the pipes stay open.
func holdsPipes(t *testing.T, dir, plugin string) string {
	return script(t, dir,
		"{sleep} 1000 &",
		"echo $! >{dir}/child",
		"exec {"+plugin+"}")
}

// TestDescendantsHoldingPipes checks that no operation on a plugin waits
// for its pipes to close when a descendant of the plugin holds them open:
// each ends in bounded time, and the descendant is killed with the plugin.
func TestDescendantsHoldingPipes(t *testing.T) {
	t.Run("close", func(t *testing.T) {
		dir := t.TempDir()
		p, err := startScript(t, holdsPipes(t, dir, "misbehave"), subprocess.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pids := map[string]int{"the plugin": subprocess.PID(p), "its child": pidIn(t, dir+"/child")}
		if out, err := configure(t, p, ""); err != nil || out.OK == nil {
			t.Fatalf("configure: %+v, %v", out, err)
		}
		within(t, "Close", func() { p.Close(t.Context()) })
		allGone(t, "after Close", pids)
	})
	t.Run("crash", func(t *testing.T) {
		dir := t.TempDir()
		p, err := startScript(t, holdsPipes(t, dir, "misbehave"), subprocess.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pids := map[string]int{"the plugin": subprocess.PID(p), "its child": pidIn(t, dir+"/child")}
		within(t, "a call that crashes the plugin", func() {
			_, err = configure(t, p, "crash")
		})
		wantError(t, err, "the plugin process exited with code 2 during the call")
		allGone(t, "after the crash", pids)
		within(t, "the call after", func() { _, err = configure(t, p, "") })
		if err != nil {
			t.Errorf("the call after the crash: %v", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		dir := t.TempDir()
		p, err := startScript(t, holdsPipes(t, dir, "misbehave"), subprocess.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pids := map[string]int{"the plugin": subprocess.PID(p), "its child": pidIn(t, dir+"/child")}
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		within(t, "a call past its deadline", func() {
			var out wire.ConfigureOutput
			err = call(ctx, p, wire.FuncConfigure, configureInput("hang"), &out)
		})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a call past its deadline: %v", err)
		}
		allGone(t, "after the deadline", pids)
	})
	t.Run("start timeout", func(t *testing.T) {
		dir := t.TempDir()
		_, err := startScript(t, holdsPipes(t, dir, "silent"), subprocess.Options{StartTimeout: 300 * time.Millisecond})
		wantError(t, err, "did not complete the go-plugin handshake within 300ms")
		allGone(t, "after the failed start", map[string]int{"its child": pidIn(t, dir+"/child")})
	})
	t.Run("child of a Go plugin", func(t *testing.T) {
		p, err := startScript(t, misbehave["misbehave"], subprocess.Options{})
		if err != nil {
			t.Fatal(err)
		}
		plugin := subprocess.PID(p)
		var out wire.ConfigureOutput
		in := configureInput("spawn")
		in.Settings["command"] = program(t, "sleep")
		if err := call(t.Context(), p, wire.FuncConfigure, in, &out); err != nil || len(out.Err) != 1 || out.Err[0].Setting != "pid" {
			t.Fatalf("configure spawn: %+v, %v", out, err)
		}
		child, err := strconv.Atoi(out.Err[0].Message)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { kill(child) })
		within(t, "Close", func() { p.Close(t.Context()) })
		allGone(t, "after Close", map[string]int{"the plugin": plugin, "its child": child})
	})
}

// spawns is a plugin that starts a child in its process group, a process
// in a session of its own whose parent is the plugin, and a daemon that
// forks into a session of its own and whose parent exits at once, each
// with its own stdin, stdout and stderr.
func spawns(t *testing.T, dir string) string {
	const own = " </dev/null >/dev/null 2>&1"
	return script(t, dir,
		"{sleep} 1000"+own+" &",
		"echo $! >{dir}/child",
		"{setsid} {sh} -c 'echo $$ >{dir}/session; exec {sleep} 1000'"+own+" &",
		"{setsid} -f {sh} -c 'echo $$ >{dir}/daemon; exec {sleep} 1000'"+own,
		"exec {misbehave}")
}

// TestDescendantsDie checks that a plugin's descendants end with it: on
// Linux those that left its process group, as daemons do, too.
func TestDescendantsDie(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc; elsewhere only the process group is killed")
	}
	program(t, "setsid")
	started := func(t *testing.T) (*subprocess.Plugin, map[string]int) {
		t.Helper()
		dir := t.TempDir()
		p, err := startScript(t, spawns(t, dir), subprocess.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pids := map[string]int{"the plugin": subprocess.PID(p)}
		for _, name := range []string{"child", "session", "daemon"} {
			pids["its "+name] = pidIn(t, filepath.Join(dir, name))
		}
		return p, pids
	}
	t.Run("close", func(t *testing.T) {
		p, pids := started(t)
		within(t, "Close", func() { p.Close(t.Context()) })
		allGone(t, "after Close", pids)
	})
	t.Run("crash", func(t *testing.T) {
		p, pids := started(t)
		_, err := configure(t, p, "crash")
		wantError(t, err, "the plugin process exited with code 2 during the call")
		allGone(t, "after the crash", pids)
	})
	t.Run("KillAll", func(t *testing.T) {
		_, pids := started(t)
		within(t, "KillAll", subprocess.KillAll)
		allGone(t, "after KillAll", pids)
	})
}

// blocking is a slog handler that blocks on a record whose message is msg
// until release is closed, as writing to a full pipe nobody reads does.
type blocking struct {
	slog.Handler
	msg     string
	release chan struct{}
}

func (h blocking) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == h.msg {
		<-h.release
	}
	return h.Handler.Handle(ctx, r)
}

func (h blocking) WithAttrs(attrs []slog.Attr) slog.Handler {
	h.Handler = h.Handler.WithAttrs(attrs)
	return h
}

// TestCloseWithBlockedLogger checks that closing a plugin does not wait
// without bound for go-plugin, which waits for the host's logger to take
// what the plugin wrote to stderr.
func TestCloseWithBlockedLogger(t *testing.T) {
	h := blocking{slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}), "the logger blocks on this", make(chan struct{})}
	defer close(h.release)
	p, err := startScript(t, script(t, "", "echo the logger blocks on this >&2", "exec {misbehave}"), subprocess.Options{Logger: slog.New(h)})
	if err != nil {
		t.Fatal(err)
	}
	within(t, "Close", func() { p.Close(t.Context()) })
}
