package subprocess

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin/runner"
)

// Bounds of waiting for a plugin's process and what it leaves behind.
const (
	// waitDelay is how long the pipes of a process that ended stay open for
	// go-plugin to read what is left in them. A descendant of the plugin
	// that still holds them open cannot keep the host waiting longer, like
	// exec.Cmd.WaitDelay (which does not apply here: go-plugin waits for the
	// pipes to close before it calls Wait).
	waitDelay = 500 * time.Millisecond
	// strayTimeout bounds killing the descendants of a process that left its
	// process group (Linux).
	strayTimeout = time.Second
)

// proc is one plugin process: go-plugin's runner.Runner over an exec.Cmd
// that runs the Executable with no stdin and the environment go-plugin
// builds (its handshake variables only: SkipHostEnv), in a process group of
// its own. It records the first line of stdout, where the handshake belongs,
// and how the process ended.
//
// The host, not go-plugin, owns the process's lifetime: a goroutine waits
// for the process from the start, kills what is left of its tree once it
// ended, and closes its pipes waitDelay later at the latest, so that no
// descendant holding them open keeps go-plugin, and so the host, waiting.
type proc struct {
	name      string
	cmd       *exec.Cmd
	socketDir string // go-plugin's, removed here if the process never starts
	marker    string // the environment entry that tells the plugin's descendants (Linux)

	stdout *firstLine
	stderr *pipe
	done   chan struct{} // closed once the process has been waited for
	err    error         // how it ended, once done is closed

	mu      sync.Mutex // guards process, killed and reaped
	killed  bool       // a kill came; Start must not start the process
	reaped  bool       // the process was waited for: its ID may name another process
	process *os.Process
	since   uint64 // when the process started, in the clock of /proc (Linux)
}

var _ runner.Runner = (*proc)(nil)

// newProc prepares cmd, which go-plugin built, to run exe.
func newProc(name string, exe *Executable, cmd *exec.Cmd, socketDir string) *proc {
	exe.command(cmd)
	cmd.Args = []string{exe.source}
	cmd.Stdin = nil // go-plugin hands over the host's stdin; a plugin gets none
	cmd.SysProcAttr = sysProcAttr()
	p := &proc{name: name, cmd: cmd, socketDir: socketDir, stdout: &firstLine{}, stderr: &pipe{}, done: make(chan struct{})}
	// go-plugin's fresh, private socket directory names this start of the
	// plugin, and its descendants inherit the variable.
	for _, kv := range cmd.Env {
		if strings.HasPrefix(kv, "PLUGIN_UNIX_SOCKET_DIR=") {
			p.marker = kv
		}
	}
	return p
}

// errKilled fails the start of a process killed before it started.
var errKilled = errors.New("stopped before it started")

// Start implements runner.Runner. The process writes to pipes whose write
// ends only it and its descendants hold: no goroutine of os/exec copies
// them, so Wait returns as soon as the process is gone.
func (p *proc) Start(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := errKilled
	if !p.killed {
		err = p.start()
	}
	if err != nil {
		os.RemoveAll(p.socketDir)
		return err
	}
	p.process = p.cmd.Process
	p.since = startTime(p.process.Pid)
	live.add(p)
	go p.wait()
	return nil
}

// start starts the process on new pipes (p.mu held).
func (p *proc) start() error {
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return err
	}
	p.cmd.Stdout, p.cmd.Stderr = outW, errW
	err = p.cmd.Start()
	outW.Close() // the process has its copies
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return err
	}
	p.stdout.p.f, p.stderr.f = outR, errR
	return nil
}

// wait waits for the process, kills what is left of its tree, and closes
// its pipes waitDelay later.
func (p *proc) wait() {
	err := p.end()
	live.remove(p)
	p.err = err
	close(p.done)
	time.AfterFunc(waitDelay, func() {
		p.stdout.p.Close()
		p.stderr.Close()
	})
}

// Wait implements runner.Runner; go-plugin calls it once it read stdout and
// stderr to their end.
func (p *proc) Wait(context.Context) error {
	<-p.done
	return p.err
}

// Kill implements runner.Runner: SIGKILL to the process and its process
// group, which any process state obeys. Plugins are sans-IO; they have
// nothing to save. A process not started yet never starts. Kill does not
// wait: the process's descendants that left its group are found and killed
// once it is gone.
func (p *proc) Kill(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.killed = true
	if p.process == nil || p.reaped {
		return nil
	}
	return killGroup(p.process)
}

func (p *proc) kill() { p.Kill(context.Background()) }

// Diagnose implements runner.Runner; Plugin words start failures itself.
func (p *proc) Diagnose(context.Context) string { return "" }

// Stdout implements runner.Runner.
func (p *proc) Stdout() io.ReadCloser { return p.stdout }

// Stderr implements runner.Runner.
func (p *proc) Stderr() io.ReadCloser { return p.stderr }

// Name implements runner.Runner: the plugin's name in the configuration.
func (p *proc) Name() string { return p.name }

// ID implements runner.Runner: the process ID, or "" before it started.
func (p *proc) ID() string {
	if pid := p.pid(); pid != 0 {
		return strconv.Itoa(pid)
	}
	return ""
}

// pid returns the process ID, or 0 before the process started.
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.process == nil {
		return 0
	}
	return p.process.Pid
}

// overTCP says whether plugins listen on TCP, as go-plugin has them do on
// Windows, rather than on a Unix socket in a private directory. Only then
// does the connection need mutual TLS (see the package documentation).
const overTCP = runtime.GOOS == "windows"

// PluginToHost implements runner.Runner: host and plugin share a machine,
// and the host connects only where go-plugin has a plugin listen: on a Unix
// socket in the directory go-plugin made for this start or, on Windows,
// over TCP on the loopback address. A handshake that names any other
// address is refused before anything dials it or looks a name up.
func (p *proc) PluginToHost(network, addr string) (string, string, error) {
	ok := false
	switch network {
	case "unix":
		ok = filepath.IsAbs(addr) && filepath.Dir(addr) == filepath.Clean(p.socketDir)
	case "tcp":
		if !overTCP {
			break
		}
		ap, err := netip.ParseAddrPort(addr)
		ok = err == nil && ap.Port() != 0 && (ap.Addr() == netip.MustParseAddr("127.0.0.1") || ap.Addr() == netip.IPv6Loopback())
	}
	if !ok {
		return "", "", &addressError{network, addr}
	}
	return network, addr, nil
}

// HostToPlugin implements runner.Runner.
func (p *proc) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// addressError refuses the address a plugin's handshake named.
type addressError struct{ network, addr string }

func (e *addressError) Error() string {
	where := "a Unix socket in the directory PLUGIN_UNIX_SOCKET_DIR names"
	if overTCP {
		where = "TCP at 127.0.0.1 or ::1"
	}
	return fmt.Sprintf("its go-plugin handshake names the address %s %q; idplug connects only to %s", e.network, e.addr, where)
}

// pipe is the read end of a process's stdout or stderr. A read that Close
// interrupts, or that comes after it, ends as at the end of the pipe.
type pipe struct {
	f      *os.File
	closed atomic.Bool
}

func (p *pipe) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	if err != nil && p.closed.Load() {
		err = io.EOF
	}
	return n, err
}

// Close closes the pipe, once.
func (p *pipe) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	return p.f.Close()
}

// firstLine passes the first line of a pipe, where the handshake belongs,
// through to go-plugin, and keeps its start for messages. Then it ends for
// go-plugin, which ignores the rest, and discards the rest itself: the
// process never blocks on a full pipe.
type firstLine struct {
	p    pipe
	mu   sync.Mutex
	line []byte
	full bool // line is complete, or as long as it gets
	done bool // the first line went through
}

// maxFirstLine bounds what firstLine keeps: a handshake line with its
// base64 certificate fits.
const maxFirstLine = 4 << 10

func (f *firstLine) Read(b []byte) (int, error) {
	f.mu.Lock()
	done := f.done
	f.mu.Unlock()
	if done {
		return 0, io.EOF
	}
	n, err := f.p.Read(b)
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := bytes.IndexByte(b[:n], '\n'); i >= 0 {
		n, f.done = i+1, true
		go io.Copy(io.Discard, &f.p) // until the pipe ends or is closed
	}
	if !f.full {
		chunk := bytes.TrimSuffix(b[:n], []byte("\n"))
		f.line = append(f.line, chunk[:min(len(chunk), maxFirstLine-len(f.line))]...)
		f.full = f.done || len(f.line) == maxFirstLine
	}
	return n, err
}

func (f *firstLine) Close() error { return f.p.Close() }

// String returns what was read of the first line.
func (f *firstLine) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return string(bytes.TrimSpace(f.line))
}

// live are the plugin processes running in this host process, for KillAll.
var live = procs{m: map[*proc]struct{}{}}

type procs struct {
	mu sync.Mutex
	m  map[*proc]struct{}
}

func (s *procs) add(p *proc) {
	s.mu.Lock()
	s.m[p] = struct{}{}
	s.mu.Unlock()
}

func (s *procs) remove(p *proc) {
	s.mu.Lock()
	delete(s.m, p)
	s.mu.Unlock()
}

// KillAll kills every plugin process this process started that is still
// running, whichever Plugin started it, with its process group and, on
// Linux, its descendants that left the group. Defer it at the top of main
// so that no plugin outlives a host that panics: deferred calls run while a
// panic unwinds, before the program dies. It does not wait for the
// processes to end, and returns within a second or so whatever they do.
func KillAll() {
	live.mu.Lock()
	defer live.mu.Unlock()
	for p := range live.m {
		p.kill()
		killStrays(p.marker, p.since)
	}
}
