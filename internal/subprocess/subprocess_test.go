package subprocess_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/subprocess"
	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
)

// start starts the executable at path as plugin name.
func start(t *testing.T, name, path string, opts subprocess.Options) (*subprocess.Plugin, error) {
	t.Helper()
	exe, err := subprocess.Copy(path)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p, err := subprocess.Start(t.Context(), name, exe, opts)
	if err == nil {
		t.Cleanup(func() {
			pid := subprocess.PID(p)
			p.Close(context.Background())
			if pid != 0 {
				gone(t, pid)
			}
		})
	}
	return p, err
}

// decode is the keep function of internal/plugin: it refuses an error
// envelope, keeping the first line of the failure, and decodes the OK value
// into out.
func decode(out any) func([]byte) error {
	return func(envelope []byte) error {
		ok, _, err := wire.Decode(envelope)
		if err != nil {
			return err
		}
		return json.Unmarshal(ok, out)
	}
}

// call runs fn over the document in on p and decodes the OK value of the
// result envelope into out.
func call(ctx context.Context, p *subprocess.Plugin, fn wire.Function, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return p.Call(ctx, fn, b, decode(out))
}

// configureInput is the input of the misbehave fixture's configure, which
// misbehaves as mode says.
func configureInput(mode string) wire.ConfigureInput {
	return wire.ConfigureInput{Settings: map[string]string{"mode": mode}, Client: sdk.Client{ClientID: "cli", Scopes: []string{}}}
}

func configure(t *testing.T, p *subprocess.Plugin, mode string) (wire.ConfigureOutput, error) {
	t.Helper()
	var out wire.ConfigureOutput
	err := call(t.Context(), p, wire.FuncConfigure, configureInput(mode), &out)
	return out, err
}

// wantError fails t unless err holds every one of parts. How the host words
// a transport's error for the user, naming the plugin and the function, is
// checked through a plugin.Loader in loader_test.go.
func wantError(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one saying %q", parts)
	}
	for _, s := range parts {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
}

func TestCallAndDescribe(t *testing.T) {
	p, err := start(t, "acme", misbehave["misbehave"], subprocess.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var info sdk.PluginInfo
	if err := call(t.Context(), p, wire.FuncDescribe, struct{}{}, &info); err != nil || info.Name != "misbehave" || info.ContractVersion != sdk.ContractVersion {
		t.Errorf("describe = %+v, %v", info, err)
	}
	out, err := configure(t, p, "")
	if err != nil || len(out.Err) != 0 || out.OK == nil || out.OK.Issuer != "https://misbehave.example.com" {
		t.Fatalf("configure = %+v, %v", out, err)
	}
	// Concurrent calls share the process.
	pid := subprocess.PID(p)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			var id sdk.Identity
			if err := call(t.Context(), p, wire.FuncIdentity, wire.IdentityInput{IDTokenClaims: sdk.Claims{"sub": "u"}, Userinfo: sdk.Claims{}}, &id); err != nil || id.Subject != "u" {
				t.Errorf("identity = %+v, %v", id, err)
			}
		})
	}
	wg.Wait()
	if now := subprocess.PID(p); now != pid {
		t.Errorf("the process changed from %d to %d without a failure", pid, now)
	}
	// A function outside the contract is refused before it reaches the
	// process, which goes on serving.
	err = p.Call(t.Context(), "frobnicate", []byte("{}"), func([]byte) error {
		t.Error("keep was called for a function outside the contract")
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "not a function of the contract") {
		t.Errorf("unknown function: %v", err)
	}
	if now := subprocess.PID(p); now != pid {
		t.Errorf("calling an unknown function replaced the process (pid %d, was %d)", now, pid)
	}
}

func TestCrashRestarts(t *testing.T) {
	p, err := start(t, "acme", misbehave["misbehave"], subprocess.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := subprocess.PID(p)
	_, err = configure(t, p, "crash")
	wantError(t, err, `the plugin process exited with code 2 during the call: "panic: misbehave: crashing as asked"`, "starts it again")
	gone(t, first)
	if out, err := configure(t, p, ""); err != nil || out.OK == nil {
		t.Fatalf("the call after a crash: %+v, %v", out, err)
	}
	second := subprocess.PID(p)
	if second == first || second == 0 {
		t.Errorf("no new process after the crash (pid %d, was %d)", second, first)
	}
	_, err = configure(t, p, "exit")
	wantError(t, err, "the plugin process exited with code 7 during the call")
	gone(t, second)
}

func TestResultTooLarge(t *testing.T) {
	p, err := start(t, "acme", misbehave["misbehave"], subprocess.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := subprocess.PID(p)
	_, err = configure(t, p, "bigout")
	wantError(t, err, "returned a result larger than the 4194304 bytes a result may have; the plugin was stopped")
	gone(t, first)
	if _, err := configure(t, p, ""); err != nil {
		t.Fatalf("the call after: %v", err)
	}
}

// TestScript runs a plugin that is a script: its interpreter, named by the
// #! line, opens the script by the path the host executed.
func TestScript(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	path := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexec "+misbehave["misbehave"]+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := start(t, "acme", path, subprocess.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := configure(t, p, ""); err != nil || out.OK == nil {
		t.Fatalf("configure: %+v, %v", out, err)
	}
}

// TestDeadlineKills checks that a call ends at its context's deadline, which
// internal/plugin sets, and that the process that missed it is killed.
func TestDeadlineKills(t *testing.T) {
	p, err := start(t, "acme", misbehave["misbehave"], subprocess.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := subprocess.PID(p)
	begin := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	var out wire.ConfigureOutput
	err = call(ctx, p, wire.FuncConfigure, configureInput("hang"), &out)
	wantError(t, err, "stopped (context deadline exceeded)")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v does not wrap context.DeadlineExceeded", err)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("the call took %v", took)
	}
	gone(t, first)
	if _, err := configure(t, p, ""); err != nil {
		t.Fatalf("the call after a hang: %v", err)
	}
}

func TestCancelKills(t *testing.T) {
	p, err := start(t, "acme", misbehave["misbehave"], subprocess.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := subprocess.PID(p)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	var out wire.ConfigureOutput
	err = call(ctx, p, wire.FuncConfigure, configureInput("hang"), &out)
	wantError(t, err, "stopped (context canceled)")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%v does not wrap context.Canceled", err)
	}
	gone(t, first)
}

// TestPanicIsAnErrorEnvelope checks that the SDK answers a panic with an
// error envelope, which the transport hands over: the process survives the
// panic, and is stopped only when the caller refuses the envelope, as
// internal/plugin does.
func TestPanicIsAnErrorEnvelope(t *testing.T) {
	p, err := start(t, "acme", misbehave["misbehave"], subprocess.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := subprocess.PID(p)
	in, _ := json.Marshal(configureInput("panic"))
	var envelope wire.Result
	err = p.Call(t.Context(), wire.FuncConfigure, in, func(b []byte) error { return json.Unmarshal(b, &envelope) })
	if err != nil || !strings.HasPrefix(envelope.Error, "panic in configure: misbehave: panicking as asked\n") {
		t.Fatalf("envelope %+v, %v: want the panic, and its stack on the next lines", envelope, err)
	}
	if subprocess.PID(p) != first {
		t.Error("a recovered panic replaced the process")
	}

	_, err = configure(t, p, "panic")
	wantError(t, err, "panic in configure: misbehave: panicking as asked")
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("the error carries the stack trace: %q", err)
	}
	gone(t, first)
	if out, err := configure(t, p, ""); err != nil || out.OK == nil {
		t.Fatalf("the call after a refused envelope: %+v, %v", out, err)
	}
	if second := subprocess.PID(p); second == first || second == 0 {
		t.Errorf("no new process after a refused envelope (pid %d, was %d)", second, first)
	}
}

func TestStartFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
		is   *wire.ContractError
	}{
		{"garbage", []string{`printed "Welcome to Misbehave 1.0!" where the go-plugin handshake belongs`, "serve.Main"}, nil},
		{"exits", []string{"exited with code 3 before the go-plugin handshake", "misbehave: cannot start: no configuration"}, nil},
		{"silent", []string{"did not complete the go-plugin handshake within 500ms"}, nil},
		{"badversion", []string{"speaks contract version 2: this idplug speaks contract version 1; install a build of the plugin for contract 1"}, &wire.ContractError{Version: "2"}},
		{"unregistered", []string{"exited with code 1", "a plugin program serves one provider, and 0 are registered"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := children()
			_, err := start(t, "acme", misbehave[tc.name], subprocess.Options{StartTimeout: 500 * time.Millisecond})
			if err == nil {
				t.Fatal("the plugin started")
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			var ce *wire.ContractError
			if errors.As(err, &ce) != (tc.is != nil) || tc.is != nil && *ce != *tc.is {
				t.Errorf("error %v: want the *wire.ContractError %+v", err, tc.is)
			}
			if after := children(); len(after) > len(before) {
				t.Errorf("processes %v remain after the failed start", after)
			}
		})
	}
	if _, err := subprocess.Copy(filepath.Join(bin, "nonexistent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Copy of a missing file: %v", err)
	}
}

func TestNotAnExecutable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "text")
	if err := os.WriteFile(path, []byte("just text\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := start(t, "acme", path, subprocess.Options{})
	if err == nil || !strings.HasPrefix(err.Error(), `cannot run `+path) {
		t.Fatalf("error %v: want one saying the file cannot run", err)
	}
}

func TestNoHostEnvironmentNoStdin(t *testing.T) {
	t.Setenv("IDPLUG_TEST_SECRET", "do-not-leak")
	p, err := start(t, "acme", misbehave["misbehave"], subprocess.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := configure(t, p, "env")
	if err != nil || len(out.Err) != 1 {
		t.Fatalf("configure env: %+v, %v", out, err)
	}
	var seen struct {
		Env            []string `json:"env"`
		StdinIsDevNull bool     `json:"stdin_is_devnull"`
	}
	if err := json.Unmarshal([]byte(out.Err[0].Message), &seen); err != nil {
		t.Fatal(err)
	}
	for _, kv := range seen.Env {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "PLUGIN_") && name != "IDPLUG_PLUGIN" {
			t.Errorf("the plugin sees %s from the host's environment", name)
		}
	}
	// Mutual TLS over TCP on Windows; none over a Unix socket in a private
	// directory elsewhere.
	if cert := strings.Contains(strings.Join(seen.Env, "\n"), "PLUGIN_CLIENT_CERT="); cert != (runtime.GOOS == "windows") {
		t.Errorf("PLUGIN_CLIENT_CERT given: %v, want it on Windows only", cert)
	}
	if !seen.StdinIsDevNull {
		t.Error("the plugin's stdin is not " + os.DevNull)
	}
}

// recorder keeps the records of a slog logger.
type recorder struct {
	mu      sync.Mutex
	records []string
}

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, string(b))
	return len(b), nil
}

func (r *recorder) has(parts ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
next:
	for _, rec := range r.records {
		for _, p := range parts {
			if !strings.Contains(rec, p) {
				continue next
			}
		}
		return true
	}
	return false
}

func TestLogsReachTheHostLogger(t *testing.T) {
	rec := &recorder{}
	log := slog.New(slog.NewTextHandler(rec, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := start(t, "acme", misbehave["misbehave"], subprocess.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := configure(t, p, "log"); err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]string{
		{"level=WARN", `msg="a warning from the plugin"`, "plugin=acme"},
		{`msg="a line on stderr"`, "plugin=acme"},
		{`msg="a line on stdout"`, "plugin=acme"},
	} {
		deadline := time.Now().Add(2 * time.Second)
		for !rec.has(want...) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if !rec.has(want...) {
			t.Errorf("no log record with %q in:\n%s", want, strings.Join(rec.records, ""))
		}
	}
}

// TestExecutesTheBytesItHashed replaces the plugin file after Copy: the
// process runs the bytes that were hashed, never the new ones.
func TestExecutesTheBytesItHashed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plugin")
	good, err := os.ReadFile(misbehave["misbehave"])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, good, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := subprocess.Copy(path)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(good); exe.SHA256() != hex.EncodeToString(sum[:]) {
		t.Errorf("SHA256() = %s, want %x", exe.SHA256(), sum)
	}
	// In place, then by rename: neither reaches the copy.
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho pwned\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other")
	os.WriteFile(other, []byte("#!/bin/sh\necho pwned\n"), 0o755)
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	p, err := subprocess.Start(t.Context(), "acme", exe, subprocess.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if _, err := configure(t, p, ""); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" {
		target, _ := os.Readlink("/proc/" + strconv.Itoa(subprocess.PID(p)) + "/exe")
		if !strings.Contains(target, "memfd:") {
			t.Errorf("the plugin runs %s, not a sealed memfd", target)
		}
	}
}

func TestClose(t *testing.T) {
	p, err := start(t, "acme", misbehave["misbehave"], subprocess.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pid := subprocess.PID(p)
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	gone(t, pid)
	_, err = configure(t, p, "")
	if !errors.Is(err, subprocess.ErrClosed) {
		t.Errorf("a call after Close: %v", err)
	}
	if err := p.Close(t.Context()); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// The helper modes of this test binary, re-executed by TestHostDeath.
const helperEnv = "IDPLUG_SUBPROCESS_TEST_HELPER"

// TestHostDeath starts a host process (this test binary again) that starts
// a plugin and then dies: with a panic that KillAll, deferred, cleans up
// after, or killed outright, when the kernel must do it.
func TestHostDeath(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	for _, mode := range []string{"panic", "sigkill"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelper$")
			cmd.Env = append(os.Environ(), helperEnv+"="+mode, "IDPLUG_TEST_PLUGIN="+misbehave["misbehave"])
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			pid, perr := strconv.Atoi(strings.TrimSpace(line))
			if err != nil || perr != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("the helper printed %q (%v): %s", line, err, stderr.String())
			}
			if mode == "sigkill" {
				cmd.Process.Kill()
			}
			err = cmd.Wait()
			if mode == "panic" && !strings.Contains(stderr.String(), "panic: the host panics") {
				t.Errorf("the helper did not panic (%v): %s", err, stderr.String())
			}
			gone(t, pid)
		})
	}
}

// TestHelper is the host process of TestHostDeath; it does nothing in a
// normal run.
func TestHelper(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("run by TestHostDeath")
	}
	exe, err := subprocess.Copy(os.Getenv("IDPLUG_TEST_PLUGIN"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := subprocess.Start(context.Background(), "acme", exe, subprocess.Options{})
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString(strconv.Itoa(subprocess.PID(p)) + "\n")
	if mode == "panic" {
		defer subprocess.KillAll()
		panic("the host panics")
	}
	time.Sleep(time.Minute) // until the parent kills this process
}

// TestProtoFollowsTheContract keeps wit/idplug.proto, its generated code
// and the contract's functions in step.
func TestProtoFollowsTheContract(t *testing.T) {
	src, err := os.ReadFile("../../wit/idplug.proto")
	if err != nil {
		t.Fatal(err)
	}
	var inFile []string
	for _, m := range regexp.MustCompile(`(?m)^\s*rpc (\w+)\(Document\) returns \(Envelope\);`).FindAllSubmatch(src, -1) {
		inFile = append(inFile, strings.ToLower(string(m[1])))
	}
	var generated []string
	methods := wire.File_idplug_proto.Services().ByName("Provider").Methods()
	for i := range methods.Len() {
		generated = append(generated, strings.ToLower(string(methods.Get(i).Name())))
	}
	var want []string
	for _, fn := range wire.Functions {
		want = append(want, string(fn))
	}
	if !slices.Equal(inFile, want) {
		t.Errorf("wit/idplug.proto declares %v, want one method per function of the contract: %v", inFile, want)
	}
	if !slices.Equal(generated, inFile) {
		t.Errorf("the generated code has methods %v, wit/idplug.proto %v: run make proto", generated, inFile)
	}
}
