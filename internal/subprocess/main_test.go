package subprocess_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/subprocess"
)

// The tests run real plugin executables, built by TestMain into a temporary
// directory: misbehave (testdata) under several names. The providers of
// plugins/ run over every transport in the conformance suite of
// internal/plugin.

var (
	bin       string                // the temporary directory of the executables
	misbehave = map[string]string{} // name → path of a copy of misbehave
)

func TestMain(m *testing.M) {
	code := func() int {
		tmp, err := os.MkdirTemp("", "idplug-subprocess-test-")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(tmp)
		bin = tmp
		if err := buildAll(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		code := m.Run()
		if err := noOrphans(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return code
	}()
	os.Exit(code)
}

func buildAll() error {
	if helper := os.Getenv(helperEnv); helper != "" {
		return nil // a re-executed test binary: it uses what its parent built
	}
	mb := filepath.Join(bin, "misbehave")
	if err := goBuild(mb, "./testdata/misbehave"); err != nil {
		return err
	}
	b, err := os.ReadFile(mb)
	if err != nil {
		return err
	}
	for _, name := range []string{"misbehave", "garbage", "exits", "silent", "badversion", "unregistered"} {
		misbehave[name] = filepath.Join(bin, name+"-plugin")
		if err := os.WriteFile(misbehave[name], b, 0o755); err != nil {
			return err
		}
	}
	return nil
}

func goBuild(out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return nil
}

// children returns the processes whose parent is this one, zombies aside.
func children() []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(fields) < 2 || fields[0] == "Z" || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		out = append(out, pid)
	}
	return out
}

// noOrphans fails when a plugin process of these tests still runs.
func noOrphans() error {
	if runtime.GOOS != "linux" {
		return nil
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		kids := children()
		if len(kids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			subprocess.KillAll()
			return fmt.Errorf("FAIL: plugin processes %v outlived the tests", kids)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// running reports whether process pid exists and is not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// gone fails t unless process pid ends within a second.
func gone(t *testing.T, pid int) {
	t.Helper()
	if runtime.GOOS != "linux" {
		return
	}
	for deadline := time.Now().Add(time.Second); running(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("plugin process %d still runs", pid)
		}
	}
}
