package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/wasm/wasmtest"
	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
)

// plugins are the test modules TestMain builds, by name: the real oidc
// provider and the fixtures of testdata/.
var plugins = map[string]string{
	"oidc":       "github.com/idplug/idplug/plugins/oidc/cmd",
	"misbehave":  "./testdata/misbehave",
	"badversion": "./testdata/badversion",
	"badptr":     "./testdata/badptr",
}

var (
	modules  = map[string][]byte{}
	cacheDir string // a compilation cache shared by the tests, so each module compiles once
	// plainTest is this package's test binary built without the race
	// detector, which fills cacheDir and runs the children that measure
	// memory (see TestHostileMemory).
	plainTest string
)

// warmEnv asks a test binary to compile modules into a compilation cache
// instead of running tests: see build.
const warmEnv = "IDPLUG_WASM_TEST_WARM_CACHE"

func TestMain(m *testing.M) {
	if dir := os.Getenv(warmEnv); dir != "" {
		if err := warm(dir, os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if path := os.Getenv(hostileEnv); path != "" {
		if err := runHostile(path, os.Getenv(hostileEnv+"_DO")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "idplug-wasm-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = filepath.Join(dir, "cache")
	code := 1
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles the modules of plugins into dir, in parallel, and then to
// machine code into cacheDir, with plainTest, this package's test binary
// built without the race detector, under which wazero's compiler is some
// twenty times slower. (A test binary, so that wazero files the code under
// the same version as here.)
func build(dir string) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	run := func(cmd *exec.Cmd) error {
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
		}
		return nil
	}
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	}
	plainTest = filepath.Join(dir, "plain.test")
	wg.Go(func() {
		if err := run(exec.Command("go", "test", "-c", "-o", plainTest, ".")); err != nil {
			fail(err)
		}
	})
	var files []string
	for name, pkg := range plugins {
		out := filepath.Join(dir, name+".wasm")
		files = append(files, out)
		wg.Go(func() {
			cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, pkg)
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			err := run(cmd)
			var b []byte
			if err == nil {
				b, err = os.ReadFile(out)
			}
			if err != nil {
				fail(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			modules[name] = b
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	cmd := exec.Command(plainTest, files...)
	cmd.Env = append(os.Environ(), warmEnv+"="+cacheDir)
	return run(cmd)
}

// warm compiles the modules in files into the compilation cache dir.
func warm(dir string, files []string) error {
	ctx := context.Background()
	r, err := NewRuntime(ctx, Options{CacheDir: dir})
	if err != nil {
		return err
	}
	defer r.Close(ctx)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if b, _, err = prepare(b); err != nil { // as Load compiles it
			return fmt.Errorf("%s: %w", f, err)
		}
		if _, err := r.rt.CompileModule(ctx, b); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}

// logBuffer collects a logger's output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newRuntime returns a Runtime on the shared cache whose log goes to logs.
func newRuntime(t testing.TB, opts Options) (*Runtime, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	if opts.CacheDir == "" {
		opts.CacheDir = cacheDir
	}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r, err := NewRuntime(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r, logs
}

func load(t testing.TB, r *Runtime, name string) *Module {
	t.Helper()
	m, err := r.Load(context.Background(), name, modules[name])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return m
}

// call runs fn over the document in on m and decodes the OK value of the
// result envelope into out, as internal/plugin does: a failure the plugin
// reported is an error, its first line only.
func call(ctx context.Context, m *Module, fn wire.Function, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return m.Call(ctx, fn, b, func(envelope []byte) error {
		ok, _, err := wire.Decode(envelope)
		if err != nil {
			return err
		}
		return json.Unmarshal(ok, out)
	})
}

// describe calls describe on m.
func describe(t testing.TB, m *Module) sdk.PluginInfo {
	t.Helper()
	var info sdk.PluginInfo
	if err := call(context.Background(), m, wire.FuncDescribe, struct{}{}, &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// identity calls identity on m.
func identity(ctx context.Context, m *Module, idToken, userinfo sdk.Claims) (sdk.Identity, error) {
	var id sdk.Identity
	err := call(ctx, m, wire.FuncIdentity, wire.IdentityInput{IDTokenClaims: idToken, Userinfo: userinfo, Settings: map[string]string{}}, &id)
	return id, err
}

// configureIssuer calls the oidc provider's configure on m with issuer.
func configureIssuer(ctx context.Context, m *Module, issuer string) (wire.ConfigureOutput, error) {
	var out wire.ConfigureOutput
	err := call(ctx, m, wire.FuncConfigure, wire.ConfigureInput{Settings: map[string]string{"issuer": issuer}, Client: sdk.Client{ClientID: "cli", Scopes: []string{}}}, &out)
	return out, err
}

func TestOIDC(t *testing.T) {
	r, _ := newRuntime(t, Options{})
	m := load(t, r, "oidc")
	ctx := context.Background()

	if info := describe(t, m); info.Name != "oidc" || info.ContractVersion != sdk.ContractVersion || len(info.Settings) != 1 {
		t.Errorf("describe = %+v", info)
	}
	out, err := configureIssuer(ctx, m, "https://idp.example.com/")
	if err != nil || out.Err != nil || out.OK == nil {
		t.Fatalf("configure: %+v %v", out, err)
	}
	spec := out.OK
	want := sdk.ProviderSpec{
		Issuer:        "https://idp.example.com/",
		DiscoveryURL:  "https://idp.example.com/.well-known/openid-configuration",
		DefaultScopes: []string{"openid", "profile", "email", "offline_access"},
		ExtraParams:   []sdk.Param{},
	}
	if fmt.Sprint(*spec) != fmt.Sprint(want) {
		t.Errorf("configure = %+v, want %+v", *spec, want)
	}
	// The host checks the settings oidc declares, so oidc reports no
	// configuration errors; TestSandbox sees them cross.
	id, err := identity(ctx, m, sdk.Claims{"sub": "u1", "email": "u1@example.com"}, sdk.Claims{})
	if err != nil || id.Subject != "u1" || id.Username != "u1@example.com" {
		t.Errorf("identity = %+v, %v", id, err)
	}
	// The real plugin runs within the default ceiling with room to spare.
	in, _ := m.take()
	t.Logf("an oidc instance uses %d KiB of linear memory (ceiling %d KiB)", in.mod.Memory().Size()>>10, DefaultMemoryLimit>>10)
	m.put(in)
}

// configure calls the misbehave fixture's configure with do.
func configure(ctx context.Context, m *Module, do string) error {
	var out wire.ConfigureOutput
	return call(ctx, m, wire.FuncConfigure, wire.ConfigureInput{Settings: map[string]string{"do": do}, Client: sdk.Client{ClientID: "cli", Scopes: []string{}}}, &out)
}

// TestFaults checks what the transport makes of each way a plugin can fail,
// and that it discards the instance that failed. How the host words the
// failure for the user, naming the plugin, is checked through a
// plugin.Loader in loader_test.go.
func TestFaults(t *testing.T) {
	r, logs := newRuntime(t, Options{MaxInstances: 1})
	m := load(t, r, "misbehave")
	for _, tc := range []struct {
		do, want string
		is       error
	}{
		// An error envelope, which keep refuses; the stack trace is on the
		// lines wire.Decode leaves out.
		{do: "panic", want: `panic in configure: boom`},
		{do: "trap", want: `crashed: wasm error: out of bounds memory access`},
		{do: "exit", want: `exited with code 3`},
		{do: "exit0", want: `exited with code 0`},
		// The fake clock lets time pass at each reading, so a sleep spins
		// instead of waiting; the caller's deadline stops it.
		{do: "sleep", want: `stopped (context deadline exceeded)`, is: context.DeadlineExceeded},
		{do: "loop", want: `stopped (context deadline exceeded)`, is: context.DeadlineExceeded},
		{do: "alloc", want: `ran out of memory under the 64 MiB ceiling: runtime: out of memory: cannot allocate 1073741824-byte block`},
	} {
		t.Run(tc.do, func(t *testing.T) {
			ctx := context.Background()
			if err := configure(ctx, m, "nothing"); err != nil { // ensures an idle instance
				t.Fatal(err)
			}
			in := m.idle[0]
			cctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
			defer cancel()
			err := configure(cctx, m, tc.do)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error = %v, want %s…", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if !in.mod.IsClosed() || len(m.idle) != 0 {
				t.Errorf("the failed instance was not discarded")
			}
			if err := configure(ctx, m, "nothing"); err != nil {
				t.Errorf("the next call: %v", err)
			}
		})
	}
	if !strings.Contains(logs.String(), "stream=stderr plugin=misbehave") && !strings.Contains(logs.String(), "plugin=misbehave stream=stderr") {
		t.Errorf("the Go runtime's fatal error did not reach the log:\n%s", logs)
	}
}

func TestCancel(t *testing.T) {
	r, _ := newRuntime(t, Options{})
	m := load(t, r, "misbehave")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	err := configure(ctx, m, "loop")
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("error = %v, want the cancellation", err)
	}
	if err := configure(context.Background(), m, "nothing"); err != nil {
		t.Errorf("the next call: %v", err)
	}
}

func TestSandbox(t *testing.T) {
	r, _ := newRuntime(t, Options{})
	m := load(t, r, "misbehave")
	var out wire.ConfigureOutput
	if err := call(context.Background(), m, wire.FuncConfigure, wire.ConfigureInput{Settings: map[string]string{"do": "sandbox"}}, &out); err != nil {
		t.Fatal(err)
	}
	saw := map[string]string{}
	for _, e := range out.Err {
		saw[e.Setting] = e.Message
	}
	t.Logf("the plugin saw %q", saw)
	if saw["read_file"] == "<nil>" {
		t.Error("the plugin read /etc/passwd")
	}
	if saw["home"] != "" || saw["environ"] != "0" || saw["args"] != "0" {
		t.Errorf("the plugin saw an environment or arguments: %q", saw)
	}
	if saw["year"] != "2022" { // wazero's fake wall clock starts at 2022-01-01
		t.Errorf("the plugin saw a real clock: %s", saw["year"])
	}
}

func TestLogging(t *testing.T) {
	r, logs := newRuntime(t, Options{})
	m := load(t, r, "misbehave")
	if err := configure(context.Background(), m, "log"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`level=INFO msg="hello on stdout" plugin=misbehave stream=stdout`,
		`level=WARN msg="hello on stderr" plugin=misbehave stream=stderr`,
		`level=WARN msg="hello through idplug.log 42" plugin=misbehave`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %s:\n%s", want, logs)
		}
	}
}

// TestLogFlood checks that a call cannot flood the host's log: what a call
// logs is capped, a record at a time and in all.
func TestLogFlood(t *testing.T) {
	r, logs := newRuntime(t, Options{})
	m := load(t, r, "misbehave")
	ctx := context.Background()
	for _, do := range []string{"flood", "biglong"} {
		before := len(logs.String())
		if err := configure(ctx, m, do); err != nil {
			t.Fatal(err)
		}
		logged := logs.String()[before:]
		if n := len(logged); n > 2*maxLogPerCall {
			t.Errorf("%s: the call logged %d bytes, the cap is %d", do, n, maxLogPerCall)
		}
		for line := range strings.Lines(logged) {
			if len(line) > maxLine+200 {
				t.Errorf("%s: a record of %d bytes: %.100s…", do, len(line), line)
			}
		}
		if do == "flood" && !strings.Contains(logged, "the rest of its output is dropped") {
			t.Errorf("%s: no record says that output was dropped", do)
		}
	}
	if err := configure(ctx, m, "log"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "hello through idplug.log 42") {
		t.Errorf("the next call could not log")
	}
}

// importsEnvFoo is a module that imports env.foo and exports
// idplug_contract_version, returning 1.
var importsEnvFoo = []byte("\x00asm\x01\x00\x00\x00" +
	"\x01\x08\x02\x60\x00\x00\x60\x00\x01\x7f" + // types: () -> (), () -> i32
	"\x02\x0b\x01\x03env\x03foo\x00\x00" + // import env.foo: type 0
	"\x03\x02\x01\x01" + // function 1: type 1
	"\x07\x1b\x01\x17idplug_contract_version\x00\x01" +
	"\x0a\x06\x01\x04\x00\x41\x01\x0b") // i32.const 1

// versionOnly is a module that exports idplug_contract_version, returning 1,
// and nothing else.
var versionOnly = []byte("\x00asm\x01\x00\x00\x00" +
	"\x01\x05\x01\x60\x00\x01\x7f" + // type: () -> i32
	"\x03\x02\x01\x00" + // function 0: type 0
	"\x07\x1b\x01\x17idplug_contract_version\x00\x00" +
	"\x0a\x06\x01\x04\x00\x41\x01\x0b") // i32.const 1

// loadErrors are modules Load refuses, and the start of its error. The
// Loader's tests (loader_test.go) check that the host names the plugin.
var loadErrors = []struct {
	name string
	wasm func() []byte
	want string
}{
	{"garbage", func() []byte { return []byte("#!/bin/sh\n") }, `not a valid WebAssembly module`},
	{"empty", func() []byte { return []byte("\x00asm\x01\x00\x00\x00") }, `not an idplug plugin: missing export idplug_contract_version; build it with the idplug SDK`},
	{"foreign", func() []byte { return importsEnvFoo }, `imports env.foo: a plugin may import only wasi_snapshot_preview1 and idplug.log`},
	{"partial", func() []byte { return versionOnly }, `not an idplug plugin: missing export idplug_alloc; build it with the idplug SDK`},
	{"badversion", func() []byte { return modules["badversion"] }, `speaks contract version 2: this idplug speaks contract version 1; install a build of the plugin for contract 1`},
	{"huge", func() []byte { return withCustomSection(wasmtest.Hostile(wasmtest.Grow), MaxModuleSize) }, `the module is 16777`},
}

func TestLoadErrors(t *testing.T) {
	r, _ := newRuntime(t, Options{})
	for _, tc := range loadErrors {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Load(context.Background(), tc.name, tc.wasm())
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %s…", err, tc.want)
			}
			var ce *wire.ContractError
			if isVersion := errors.As(err, &ce); isVersion != (tc.name == "badversion") || isVersion && ce.Version != "2" {
				t.Errorf("error %v: *wire.ContractError %v, %+v", err, isVersion, ce)
			}
		})
	}
}

func TestCallErrors(t *testing.T) {
	r, _ := newRuntime(t, Options{})
	m := load(t, r, "badptr")
	keep := func([]byte) error {
		t.Error("keep was handed a result that breaks the ABI")
		return nil
	}
	err := m.Call(context.Background(), wire.FuncDescribe, []byte("{}"), keep)
	if want := `returned its result at 0xfffffff0+64, outside its`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v, want %s…", err, want)
	}
	err = m.Call(context.Background(), wire.FuncConfigure, []byte("{}"), keep)
	if want := `returned a result of 5242880 bytes, more than the 4194304 bytes a result may have; the plugin was stopped`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	err = m.Call(context.Background(), "alloc", []byte("{}"), keep)
	if want := `not a function of the contract`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// TestCompilationCache checks that the cache TestMain filled with one
// Runtime, in another process, holds files and serves a new Runtime.
func TestCompilationCache(t *testing.T) {
	var files int
	filepath.WalkDir(cacheDir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return err
	})
	if files == 0 {
		t.Fatalf("the compilation cache %s holds no files", cacheDir)
	}
	r, _ := newRuntime(t, Options{CacheDir: cacheDir})
	describe(t, load(t, r, "oidc"))
}

func TestConcurrentCalls(t *testing.T) {
	r, _ := newRuntime(t, Options{MaxInstances: 4})
	m := load(t, r, "oidc")
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			issuer := fmt.Sprintf("https://idp%d.example.com", i)
			out, err := configureIssuer(ctx, m, issuer)
			if err != nil || out.OK == nil || out.OK.Issuer != issuer {
				t.Errorf("configure %s = %+v, %v", issuer, out, err)
			}
			sub := fmt.Sprint("user", i)
			id, err := identity(ctx, m, sdk.Claims{"sub": sub}, sdk.Claims{"groups": []string{sub}})
			if err != nil || id.Subject != sub || !slices.Equal(id.Groups, []string{sub}) {
				t.Errorf("identity %s = %+v, %v", sub, id, err)
			}
		})
	}
	wg.Wait()
	if n := len(m.idle); n < 1 || n > 4 {
		t.Errorf("%d idle instances, want 1 to MaxInstances", n)
	}
}

func TestClose(t *testing.T) {
	r, _ := newRuntime(t, Options{MaxInstances: 2})
	m := load(t, r, "oidc")
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			err := call(ctx, m, wire.FuncDescribe, struct{}{}, &sdk.PluginInfo{})
			if err != nil && !errors.Is(err, errClosed) {
				t.Errorf("a call during Close: %v", err)
			}
		})
	}
	wg.Go(func() { m.Close(ctx) })
	wg.Go(func() { m.Close(ctx) })
	wg.Wait()
	if err := call(ctx, m, wire.FuncDescribe, struct{}{}, &sdk.PluginInfo{}); !errors.Is(err, errClosed) {
		t.Errorf("a call after Close: %v", err)
	}
	if len(m.idle) != 0 {
		t.Errorf("%d idle instances after Close", len(m.idle))
	}
}

func TestLineWriter(t *testing.T) {
	logs := &logBuffer{}
	w := &lineWriter{out: &output{log: slog.New(slog.NewTextHandler(logs, nil)), left: maxLogPerCall}, stream: "stdout"}
	for _, s := range []string{"one\ntw", "o\n\n", "three", strings.Repeat("x", maxLine)} {
		w.Write([]byte(s))
	}
	w.Write([]byte("four"))
	w.flush()
	var got []string
	for line := range strings.Lines(logs.String()) {
		_, msg, _ := strings.Cut(line, "msg=")
		msg, _, _ = strings.Cut(msg, " stream=")
		got = append(got, msg)
	}
	// A line longer than maxLine is logged in pieces of maxLine bytes.
	want := []string{"one", "two", "three" + strings.Repeat("x", maxLine-5), "xxxxxfour"}
	if !slices.Equal(got, want) {
		t.Errorf("lines = %.40q, want %.40q", got, want)
	}
	if w.first != "one" {
		t.Errorf("first = %q", w.first)
	}
}

// BenchmarkHookCall measures one call across the boundary: identity, on a
// warm instance. It reports the median besides the mean.
func BenchmarkHookCall(b *testing.B) {
	r, _ := newRuntime(b, Options{})
	m := load(b, r, "oidc")
	ctx := context.Background()
	input := []byte(`{"id_token_claims":{"sub":"u1","email":"u1@example.com","groups":["a","b"]},"userinfo":{"name":"U One"}}`)
	keep := func(envelope []byte) error {
		_, _, err := wire.Decode(envelope)
		return err
	}
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if err := m.Call(ctx, wire.FuncIdentity, input, keep); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds())/1e3, "µs/median")
	in, _ := m.take()
	b.ReportMetric(float64(in.mod.Memory().Size()>>10), "KiB/instance")
	m.put(in)
}

// BenchmarkLoadCold measures compiling and loading the oidc plugin with an
// empty compilation cache.
func BenchmarkLoadCold(b *testing.B) {
	for b.Loop() {
		r, _ := newRuntime(b, Options{CacheDir: b.TempDir()})
		load(b, r, "oidc")
		r.Close(context.Background())
	}
}

// BenchmarkLoadWarm measures what a new process pays to use the oidc plugin
// once it is in the compilation cache: a Runtime, Load and the first call.
func BenchmarkLoadWarm(b *testing.B) {
	dir := b.TempDir()
	r, _ := newRuntime(b, Options{CacheDir: dir})
	load(b, r, "oidc")
	r.Close(context.Background())
	for b.Loop() {
		r, _ := newRuntime(b, Options{CacheDir: dir})
		describe(b, load(b, r, "oidc"))
		r.Close(context.Background())
	}
}

// growsTable is a module with a table of no elements and no maximum whose
// idplug_contract_version returns table.grow(ref.null func, 1) + 2: 1 when
// the host refuses the growth, 2 when it grants it.
var growsTable = []byte("\x00asm\x01\x00\x00\x00" +
	"\x01\x05\x01\x60\x00\x01\x7f" + // type: () -> i32
	"\x03\x02\x01\x00" + // function 0: type 0
	"\x04\x04\x01\x70\x00\x00" + // table: funcref, min 0, no max
	"\x07\x1b\x01\x17idplug_contract_version\x00\x00" +
	"\x0a\x0e\x01\x0c\x00\xd0\x70\x41\x01\xfc\x0f\x00\x41\x02\x6a\x0b")

// TestTablesCannotGrow checks that a plugin cannot make the host allocate
// past its memory ceiling through tables, whose elements wazero keeps in
// the host's memory: at one table.grow instruction, a table without a
// maximum could take 8 bytes per element, up to 2^32 elements.
func TestTablesCannotGrow(t *testing.T) {
	r, _ := newRuntime(t, Options{})
	_, err := r.Load(context.Background(), "grows", growsTable)
	// The version call returns 1, so loading goes on to find idplug_alloc
	// missing.
	if want := `not an idplug plugin: missing export idplug_alloc`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v, want %s…: the table grew", err, want)
	}

	huge := bytes.Replace(growsTable, []byte("\x04\x04\x01\x70\x00\x00"), []byte("\x04\x07\x01\x70\x00\x80\x80\x80\x01"), 1) // min 2^21
	_, err = r.Load(context.Background(), "huge", huge)
	if want := `its tables may hold 2097152 elements, more than the 1048576 a plugin may have`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}

	for _, tc := range []struct{ in, want string }{
		{"\x01\x70\x00\x05", "\x01\x70\x01\x05\x05"},                                         // min 5 → min 5 max 5
		{"\x01\x70\x01\x05\x09", "\x01\x70\x01\x05\x09"},                                     // a declared maximum stays
		{"\x02\x70\x00\x80\x01\x6f\x00\x00", "\x02\x70\x01\x80\x01\x80\x01\x6f\x01\x00\x00"}, // two tables, a 2-byte LEB
	} {
		got, _, err := boundTableSection([]byte(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("boundTableSection(%x) = %x, %v; want %x", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"\x01\x70\x02\x00\x00", "\x01\x64\x70\x00\x00", "\x01\x70\x00", "\x01\x70\x00\x00\x00"} {
		if _, _, err := boundTableSection([]byte(in)); err != errTableType {
			t.Errorf("boundTableSection(%x): %v, want errTableType", in, err)
		}
	}
}

// TestRandom checks that plugins get real entropy: wazero's default
// random source gives every instance the same bytes.
func TestRandom(t *testing.T) {
	random := func() string {
		r, _ := newRuntime(t, Options{})
		m := load(t, r, "misbehave")
		var out wire.ConfigureOutput
		if err := call(context.Background(), m, wire.FuncConfigure, wire.ConfigureInput{Settings: map[string]string{"do": "sandbox"}}, &out); err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Err {
			if e.Setting == "random" && len(e.Message) == 32 {
				return e.Message
			}
		}
		t.Fatalf("the plugin reported no random bytes: %+v", out.Err)
		return ""
	}
	if a, b := random(), random(); a == b {
		t.Errorf("two instances read the same random bytes, %s", a)
	}
}
