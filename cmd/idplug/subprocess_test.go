package main_test

// End-to-end tests of subprocess plugins: the built-in oidc provider built
// as bin/plugins/idplug-plugin-oidc, loaded through [plugins.X] command with
// a pinned sha256, against the demo IdP. After every run of the binary, no
// plugin process may remain.

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/demoidp"
)

var (
	subprocessOnce sync.Once
	subprocessOidc string // bin/plugins/idplug-plugin-oidc
	subprocessErr  error
)

// oidcExecutable returns the oidc provider built as a subprocess plugin:
// make test's, or one built next to the shared cache.
func oidcExecutable(t *testing.T) []byte {
	t.Helper()
	subprocessOnce.Do(func() {
		if dir := os.Getenv("IDPLUG_PLUGINS"); dir != "" {
			subprocessOidc = filepath.Join(dir, "idplug-plugin-oidc")
			return
		}
		subprocessOidc = filepath.Join(filepath.Dir(cacheDir), "idplug-plugin-oidc")
		subprocessErr = build(subprocessOidc, "../../plugins/oidc/cmd")
	})
	if subprocessErr != nil {
		t.Fatal(subprocessErr)
	}
	b, err := os.ReadFile(subprocessOidc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// subprocessEnv is an env whose profile uses the oidc provider as the
// subprocess plugin bin/plugins/idplug-plugin-oidc, relative to the
// configuration file, pinned to pin ("" for the right digest).
func subprocessEnv(t *testing.T, pin string) (*env, string) {
	t.Helper()
	e := newEnv(t, demoidp.Options{})
	exe := filepath.Join(e.dir, "bin", "plugins", "idplug-plugin-oidc")
	b := oidcExecutable(t)
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if pin == "" {
		sum := sha256.Sum256(b)
		pin = hex.EncodeToString(sum[:])
	}
	e.subprocessProfile("idplug-plugin-oidc", pin)
	return e, exe
}

// subprocessProfile configures the default profile "demo" with the
// subprocess plugin bin/plugins/<command> of the oidc provider, pinned.
func (e *env) subprocessProfile(command, pin string) {
	e.writeConfig(fmt.Sprintf(`
default_profile = "demo"
[store]
backend = "file"
dir = %q
[profiles.demo]
provider  = "oidc-sub"
client_id = %q
[profiles.demo.settings]
issuer = %q
[plugins.oidc-sub]
command = "bin/plugins/%s"
sha256  = %q
`, filepath.Join(e.dir, "tokens"), demoidp.ClientID, e.idp.URL(), command, pin))
}

// pluginProcesses returns the processes running the executable at exe
// (the host passes its configured path as the plugin's argv[0]).
func pluginProcesses(exe string) []int {
	var out []int
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		argv0, _, _ := strings.Cut(string(b), "\x00")
		if argv0 != exe {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(filepath.Dir(f), "stat"))
		if err != nil {
			continue
		}
		if fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:])); len(fields) > 0 && fields[0] == "Z" {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		out = append(out, pid)
	}
	return out
}

// noPluginProcess fails t if a process of exe is left.
func noPluginProcess(t *testing.T, exe, after string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		return
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(pluginProcesses(exe)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if left := pluginProcesses(exe); len(left) > 0 {
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		t.Errorf("plugin processes %v outlived %s", left, after)
	}
}

func TestLoginThroughSubprocessPlugin(t *testing.T) {
	e, exe := subprocessEnv(t, "")
	r, events := e.login(e.approve)
	if r.code != 0 {
		t.Fatalf("login through the subprocess plugin: exit %d: %s", r.code, r.stderr)
	}
	noPluginProcess(t, exe, "login")
	if last := events[len(events)-1]; last["event"] != "authorized" || last["username"] != "alice" {
		t.Errorf("last event %v, want alice authorized", last)
	}
	if tok := e.run("token"); tok.code != 0 || strings.TrimSpace(tok.stdout) == "" {
		t.Fatalf("token: exit %d: %s", tok.code, tok.stderr)
	}
	who := e.run("whoami", "--json")
	var id map[string]any
	if who.code != 0 || json.Unmarshal([]byte(who.stdout), &id) != nil || id["username"] != "alice" || id["provider"] != "oidc-sub" {
		t.Fatalf("whoami: exit %d: %s%s", who.code, who.stdout, who.stderr)
	}
	info := e.run("plugins", "info", "oidc-sub")
	if info.code != 0 || !strings.Contains(info.stdout, "contract version: 1") || !strings.Contains(info.stdout, exe) {
		t.Errorf("plugins info: exit %d: %s%s", info.code, info.stdout, info.stderr)
	}
	if out := e.run("logout"); out.code != 0 {
		t.Errorf("logout: exit %d: %s", out.code, out.stderr)
	}
	noPluginProcess(t, exe, "whoami, plugins info and logout")
}

func TestSubprocessPluginPinMismatch(t *testing.T) {
	wrong := strings.Repeat("0", 64)
	e, exe := subprocessEnv(t, wrong)
	sum := sha256.Sum256(oidcExecutable(t))
	r := e.run("plugins", "info", "oidc-sub")
	if r.code != 2 || !strings.Contains(r.stderr, wrong) || !strings.Contains(r.stderr, hex.EncodeToString(sum[:])) {
		t.Fatalf("pin mismatch: exit %d, stderr %q; want exit 2 naming both hashes", r.code, r.stderr)
	}
	noPluginProcess(t, exe, "a refused pin")
}

// TestCtrlCStopsSubprocessPlugin interrupts a login waiting for approval,
// with its plugin running, as Ctrl-C in a terminal does.
func TestCtrlCStopsSubprocessPlugin(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	e, exe := subprocessEnv(t, "")
	cmd := e.command(t.Context(), "login", "--json", "--no-browser")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || !strings.Contains(sc.Text(), `"verification"`) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("login printed %q, want the verification event", sc.Text())
	}
	running := pluginProcesses(exe)
	if len(running) != 1 {
		t.Errorf("plugin processes during login: %v, want one", running)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
	}
	cmd.Wait()
	if cmd.ProcessState.ExitCode() == 0 {
		t.Error("an interrupted login exited 0")
	}
	noPluginProcess(t, exe, "Ctrl-C")
}
