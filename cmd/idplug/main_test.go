package main_test

// End-to-end tests of the idplug binary: the real device flow through the
// built-in oidc provider (and its WebAssembly and subprocess builds) against the demo OpenID provider on
// 127.0.0.1, with short intervals. `make test` passes the binary it built in
// IDPLUG_BIN and the plugin modules in IDPLUG_PLUGINS; without them the
// tests build both.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/demoidp"
)

var (
	binary   string // the idplug binary under test
	oidcWasm string // bin/plugins/oidc.wasm
	cacheDir string // shared compilation cache, so only the first test compiles
)

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "idplug-e2e-")
	if err != nil {
		panic(err)
	}
	code := func() int {
		defer os.RemoveAll(tmp)
		cacheDir = filepath.Join(tmp, "cache")
		binary, oidcWasm = os.Getenv("IDPLUG_BIN"), filepath.Join(os.Getenv("IDPLUG_PLUGINS"), "oidc.wasm")
		if binary == "" {
			binary = filepath.Join(tmp, "idplug")
			if err := build(binary, "./"); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		if os.Getenv("IDPLUG_PLUGINS") == "" {
			oidcWasm = filepath.Join(tmp, "oidc.wasm")
			if err := build(oidcWasm, "../../plugins/oidc/cmd", "GOOS=wasip1", "GOARCH=wasm"); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

func build(out, pkg string, env ...string) error {
	args := []string{"build", "-o", out}
	if strings.HasSuffix(out, ".wasm") {
		args = append(args, "-buildmode=c-shared")
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// env is one test's world: a demo IdP, a configuration file and private
// state, config and cache directories.
type env struct {
	t      *testing.T
	idp    *demoidp.Server
	dir    string
	config string
	extra  []string // more environment variables for the binary
}

func newEnv(t *testing.T, opts demoidp.Options) *env {
	t.Helper()
	if opts.PollInterval == 0 {
		opts.PollInterval = time.Second
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	idp, err := demoidp.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	e := &env{t: t, idp: idp, dir: t.TempDir()}
	e.writeConfig(fmt.Sprintf(`
default_profile = "demo"

[store]
backend = "file"
dir = %q

[profiles.demo]
provider  = "oidc"
client_id = %q
[profiles.demo.settings]
issuer = %q
`, filepath.Join(e.dir, "tokens"), demoidp.ClientID, idp.URL()))
	return e
}

func (e *env) writeConfig(text string) {
	e.t.Helper()
	e.config = filepath.Join(e.dir, "config.toml")
	if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// result is what one run of the binary did.
type result struct {
	stdout, stderr string
	code           int
}

func (e *env) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, append([]string{"--config", e.config}, args...)...)
	cmd.Env = []string{
		"HOME=" + e.dir,
		"XDG_CACHE_HOME=" + cacheDir,
		"XDG_STATE_HOME=" + filepath.Join(e.dir, "state"),
		"PATH=" + os.Getenv("PATH"),
	}
	cmd.Env = append(cmd.Env, e.extra...)
	return cmd
}

func (e *env) run(args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), time.Minute)
	defer cancel()
	return runCmd(e.t, e.command(ctx, args...))
}

// runCmd runs cmd to its end and returns its output and exit status; a
// command that cannot run at all fails the test.
func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return r
}

// loginByHand runs cmd, a human-mode login, as a user does: it approves the
// code the login shows on stderr, and returns all of stderr. stdout, if not
// nil, receives the login's standard output.
func (e *env) loginByHand(cmd *exec.Cmd, stdout io.Writer) string {
	e.t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	cmd.Stdout = stdout
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	var text strings.Builder
	code := regexp.MustCompile(`^    ([A-Z]{4}-[A-Z]{4})$`)
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		text.WriteString(sc.Text() + "\n")
		if m := code.FindStringSubmatch(sc.Text()); m != nil {
			e.approve(m[1])
		}
	}
	if err := cmd.Wait(); err != nil {
		e.t.Fatalf("login: %v\n%s", err, text.String())
	}
	return text.String()
}

// login runs `idplug login --json`, hands each verification event to
// decide, and returns the run with the JSON events it printed.
func (e *env) login(decide func(userCode string), extra ...string) (result, []map[string]any) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), time.Minute)
	defer cancel()
	cmd := e.command(ctx, append([]string{"login", "--json", "--no-browser"}, extra...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	var events []map[string]any
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			e.t.Fatalf("login --json printed a line that is not JSON: %q", sc.Text())
		}
		events = append(events, ev)
		if ev["event"] == "verification" && decide != nil {
			decide(ev["user_code"].(string))
		}
	}
	err = cmd.Wait()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return r, events
}

// submit posts the verification form, as a person's browser or curl would.
func (e *env) submit(userCode, user, action string) {
	e.t.Helper()
	resp, err := http.PostForm(e.idp.VerificationURI(), url.Values{"user_code": {userCode}, "user": {user}, "action": {action}})
	if err != nil {
		e.t.Error(err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Errorf("verification form: %s", resp.Status)
	}
}

func (e *env) approve(userCode string) { e.submit(userCode, "alice", "approve") }

func kinds(events []map[string]any) []string {
	var out []string
	for _, ev := range events {
		out = append(out, ev["event"].(string))
	}
	return out
}

func TestLoginTokenWhoamiLogout(t *testing.T) {
	e := newEnv(t, demoidp.Options{})

	if r := e.run("token"); r.code != 3 || !strings.Contains(r.stderr, "login") {
		t.Fatalf("token before login: exit %d, stderr %q; want exit 3 and a hint to log in", r.code, r.stderr)
	}

	r, events := e.login(e.approve)
	if r.code != 0 {
		t.Fatalf("login: exit %d\n%s", r.code, r.stderr)
	}
	k := kinds(events)
	if k[0] != "verification" || k[len(k)-1] != "authorized" {
		t.Fatalf("login events %v: want verification first and authorized last", k)
	}
	v := events[0]
	for _, f := range []string{"verification_uri", "verification_uri_complete", "user_code", "expires_in", "interval"} {
		if _, ok := v[f]; !ok {
			t.Errorf("verification event lacks %q: %v", f, v)
		}
	}
	if got := events[len(events)-1]["username"]; got != "alice" {
		t.Errorf("authorized event username = %v, want alice", got)
	}
	// Every event between verification and authorized reports one poll,
	// and so does authorized.
	polls := e.idp.TokenRequests(demoidp.GrantTypeDeviceCode)
	if want := len(events) - 1; polls != want {
		t.Errorf("token endpoint saw %d device_code POSTs for %d polls; want exactly one POST per poll", polls, want)
	}

	tok := e.run("token")
	if tok.code != 0 || strings.TrimSpace(tok.stdout) == "" {
		t.Fatalf("token: exit %d, stdout %q, stderr %q", tok.code, tok.stdout, tok.stderr)
	}
	if again := e.run("token"); again.stdout != tok.stdout || e.idp.Refreshes() != 0 {
		t.Errorf("a cached, valid token was not reused (refreshes %d)", e.idp.Refreshes())
	}
	if strings.Contains(tok.stderr, tok.stdout) {
		t.Error("the token appeared on stderr")
	}

	who := e.run("whoami", "--json")
	if who.code != 0 {
		t.Fatalf("whoami: exit %d: %s", who.code, who.stderr)
	}
	var id map[string]any
	if err := json.Unmarshal([]byte(who.stdout), &id); err != nil {
		t.Fatal(err)
	}
	alice := demoidp.Users()[0]
	for k, want := range map[string]any{"username": alice.Username, "email": alice.Email, "name": alice.Name, "subject": alice.Subject, "provider": "oidc", "profile": "demo"} {
		if id[k] != want {
			t.Errorf("whoami %s = %v, want %v", k, id[k], want)
		}
	}
	if id["expires_at"] == nil || len(id["groups"].([]any)) != len(alice.Groups) {
		t.Errorf("whoami: expires_at %v, groups %v; want an expiry and %v", id["expires_at"], id["groups"], alice.Groups)
	}

	st := e.run("status", "--json")
	if !strings.Contains(st.stdout, `"logged_in":true`) {
		t.Errorf("status after login: %s", st.stdout)
	}

	bundle := readBundle(t, filepath.Join(e.dir, "tokens"))
	out := e.run("logout")
	if out.code != 0 || !strings.Contains(out.stderr, "revoked") {
		t.Fatalf("logout: exit %d: %s", out.code, out.stderr)
	}
	if !e.idp.WasRevoked(bundle.RefreshToken) {
		t.Error("logout did not revoke the refresh token at the IdP")
	}
	if r := e.run("token"); r.code != 3 {
		t.Errorf("token after logout: exit %d, want 3", r.code)
	}
	if st := e.run("status", "--json"); !strings.Contains(st.stdout, `"logged_in":false`) {
		t.Errorf("status after logout: %s", st.stdout)
	}
}

// storedToken is the part of the store's bundle these tests look into.
type storedToken struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func readBundle(t *testing.T, dir string) storedToken {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("want one token file in %s, found %v", dir, files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var tok storedToken
	if err := json.Unmarshal(b, &tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRefreshAfterExpiry(t *testing.T) {
	// The CLI refreshes a token 10 s before it expires: a 12 s token is
	// fresh right after login and due 2 s later.
	e := newEnv(t, demoidp.Options{AccessTokenLifetime: 12 * time.Second})
	if r, _ := e.login(e.approve); r.code != 0 {
		t.Fatalf("login: exit %d: %s", r.code, r.stderr)
	}
	first := e.run("token").stdout
	before := readBundle(t, filepath.Join(e.dir, "tokens"))
	time.Sleep(2500 * time.Millisecond)

	second := e.run("token")
	if second.code != 0 || second.stdout == first {
		t.Fatalf("token after expiry: exit %d, same token %v: %s", second.code, second.stdout == first, second.stderr)
	}
	if e.idp.Refreshes() != 1 {
		t.Errorf("IdP saw %d refreshes, want 1", e.idp.Refreshes())
	}
	after := readBundle(t, filepath.Join(e.dir, "tokens"))
	if after.RefreshToken == before.RefreshToken {
		t.Error("the rotated refresh token was not stored")
	}
	if who := e.run("whoami"); who.code != 0 || !strings.Contains(who.stdout, "alice") {
		t.Errorf("whoami after refresh: exit %d: %s%s", who.code, who.stdout, who.stderr)
	}
}

func TestDenied(t *testing.T) {
	e := newEnv(t, demoidp.Options{})
	r, events := e.login(func(code string) { e.submit(code, "alice", "deny") })
	if r.code != 4 {
		t.Fatalf("login denied: exit %d, want 4: %s", r.code, r.stderr)
	}
	if last := events[len(events)-1]; last["event"] != "error" || last["error"] != "access_denied" {
		t.Errorf("last event %v, want an access_denied error event", last)
	}
	if files, _ := filepath.Glob(filepath.Join(e.dir, "tokens", "*.json")); len(files) != 0 {
		t.Errorf("a denied login stored %v", files)
	}
}

func TestExpired(t *testing.T) {
	e := newEnv(t, demoidp.Options{DeviceCodeLifetime: 2 * time.Second})
	r, _ := e.login(nil)
	if r.code != 5 || !strings.Contains(r.stderr, "login") {
		t.Fatalf("login never approved: exit %d, want 5 with a hint: %s", r.code, r.stderr)
	}
}

func TestSlowDown(t *testing.T) {
	e := newEnv(t, demoidp.Options{})
	e.idp.SlowDownPolls(1)
	start := time.Now()
	r, events := e.login(e.approve)
	if r.code != 0 {
		t.Fatalf("login: exit %d: %s", r.code, r.stderr)
	}
	if !slices.Contains(kinds(events), "slow_down") {
		t.Errorf("events %v lack slow_down", kinds(events))
	}
	// First poll after 1 s answers slow_down; the interval becomes 6 s.
	if took := time.Since(start); took < 7*time.Second {
		t.Errorf("login took %s: the interval was not raised by 5 s after slow_down", took)
	}
}

func TestTransientFaultsWhilePolling(t *testing.T) {
	e := newEnv(t, demoidp.Options{})
	e.idp.FailPolls(2, http.StatusServiceUnavailable)
	r, events := e.login(e.approve)
	if r.code != 0 {
		t.Fatalf("login with two 503s: exit %d: %s", r.code, r.stderr)
	}
	retries := 0
	for _, k := range kinds(events) {
		if k == "retrying" {
			retries++
		}
	}
	if retries != 2 {
		t.Errorf("events %v: want two retrying events", kinds(events))
	}
}

func TestConfigurationErrors(t *testing.T) {
	e := newEnv(t, demoidp.Options{})
	for _, tc := range []struct {
		name, config string
		want         []string
	}{
		{"malformed TOML", "[profiles.demo]\nprovider = \"oidc\n", []string{"config.toml:2", "invalid TOML"}},
		{"missing required setting", "[profiles.demo]\nprovider = \"oidc\"\nclient_id = \"x\"\n", []string{"config.toml:1", "issuer"}},
		{"unknown setting", "[profiles.demo]\nprovider = \"oidc\"\nclient_id = \"x\"\n[profiles.demo.settings]\nissuer = \"http://127.0.0.1:1\"\nrealm = \"r\"\n", []string{"config.toml:6", "realm", "issuer"}},
		{"plain http to a remote host", "[profiles.demo]\nprovider = \"oidc\"\nclient_id = \"x\"\n[profiles.demo.settings]\nissuer = \"http://idp.example.com\"\n", []string{"config.toml:5", "https://"}},
		{"unknown provider", "[profiles.demo]\nprovider = \"nope\"\nclient_id = \"x\"\n", []string{"config.toml:1", "nope", "oidc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.writeConfig(tc.config)
			r := e.run("login", "--no-browser")
			if r.code != 2 {
				t.Fatalf("exit %d, want 2: %s", r.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q lacks %q", r.stderr, w)
				}
			}
		})
	}
}

func TestThirdPartyWasmPinnedAndNotLoadedForCachedToken(t *testing.T) {
	e := newEnv(t, demoidp.Options{})
	module, err := os.ReadFile(oidcWasm)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(e.dir, "acme.wasm")
	if err := os.WriteFile(path, module, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(module)
	config := func(pin string) string {
		return fmt.Sprintf(`
[store]
backend = "file"
dir = %q
[profiles.acme]
provider  = "acme"
client_id = %q
[profiles.acme.settings]
issuer = %q
[plugins.acme]
wasm   = %q
sha256 = %q
`, filepath.Join(e.dir, "tokens"), demoidp.ClientID, e.idp.URL(), path, pin)
	}

	wrong := strings.Repeat("0", 64)
	e.writeConfig(config(wrong))
	r := e.run("plugins", "info", "acme")
	if r.code != 2 || !strings.Contains(r.stderr, wrong) || !strings.Contains(r.stderr, hex.EncodeToString(sum[:])) {
		t.Fatalf("pin mismatch: exit %d, stderr %q; want exit 2 naming both hashes", r.code, r.stderr)
	}

	e.writeConfig(config(hex.EncodeToString(sum[:])))
	if r, _ := e.login(e.approve); r.code != 0 {
		t.Fatalf("login through the third-party module: exit %d: %s", r.code, r.stderr)
	}
	// With the module gone, only a path that never loads a plugin can print
	// the cached token.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if r := e.run("token"); r.code != 0 || strings.TrimSpace(r.stdout) == "" {
		t.Fatalf("cached token without the plugin: exit %d: %s", r.code, r.stderr)
	}
}

func TestPluginsCommands(t *testing.T) {
	e := newEnv(t, demoidp.Options{})
	list := e.run("plugins", "list")
	if list.code != 0 || !strings.Contains(list.stdout, "oidc") || !strings.Contains(list.stdout, "built-in") {
		t.Fatalf("plugins list: exit %d: %s%s", list.code, list.stdout, list.stderr)
	}
	info := e.run("plugins", "info", "oidc")
	if info.code != 0 || !strings.Contains(info.stdout, "issuer") || !strings.Contains(info.stdout, "contract version: 1") {
		t.Fatalf("plugins info oidc: exit %d: %s%s", info.code, info.stdout, info.stderr)
	}
}
