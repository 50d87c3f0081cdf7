package wasm

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/idplug/idplug/internal/wire"
)

// errClosed is the error of a call on a closed Module.
var errClosed = errors.New("the plugin was closed")

// Module is a loaded wasm plugin: a plugin.Transport over a pool of
// instances.
// It is safe for concurrent use.
type Module struct {
	r        *Runtime
	rt       wazero.Runtime // r's, or one only for Load's check
	name     string
	log      *slog.Logger
	compiled wazero.CompiledModule
	busy     chan struct{} // a token per call in progress, at most MaxInstances
	done     chan struct{} // closed by Close

	mu     sync.Mutex
	idle   []*instance
	closed bool
}

func newModule(r *Runtime, rt wazero.Runtime, name string, compiled wazero.CompiledModule) *Module {
	return &Module{
		r:        r,
		rt:       rt,
		name:     name,
		log:      r.opts.Logger.With("plugin", name),
		compiled: compiled,
		busy:     make(chan struct{}, r.opts.MaxInstances),
		done:     make(chan struct{}),
	}
}

// Call runs the contract function fn over the JSON document input and hands
// the plugin's result envelope, still in the instance's memory, to keep. It
// waits, as long as ctx allows, for an instance when MaxInstances calls are
// in progress, and ends when ctx is done.
//
// After a trap, an exit, cancellation, a violation of the ABI or an error
// from keep, the instance is closed and the next call gets a fresh one.
func (m *Module) Call(ctx context.Context, fn wire.Function, input []byte, keep func([]byte) error) error {
	if !slices.Contains(wire.Functions, fn) {
		return errors.New("not a function of the contract")
	}
	select {
	case m.busy <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-m.done:
		return errClosed
	}
	defer func() { <-m.busy }()
	if err := ctx.Err(); err != nil { // lost a race with the slot; spare an instance
		return err
	}
	in, err := m.take()
	if err != nil {
		return err
	}
	if in == nil {
		if in, err = m.instantiate(ctx); err != nil {
			in.close(ctx)
			return m.failure(ctx, err, in)
		}
	}
	if err := in.call(ctx, fn, input, keep); err != nil {
		in.close(ctx)
		var refused *refusal
		if errors.As(err, &refused) {
			return refused.err
		}
		return m.failure(ctx, err, in)
	}
	if in.spoiled { // the deadline came as the call ended
		in.close(ctx)
		return nil
	}
	m.put(in)
	return nil
}

// Close refuses new calls, waits for the calls in progress (each bounded by
// the call deadline) as long as ctx allows, and closes every instance.
func (m *Module) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.done)
	m.mu.Unlock()
wait:
	for range cap(m.busy) {
		select {
		case m.busy <- struct{}{}:
		case <-ctx.Done():
			break wait
		}
	}
	m.mu.Lock()
	idle := m.idle
	m.idle = nil
	m.mu.Unlock()
	for _, in := range idle {
		in.close(ctx)
	}
	return m.compiled.Close(ctx)
}

// refusal is keep's error: the envelope was read, and refused.
type refusal struct{ err error }

func (r *refusal) Error() string { return r.err.Error() }

// take returns an idle instance, or nil when there is none.
func (m *Module) take() (*instance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errClosed
	}
	if n := len(m.idle); n > 0 {
		in := m.idle[n-1]
		m.idle = m.idle[:n-1]
		return in, nil
	}
	return nil, nil
}

// put returns in to the pool, or closes it when m is closed.
func (m *Module) put(in *instance) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		in.close(context.Background())
		return
	}
	m.idle = append(m.idle, in)
}

// fault is a violation of the ABI or a failure of an instance, worded for the
// user, with its cause.
type fault struct {
	msg   string
	cause error
}

func (f *fault) Error() string { return f.msg }
func (f *fault) Unwrap() error { return f.cause }

// failure describes why a call on in failed with err.
func (m *Module) failure(ctx context.Context, err error, in *instance) error {
	m.log.Debug("wasm: discarding a failed instance", "err", err)
	var (
		f    *fault
		exit *sys.ExitError
	)
	switch {
	case ctx.Err() != nil: // the caller words what its deadline or cancellation means
		return &fault{fmt.Sprintf("stopped (%v)", context.Cause(ctx)), ctx.Err()}
	case in.closed(): // the Runtime closed during the call
		return errClosed
	case errors.As(err, &f):
		return f
	case errors.As(err, &exit):
		f = &fault{fmt.Sprintf("exited with code %d", exit.ExitCode()), err}
	case in.stackExhausted():
		f = &fault{fmt.Sprintf("ran out of its %d MiB call stack (does it recurse without end?)", MaxStack>>20), err}
	default:
		line, _, _ := strings.Cut(err.Error(), "\n")
		f = &fault{"crashed: " + line, err}
	}
	switch s := in.stderr.first; {
	case strings.Contains(s, "out of memory"): // the Go runtime's words when memory.grow fails
		f.msg = fmt.Sprintf("ran out of memory under the %d MiB ceiling: %s", m.r.opts.MemoryLimit>>20, s)
	case s != "":
		f.msg += ": " + s
	}
	return f
}

// instance is one instantiation of a Module, used by one call at a time.
type instance struct {
	mod            api.Module
	stop           api.MutableGlobal // set, the instance's loops trap (see deadline.go)
	r              *Runtime
	spoiled        bool // stop was set: the instance serves no other call
	mem            *linearMemory
	alloc, free    api.Function
	fns            map[wire.Function]api.Function
	out            *output
	stdout, stderr *lineWriter
	stack          [2]uint64
}

// instantiate returns a new instance of m, initialised. On error the instance
// is returned too, for its stderr.
func (m *Module) instantiate(ctx context.Context) (*instance, error) {
	out := &output{log: m.log}
	in := &instance{
		r:      m.r,
		mem:    &linearMemory{},
		out:    out,
		stdout: &lineWriter{out: out, stream: "stdout", level: slog.LevelInfo},
		stderr: &lineWriter{out: out, stream: "stderr", level: slog.LevelWarn},
	}
	ctx = experimental.WithMemoryAllocator(in.begin(ctx), in.mem)
	defer in.end()
	cfg := wazero.NewModuleConfig().
		WithName("").                // instances are anonymous: any number may coexist
		WithStartFunctions().        // _initialize runs below, under the deadline
		WithRandSource(rand.Reader). // wazero's default is the same bytes in every instance
		WithStdout(in.stdout).
		WithStderr(in.stderr)
	mod, err := m.rt.InstantiateModule(ctx, m.compiled, cfg)
	if err != nil {
		return in, err
	}
	in.mod = mod
	stop, ok := mod.ExportedGlobal(stopExport).(api.MutableGlobal)
	if !ok {
		return in, &fault{"has no " + stopExport + " global, which instrument adds", nil}
	}
	in.stop = stop
	if init := mod.ExportedFunction("_initialize"); init != nil {
		disarm := in.watch(ctx)
		_, err := init.Call(ctx)
		if !disarm() {
			in.spoiled = true
		}
		if err != nil {
			return in, err
		}
	}
	in.alloc = mod.ExportedFunction("idplug_alloc")
	in.free = mod.ExportedFunction("idplug_free")
	in.fns = make(map[wire.Function]api.Function, len(wire.Functions))
	for _, fn := range wire.Functions {
		in.fns[fn] = mod.ExportedFunction(fn.Export())
	}
	return in, nil
}

// stackExhausted reports whether the stack that in's calls use passed
// MaxStack: a thunk trapped (see instrument).
func (in *instance) stackExhausted() bool {
	if in.mod == nil {
		return false
	}
	g := in.mod.ExportedGlobal(stackExport)
	return g != nil && uint32(g.Get()) > MaxStack
}

// begin starts a call, or the instantiation, on in: it renews the log
// budget and returns ctx carrying in's output for hostLog. The caller calls
// end once the call is over.
func (in *instance) begin(ctx context.Context) context.Context {
	in.mem.enter()
	in.stderr.first = ""
	in.out.left = maxLogPerCall
	return context.WithValue(ctx, outputKey{}, in.out)
}

// end ends what begin started.
func (in *instance) end() { in.mem.leave() }

// watch registers in as running plugin code until disarm: once ctx is
// done or the Runtime closes, in's stop global is set, which makes its next
// loop iteration trap. disarm reports whether the watch ended before
// either; after that, in must not serve another call.
func (in *instance) watch(ctx context.Context) (disarm func() bool) {
	r := in.r
	r.mu.Lock()
	r.running[in] = true
	if r.closed {
		in.stop.Set(1)
	}
	r.mu.Unlock()
	call := context.AfterFunc(ctx, func() { in.stop.Set(1) })
	return func() bool {
		fresh := call()
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.running, in)
		if len(r.running) == 0 {
			r.idle.Broadcast()
		}
		return fresh && !r.closed
	}
}

// closed reports whether in's Runtime is closing.
func (in *instance) closed() bool {
	in.r.mu.Lock()
	defer in.r.mu.Unlock()
	return in.r.closed
}

// call runs fn over input and hands the result envelope to keep.
func (in *instance) call(ctx context.Context, fn wire.Function, input []byte, keep func([]byte) error) error {
	disarm := in.watch(ctx)
	defer func() {
		if !disarm() {
			in.spoiled = true
		}
	}()
	ctx = in.begin(ctx)
	defer in.end()
	mem := in.mod.Memory()
	s := in.stack[:]
	s[0] = uint64(len(input))
	if err := in.alloc.CallWithStack(ctx, s); err != nil {
		return err
	}
	ptr := uint32(s[0])
	if (ptr == 0 && len(input) > 0) || !mem.Write(ptr, input) {
		return &fault{fmt.Sprintf("idplug_alloc(%d) returned %#x, not a buffer in its memory; the plugin was stopped", len(input), ptr), nil}
	}
	s[0], s[1] = uint64(ptr), uint64(len(input))
	if err := in.fns[fn].CallWithStack(ctx, s); err != nil {
		return err
	}
	ptr, size := uint32(s[0]>>32), uint32(s[0])
	if size > wire.MaxMessage {
		return &fault{fmt.Sprintf("returned a result of %d bytes, more than the %d bytes a result may have; the plugin was stopped", size, wire.MaxMessage), nil}
	}
	out, ok := mem.Read(ptr, size)
	if !ok {
		return &fault{fmt.Sprintf("returned its result at %#x+%d, outside its %d bytes of memory; the plugin was stopped", ptr, size, mem.Size()), nil}
	}
	if err := keep(out); err != nil {
		return &refusal{err}
	}
	s[0], s[1] = uint64(ptr), uint64(size)
	return in.free.CallWithStack(ctx, s)
}

// close closes the instance, if it was instantiated, releases its memory,
// and flushes its output. (wazero frees the memory of an instance it
// closes, but not when it marked the instance closed on its own, for a
// context done, and nothing called the instance since.)
func (in *instance) close(ctx context.Context) {
	if in.mod != nil {
		in.mod.Close(context.WithoutCancel(ctx))
	}
	in.mem.Free()
	in.stdout.flush()
	in.stderr.flush()
}

// Bounds of what a plugin may log.
const (
	// maxLine is the longest record: a longer line of stdout or stderr is
	// logged in pieces, and a longer idplug.log message is cut.
	maxLine = 4 << 10
	// maxLogPerCall bounds what one call, or one instantiation, logs through
	// stdout, stderr and idplug.log together; one record says when the rest
	// is dropped.
	maxLogPerCall = 64 << 10
)

// outputKey carries the calling instance's output to hostLog.
type outputKey struct{}

// output is where an instance's records go: its stdout, its stderr and its
// idplug.log calls share a budget that each call renews.
type output struct {
	log  *slog.Logger
	left int // bytes the current call may still log
}

// record logs msg, cut to maxLine and to what is left of the budget, unless
// the budget is spent.
func (o *output) record(level slog.Level, msg string, args ...any) {
	if o.left <= 0 {
		return
	}
	msg = cut(msg, min(maxLine, o.left))
	o.left -= len(msg)
	o.log.Log(context.Background(), level, msg, args...)
	if o.left <= 0 {
		o.log.Warn(fmt.Sprintf("wasm: the plugin logged %d KiB in one call; the rest of its output is dropped", maxLogPerCall>>10))
	}
}

// cut returns s, or its first n bytes and an ellipsis when it is longer,
// not splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// lineWriter logs what a guest writes to stdout or stderr, a record per
// line, and a line longer than maxLine in pieces.
type lineWriter struct {
	out    *output
	stream string
	level  slog.Level
	buf    []byte
	first  string // the first line since the last call began, quoted in errors
}

// Write implements io.Writer.
func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if w.out.left <= 0 && w.first != "" { // nothing more to log or to quote
			w.buf = w.buf[:0]
			break
		}
		room := maxLine - len(w.buf)
		end := bytes.IndexByte(p[:min(len(p), room)], '\n')
		take := end
		if end < 0 {
			take = min(len(p), room)
		}
		w.buf = append(w.buf, p[:take]...)
		p = p[take:]
		switch {
		case end >= 0: // the end of a line
			p = p[1:]
			w.flush()
		case len(w.buf) == maxLine: // a long line: log what it has so far
			w.flush()
		}
	}
	return n, nil
}

// flush logs what w buffered.
func (w *lineWriter) flush() {
	w.emit(w.buf)
	w.buf = w.buf[:0]
}

func (w *lineWriter) emit(line []byte) {
	s := strings.TrimSpace(string(line))
	if s == "" {
		return
	}
	if w.first == "" {
		w.first = s
	}
	w.out.record(w.level, s, "stream", w.stream)
}
