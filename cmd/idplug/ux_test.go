package main_test

// What a user of the binary sees: output shapes of DESIGN.md §4, hints,
// output off a terminal, Ctrl-C.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/demoidp"
)

// jsonKeys returns the keys of the JSON object line in the order written.
func jsonKeys(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%q is not a JSON object", line)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestOutputShapes(t *testing.T) {
	e := newEnv(t, demoidp.Options{})
	r, events := e.login(e.approve)
	if r.code != 0 {
		t.Fatalf("login: exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if got, want := jsonKeys(t, lines[0]), []string{"event", "verification_uri", "verification_uri_complete", "user_code", "expires_in", "interval"}; !slices.Equal(got, want) {
		t.Errorf("verification event keys %v, want %v", got, want)
	}
	if last := events[len(events)-1]; last["event"] != "authorized" || last["profile"] != "demo" {
		t.Errorf("last event %v, want authorized for profile demo", last)
	}

	who := e.run("whoami", "--json")
	if got, want := jsonKeys(t, strings.TrimSpace(who.stdout)), []string{"subject", "username", "name", "email", "groups", "provider", "profile", "expires_at"}; !slices.Equal(got, want) {
		t.Errorf("whoami --json keys %v, want exactly %v", got, want)
	}

	tok := e.run("token")
	if tok.code != 0 || tok.stderr != "" || !regexp.MustCompile(`^[A-Za-z0-9._~+/=-]+\n$`).MatchString(tok.stdout) {
		t.Errorf("token: exit %d, stdout %q, stderr %q; want the token alone on stdout", tok.code, tok.stdout, tok.stderr)
	}
}

// TestLoginOffTerminal: with stderr not a terminal there is no countdown and
// no escape sequence, but the user still learns how long the code lasts.
func TestLoginOffTerminal(t *testing.T) {
	e := newEnv(t, demoidp.Options{})
	cmd := e.command(t.Context(), "login", "--no-browser")
	cmd.Env = append(cmd.Env, "TERM=xterm-256color")
	var out bytes.Buffer
	if s := e.loginByHand(cmd, &out); strings.ContainsAny(s, "\x1b\r") || !strings.Contains(s, "Waiting for approval; the code expires in") ||
		!strings.Contains(s, `Logged in to profile "demo" as alice`) {
		t.Errorf("login's stderr off a terminal:\n%q", s)
	}
	if out.Len() != 0 {
		t.Errorf("login without --json wrote to stdout: %q", out.String())
	}
}

func TestLoginFailureHints(t *testing.T) {
	e := newEnv(t, demoidp.Options{DeviceCodeLifetime: 2 * time.Second})
	r, _ := e.login(func(code string) { e.submit(code, "alice", "deny") })
	if r.code != 4 || !strings.Contains(r.stderr, "`idplug login --profile demo`") {
		t.Errorf("denied: exit %d, stderr %q; want 4 and how to try again", r.code, r.stderr)
	}
	r, events := e.login(nil)
	if r.code != 5 || !strings.Contains(r.stderr, "`idplug login --profile demo`") {
		t.Errorf("expired: exit %d, stderr %q; want 5 and how to get a new code", r.code, r.stderr)
	}
	if last := events[len(events)-1]; last["event"] != "error" || last["error"] != "expired_token" {
		t.Errorf("expired: last event %v", last)
	}
}

// TestInterruptedLogin: Ctrl-C while waiting for approval says so, exits 1,
// ends the JSON events with an error event and stores nothing.
func TestInterruptedLogin(t *testing.T) {
	e := newEnv(t, demoidp.Options{})
	var stderr bytes.Buffer
	cmd := e.command(t.Context(), "login", "--json", "--no-browser")
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var last string
	for sc.Scan() {
		last = sc.Text()
		if strings.Contains(last, `"verification"`) {
			cmd.Process.Signal(os.Interrupt)
		}
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 || stderr.String() != "idplug: interrupted\n" {
		t.Errorf("interrupted login: exit %d, stderr %q; want 1 and 'idplug: interrupted'", code, stderr.String())
	}
	if !strings.Contains(last, `"error":"interrupted"`) {
		t.Errorf("last event %s, want an interrupted error event", last)
	}
	if files, _ := filepath.Glob(filepath.Join(e.dir, "tokens", "*.json")); len(files) != 0 {
		t.Errorf("an interrupted login stored %v", files)
	}
}
