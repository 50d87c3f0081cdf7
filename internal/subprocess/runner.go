package subprocess

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"

	"github.com/hashicorp/go-plugin/runner"
)

// proc is one plugin process: go-plugin's runner.Runner over an exec.Cmd
// that runs the Executable with no stdin and the environment go-plugin
// builds (its handshake variables only: SkipHostEnv). It records the first
// line of stdout, where the handshake belongs, and how the process ended.
type proc struct {
	name      string
	cmd       *exec.Cmd
	socketDir string // go-plugin's, removed here if the process never starts

	stdout *firstLine
	stderr io.ReadCloser
	done   chan struct{} // closed once the process has been waited for
	err    error         // how it ended, once done is closed

	mu      sync.Mutex // guards process and killed
	killed  bool       // a kill came; Start must not start the process
	process *os.Process
}

var _ runner.Runner = (*proc)(nil)

// newProc prepares cmd, which go-plugin built, to run exe.
func newProc(name string, exe *Executable, cmd *exec.Cmd, socketDir string) (*proc, error) {
	exe.command(cmd)
	cmd.Args = []string{exe.source}
	cmd.Stdin = nil // go-plugin hands over the host's stdin; a plugin gets none
	cmd.SysProcAttr = sysProcAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	return &proc{name: name, cmd: cmd, socketDir: socketDir, stdout: &firstLine{r: stdout}, stderr: stderr, done: make(chan struct{})}, nil
}

// errKilled fails the start of a process killed before it started.
var errKilled = errors.New("stopped before it started")

// Start implements runner.Runner.
func (p *proc) Start(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := errKilled
	if !p.killed {
		err = p.cmd.Start()
	}
	if err != nil {
		os.RemoveAll(p.socketDir)
		return err
	}
	p.process = p.cmd.Process
	live.add(p)
	return nil
}

// Wait implements runner.Runner; go-plugin calls it once.
func (p *proc) Wait(context.Context) error {
	err := p.cmd.Wait()
	live.remove(p)
	p.err = err
	close(p.done)
	return err
}

// Kill implements runner.Runner: SIGKILL, which any process state obeys.
// Plugins are sans-IO; they have nothing to save. A process not started
// yet never starts.
func (p *proc) Kill(context.Context) error {
	p.mu.Lock()
	p.killed = true
	process := p.process
	p.mu.Unlock()
	if process == nil {
		return nil
	}
	if err := process.Kill(); !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
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

// PluginToHost implements runner.Runner: host and plugin share a machine.
func (p *proc) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

// HostToPlugin implements runner.Runner.
func (p *proc) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// firstLine passes a pipe through and keeps the start of its first line.
type firstLine struct {
	r    io.ReadCloser
	mu   sync.Mutex
	line []byte
	full bool // line is complete, or as long as it gets
}

// maxFirstLine bounds what firstLine keeps: a handshake line with its
// base64 certificate fits.
const maxFirstLine = 4 << 10

func (f *firstLine) Read(b []byte) (int, error) {
	n, err := f.r.Read(b)
	f.mu.Lock()
	if !f.full {
		chunk := b[:n]
		if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
			chunk, f.full = chunk[:i], true
		}
		f.line = append(f.line, chunk[:min(len(chunk), maxFirstLine-len(f.line))]...)
		f.full = f.full || len(f.line) == maxFirstLine
	}
	f.mu.Unlock()
	return n, err
}

func (f *firstLine) Close() error { return f.r.Close() }

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
// running, whichever Plugin started it. Defer it at the top of main so that
// no plugin outlives a host that panics: deferred calls run while a panic
// unwinds, before the program dies.
func KillAll() {
	live.mu.Lock()
	defer live.mu.Unlock()
	for p := range live.m {
		p.kill()
	}
}
