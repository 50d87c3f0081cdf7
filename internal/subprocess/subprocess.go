// Package subprocess carries provider plugins that run as separate
// processes: it implements plugin.Transport over hashicorp/go-plugin and the
// gRPC service of wit/idplug.proto, which carries the same JSON documents as
// the WebAssembly transport. A plugin written with sdk/ becomes one with a
// plain `go build` (serve.Main serves it).
//
// # Design
//
// Copy reads a plugin's executable once into a private, immutable
// Executable, whose digest the host checks against the configuration's pin;
// every start runs exactly those bytes. Start runs it with go-plugin: gRPC
// only, no environment of the host's, no stdin, and stderr, stdout and
// sdk.Logf records sent to the host's logger with the attribute
// plugin=<name>, within a budget per process. The host connects only to
// the plugin's Unix socket in the 0700 directory go-plugin made for this
// start, which only the user's own processes reach, and those could read
// the host's memory anyway: the connection needs no TLS, and has none
// (go-plugin's AutoMTLS, a P-521 key pair on each side and their
// handshake, cost every start ~30 ms). On Windows, where go-plugin listens
// on a loopback port every local user reaches, the host connects over TCP
// to 127.0.0.1 or ::1 only, with automatic mutual TLS. On Linux the kernel
// kills the process when the host dies; elsewhere serve.Main exits when its
// parent is gone.
//
// The process runs in a process group of its own. Whenever it ends, the
// host kills that group and, on Linux, the processes the plugin started
// that left the group but carry its environment (see killStrays). No
// operation waits without bound for what the plugin's descendants do: the
// host reads the process's pipes only until waitDelay after it ended, and
// gives go-plugin stopTimeout at most to clean up after it.
//
// A subprocess plugin is not sandboxed: it is a native process with the
// host user's privileges, its files and its network. Only the pin, a clean
// environment and the process's lifetime are the host's to enforce, so
// only executables trusted like the host itself belong in a configuration.
//
// One process serves all of a plugin's calls, concurrently: a provider is
// stateless and its methods may run in parallel. Each call has a deadline
// (its context's, set by internal/plugin). A process that crashes, misses
// the deadline, breaks the protocol or answers with an envelope the caller
// refuses is killed, and the next call starts a new one.
package subprocess

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
)

// Defaults of Options.
const (
	// DefaultStartTimeout bounds starting a process, up to the end of the
	// go-plugin handshake. A plugin starts in milliseconds; this only stops
	// one that never says hello.
	DefaultStartTimeout = 10 * time.Second
)

// errClosed is the error of a call on a closed Plugin.
var errClosed = errors.New("the plugin was closed")

// Options configure Start. The zero value is ready to use.
type Options struct {
	// StartTimeout bounds starting a process, when a call needs one, on top
	// of the call's deadline. Zero means DefaultStartTimeout.
	StartTimeout time.Duration
	// Logger receives the plugin's log records, stdout and stderr, and
	// go-plugin's diagnostics at debug level: records of at most 4 KiB,
	// and 1 MiB in all for each process. Nil means slog.Default().
	Logger *slog.Logger
}

// Plugin is a subprocess plugin: a plugin.Transport over its process. It is
// safe for concurrent use.
type Plugin struct {
	name string
	exe  *Executable
	opts Options
	log  *slog.Logger

	startMu sync.Mutex // one start at a time

	mu       sync.Mutex
	cur      *process // the running process, or nil
	starting *proc    // the process being started, or nil
	closed   bool
}

// process is a started plugin process and its gRPC client.
type process struct {
	client *goplugin.Client
	proc   *proc
	stderr *tail
	rpc    wire.ProviderClient
}

// Start starts the plugin the configuration calls name from exe and
// returns it ready to call. The Plugin owns exe from then on, also when
// Start fails.
func Start(ctx context.Context, name string, exe *Executable, opts Options) (*Plugin, error) {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	p := &Plugin{name: name, exe: exe, opts: opts, log: opts.Logger.With("plugin", name)}
	if _, err := p.process(ctx); err != nil {
		p.Close(ctx)
		return nil, err
	}
	return p, nil
}

// Call runs the contract function fn over the JSON document input and hands
// the result envelope to keep. It starts a process first when none runs, and
// ends when ctx is done. After a crash, cancellation, or an error from keep,
// the process is killed; the next call starts another.
func (p *Plugin) Call(ctx context.Context, fn wire.Function, input []byte, keep func([]byte) error) error {
	if !slices.Contains(wire.Functions, fn) { // refused here, not blamed on the process
		return errors.New("not a function of the contract")
	}
	pr, err := p.process(ctx)
	if err != nil {
		return err
	}
	out, err := wire.CallGRPC(ctx, pr.rpc, fn, input)
	if err != nil {
		err = p.failure(ctx, err, pr)
		p.discard(pr)
		return err
	}
	if err := keep(out); err != nil {
		p.discard(pr)
		return err
	}
	return nil
}

// Close kills the plugin's process and releases its executable. Calls in
// progress fail; so do later ones.
func (p *Plugin) Close(context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	cur, starting := p.cur, p.starting
	p.cur = nil
	p.mu.Unlock()
	if starting != nil {
		starting.kill()
	}
	p.startMu.Lock() // wait for a start in progress to end; it sees p closed
	defer p.startMu.Unlock()
	if cur != nil {
		cur.stop()
	}
	return p.exe.Close()
}

// process returns the running process, starting one when none runs.
func (p *Plugin) process(ctx context.Context) (*process, error) {
	current := func() (*process, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed {
			return nil, errClosed
		}
		return p.cur, nil
	}
	if pr, err := current(); pr != nil || err != nil {
		return pr, err
	}
	p.startMu.Lock()
	defer p.startMu.Unlock()
	if pr, err := current(); pr != nil || err != nil {
		return pr, err
	}
	pr, err := p.start(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed && err == nil:
		pr.stop()
		fallthrough
	case p.closed:
		return nil, errClosed
	case err != nil:
		return nil, err
	}
	p.cur = pr
	return pr, nil
}

// start starts a process and completes the go-plugin handshake.
func (p *Plugin) start(ctx context.Context) (*process, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pr := &process{stderr: &tail{}}
	out := newBudget(p.log)
	pr.client = goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  wire.Handshake(),
		Plugins:          goplugin.PluginSet{wire.PluginName: &wire.GRPCPlugin{}},
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         overTCP,
		SkipHostEnv:      true,
		StartTimeout:     p.opts.StartTimeout,
		Logger:           newLogger(out, p.name, pr.stderr),
		SyncStdout:       out.lines("stdout", slog.LevelInfo, nil),
		SyncStderr:       out.lines("stderr", slog.LevelWarn, pr.stderr),
		GRPCDialOptions:  []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(wire.MaxMessage))},
		RunnerFunc: func(_ hclog.Logger, cmd *exec.Cmd, socketDir string) (runner.Runner, error) {
			r := newProc(p.name, p.exe, cmd, socketDir)
			p.mu.Lock()
			pr.proc, p.starting = r, r
			p.mu.Unlock()
			return r, ctx.Err()
		},
	})
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.starting != nil {
			p.starting.kill()
		}
	})
	c, err := pr.client.Client()
	stop()
	p.mu.Lock()
	p.starting = nil
	p.mu.Unlock()
	var raw any
	if err == nil {
		raw, err = c.Dispense(wire.PluginName)
	}
	if err != nil {
		pr.stop()
		return nil, p.startFailure(ctx, err, pr)
	}
	pr.rpc = raw.(wire.ProviderClient)
	p.log.Debug("subprocess: started the plugin", "pid", pr.proc.ID())
	return pr, nil
}

// stopTimeout bounds waiting for go-plugin to clean up after a process
// that was killed: its pipes close within waitDelay of its end, but
// go-plugin also waits for the host's logger to take what it read.
const stopTimeout = 2 * time.Second

// stop kills the process and waits until it is gone and go-plugin has
// cleaned up after it, or stopTimeout at most.
func (pr *process) stop() {
	if pr.proc != nil {
		pr.proc.kill()
	}
	killed := make(chan struct{})
	go func() {
		pr.client.Kill()
		close(killed)
	}()
	select {
	case <-killed:
	case <-time.After(stopTimeout):
	}
}

// discard stops pr, the process a call failed on, unless a call before
// already replaced it.
func (p *Plugin) discard(pr *process) {
	p.mu.Lock()
	if p.cur == pr {
		p.cur = nil
	}
	p.mu.Unlock()
	pr.stop()
}

// failure words why a call on pr failed with err, waiting a moment to learn
// how the process ended if it did.
func (p *Plugin) failure(ctx context.Context, err error, pr *process) error {
	p.log.Debug("subprocess: stopping the plugin after a failed call", "err", err)
	switch {
	case ctx.Err() != nil: // the caller words what its deadline or cancellation means
		return fmt.Errorf("stopped (%w)", context.Cause(ctx))
	case status.Code(err) == codes.ResourceExhausted: // the client refused the response
		return fmt.Errorf("returned a result larger than the %d bytes a result may have; the plugin was stopped", wire.MaxMessage)
	}
	how := ended(pr)
	if how == "" {
		how = "stopped answering (" + status.Convert(err).Message() + ")"
	}
	return fmt.Errorf("the plugin process %s during the call%s; the next call starts it again, and if this repeats, report it to the plugin's author", how, quote(pr.stderr))
}

// ended says how pr's process ended, or "" if it still runs a moment later.
func ended(pr *process) string {
	select {
	case <-pr.proc.done:
	case <-time.After(500 * time.Millisecond):
		return ""
	}
	var exit *exec.ExitError
	if errors.As(pr.proc.err, &exit) {
		if exit.Exited() {
			return fmt.Sprintf("exited with code %d", exit.ExitCode())
		}
		return "crashed (" + exit.String() + ")"
	}
	if pr.proc.err == nil {
		return "exited with code 0"
	}
	return "ended (" + pr.proc.err.Error() + ")"
}

func quote(t *tail) string {
	if s := t.String(); s != "" {
		return ": " + strconv.Quote(s)
	}
	return ""
}

// startFailure words why starting pr failed with err, which go-plugin
// returned, from what the process printed and how it ended.
func (p *Plugin) startFailure(ctx context.Context, err error, pr *process) error {
	p.log.Debug("subprocess: the plugin did not start", "err", err)
	if ctx.Err() != nil {
		return fmt.Errorf("starting the plugin was abandoned (%w)", ctx.Err())
	}
	if pr.proc == nil || pr.proc.pid() == 0 {
		return fmt.Errorf("cannot run %s: %w; is it an executable for this system?", p.exe.source, err)
	}
	line := pr.proc.stdout.String()
	fields := strings.Split(line, "|")
	var addr *addressError
	switch {
	case errors.As(err, &addr):
		return addr
	case line != "" && (len(fields) < 4 || !isNumber(fields[0]) || !isNumber(fields[1])):
		return fmt.Errorf("printed %q where the go-plugin handshake belongs, as the first line of its standard output: "+
			"it is not an idplug subprocess plugin, or it writes to stdout before serving; "+
			"a Go plugin's main must call serve.Main (see wit/README.md, \"Subprocess plugins\")", truncate(line))
	case line != "" && fields[1] != strconv.Itoa(sdk.ContractVersion):
		return &wire.ContractError{Version: fields[1]}
	case line != "" && (len(fields) < 5 || fields[4] != string(goplugin.ProtocolGRPC)):
		return fmt.Errorf("offers go-plugin's net/rpc protocol; idplug plugins serve gRPC (wit/idplug.proto): rebuild it with serve.Main")
	case line == "" && strings.Contains(err.Error(), "timeout"):
		return fmt.Errorf("did not complete the go-plugin handshake within %v; the plugin was stopped — is it an idplug plugin whose main calls serve.Main?", p.opts.StartTimeout)
	case line == "":
		return fmt.Errorf("%s before the go-plugin handshake%s; is it an idplug plugin whose main calls serve.Main?", cmp.Or(ended(pr), "stopped"), quote(pr.stderr))
	}
	return fmt.Errorf("connecting to the plugin: %w", err)
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
