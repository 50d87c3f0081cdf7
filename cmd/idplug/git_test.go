package main_test

// End-to-end tests of git-credential with the real git: `git credential
// fill`, and `git clone` over smart HTTP from `git http-backend` behind a
// loopback server that takes the demo IdP's access tokens as Basic-auth
// passwords.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/demoidp"
)

// gitEnv is an env whose profile lists the loopback git server in
// git_hosts, and a private git configuration.
type gitEnv struct {
	*env
	git    string // the git binary
	server *gitServer
	url    string // the server's base URL, http://127.0.0.1:PORT
	global string // GIT_CONFIG_GLOBAL
}

func newGitEnv(t *testing.T, profileExtra string) *gitEnv {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed: install git (Debian package git) to run the git-credential tests")
	}
	e := newEnv(t, demoidp.Options{})
	g := &gitEnv{env: e, git: git, global: filepath.Join(e.dir, "gitconfig")}
	if err := os.WriteFile(g.global, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	g.server = newGitServer(t, g)
	srv := httptest.NewServer(g.server)
	t.Cleanup(srv.Close)
	g.url = srv.URL
	e.writeConfig(fmt.Sprintf(`
default_profile = "demo"

[store]
backend = "file"
dir = %q

[profiles.demo]
provider  = "oidc"
client_id = %q
git_hosts = [%q]
%s
[profiles.demo.settings]
issuer = %q
`, filepath.Join(e.dir, "tokens"), demoidp.ClientID, strings.TrimPrefix(g.url, "http://"), profileExtra, e.idp.URL()))
	return g
}

// helper is the credential.helper value that runs the binary under test.
func (g *gitEnv) helper() string {
	return "!" + shellQuote(binary) + " --config " + shellQuote(g.config) + " git-credential"
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// configure adds key = value to the private global git configuration.
func (g *gitEnv) configure(key, value string) {
	g.t.Helper()
	if r := g.gitIn("", "", "config", "--global", "--add", key, value); r.code != 0 {
		g.t.Fatalf("git config %s: %s", key, r.stderr)
	}
}

// gitIn runs git in dir ("" for the test's directory) with stdin, a private
// HOME and global configuration, no system configuration and no terminal
// prompts. The helper inherits its environment, as git passes it on.
func (g *gitEnv) gitIn(dir, stdin string, args ...string) result {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(g.t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.git, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(g.command(ctx).Env, "GIT_CONFIG_GLOBAL="+g.global, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"XDG_CONFIG_HOME="+filepath.Join(g.dir, "xdg"))
	return runCmd(g.t, cmd)
}

// fill runs `git credential fill` for url and returns its answer.
func (g *gitEnv) fill(url string) result {
	g.t.Helper()
	return g.gitIn("", "url="+url+"\n\n", "credential", "fill")
}

// token is what `idplug token` prints.
func (g *gitEnv) token() string {
	g.t.Helper()
	r := g.run("token")
	if r.code != 0 {
		g.t.Fatalf("token: exit %d: %s", r.code, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

func (g *gitEnv) loginOK() {
	g.t.Helper()
	if r, _ := g.login(g.approve); r.code != 0 {
		g.t.Fatalf("login: exit %d: %s", r.code, r.stderr)
	}
}

// gitServer serves the bare repository repo.git with `git http-backend` to
// requests whose Basic-auth username is oauth2 and whose password is an
// access token the demo IdP accepts at its userinfo endpoint; it answers
// others 401 with a Basic challenge.
type gitServer struct {
	idp     *demoidp.Server
	backend *cgi.Handler

	mu       sync.Mutex
	refuse   string   // a token to refuse once, as if the server had revoked it
	accepted []string // the passwords it let through, in order
	refused  []string // the passwords it turned away
}

func newGitServer(t *testing.T, g *gitEnv) *gitServer {
	t.Helper()
	root, work := filepath.Join(g.dir, "srv"), filepath.Join(g.dir, "work")
	for _, args := range [][]string{
		{"-c", "init.defaultBranch=main", "init", "-q", work},
		{"-C", work, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "--allow-empty", "-m", "first commit"},
		{"clone", "-q", "--bare", work, filepath.Join(root, "repo.git")},
	} {
		if r := g.gitIn("", "", args...); r.code != 0 {
			t.Fatalf("git %v: %s", args, r.stderr)
		}
	}
	return &gitServer{idp: g.idp, backend: &cgi.Handler{
		Path: g.git, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + g.dir},
	}}
}

func (s *gitServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != "oauth2" || !s.check(r.Context(), pass) {
		w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	s.backend.ServeHTTP(w, r)
}

// check reports whether the demo IdP takes token, unless it is the one to
// refuse once; it records the outcome.
func (s *gitServer) check(ctx context.Context, token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := token != s.refuse && s.userinfo(ctx, token)
	if ok {
		s.accepted = append(s.accepted, token)
	} else {
		s.refused = append(s.refused, token)
	}
	if token == s.refuse {
		s.refuse = ""
	}
	return ok
}

func (s *gitServer) userinfo(ctx context.Context, token string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.idp.URL()+"/userinfo", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (s *gitServer) refuseOnce(token string) {
	s.mu.Lock()
	s.refuse = token
	s.mu.Unlock()
}

// seen returns copies of the accepted and refused passwords.
func (s *gitServer) seen() (accepted, refused []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.accepted...), append([]string(nil), s.refused...)
}

// answer parses the key=value lines of `git credential fill`.
func answer(stdout string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

// TestGitCredentialFill: git gets the profile's token for the host in
// git_hosts, through the helper configured for that URL; the same helper
// set for every URL gives git nothing for another host.
func TestGitCredentialFill(t *testing.T) {
	g := newGitEnv(t, "")
	g.configure("credential."+g.url+".helper", "")
	g.configure("credential."+g.url+".helper", g.helper())

	// Not logged in: nothing, a hint, and no login started.
	r := g.fill(g.url + "/repo.git")
	if r.code == 0 || strings.Contains(r.stdout, "password=") || !strings.Contains(r.stderr, "idplug login --profile demo") {
		t.Errorf("fill before login: exit %d, stdout %q, stderr %q; want git to fail with our hint to log in", r.code, r.stdout, r.stderr)
	}
	if n := g.idp.TokenRequests(demoidp.GrantTypeDeviceCode); n != 0 || len(g.idp.PendingUserCodes()) != 0 {
		t.Error("the helper started a login")
	}

	g.loginOK()
	tok := g.token()
	r = g.fill(g.url + "/repo.git")
	a := answer(r.stdout)
	if r.code != 0 || a["username"] != "oauth2" || a["password"] != tok || a["host"] != strings.TrimPrefix(g.url, "http://") {
		t.Fatalf("fill: exit %d, stdout %q, stderr %q; want username oauth2 and the token %q", r.code, r.stdout, r.stderr, tok)
	}

	// A helper set for every URL, as a global credential.helper would be:
	// git runs it for another port too (GIT_TRACE shows it), and it gives
	// nothing there.
	g.global = filepath.Join(g.dir, "gitconfig-any")
	g.configure("credential.helper", g.helper())
	g.extra = append(g.extra, "GIT_TRACE=1")
	other := "http://127.0.0.1:1"
	r = g.fill(other + "/repo.git")
	if r.code == 0 || strings.Contains(r.stdout+r.stderr, tok) || !strings.Contains(r.stderr, "git-credential get") ||
		!strings.Contains(r.stderr, "terminal prompts disabled") {
		t.Errorf("fill for %s: exit %d, stdout %q, stderr %q; want the helper run and no credential", other, r.code, r.stdout, r.stderr)
	}
	if a := answer(g.fill(g.url).stdout); a["password"] != tok {
		t.Errorf("fill through the global helper for %s: %v; want the token", g.url, a)
	}
}

// TestGitCredentialUsername: git_username is the username git gets.
func TestGitCredentialUsername(t *testing.T) {
	g := newGitEnv(t, `git_username = "x-access-token"`)
	g.configure("credential."+g.url+".helper", "")
	g.configure("credential."+g.url+".helper", g.helper())
	g.loginOK()
	if a := answer(g.fill(g.url + "/repo.git").stdout); a["username"] != "x-access-token" || a["password"] != g.token() {
		t.Errorf("fill: %v; want username x-access-token and the token", a)
	}
}

// TestGitClone clones over smart HTTP with the token as password, and
// recovers from a token the server refused: git erases it, and the next
// get refreshes it.
func TestGitClone(t *testing.T) {
	g := newGitEnv(t, "")
	g.configure("credential."+g.url+".helper", "")
	g.configure("credential."+g.url+".helper", g.helper())
	g.loginOK()
	tok := g.token()

	dest := filepath.Join(g.dir, "clone1")
	if r := g.gitIn("", "", "clone", "-q", g.url+"/repo.git", dest); r.code != 0 {
		t.Fatalf("clone: exit %d: %s", r.code, r.stderr)
	}
	if r := g.gitIn(dest, "", "log", "--format=%s"); strings.TrimSpace(r.stdout) != "first commit" {
		t.Errorf("the clone's log: %q %q", r.stdout, r.stderr)
	}
	accepted, _ := g.server.seen()
	if len(accepted) == 0 || accepted[0] != tok {
		t.Fatalf("the server let through %q; want the token %q", accepted, tok)
	}

	// The server refuses the token once: git erases it and fails.
	g.server.refuseOnce(tok)
	r := g.gitIn("", "", "clone", "-q", g.url+"/repo.git", filepath.Join(g.dir, "clone2"))
	if r.code == 0 || !strings.Contains(r.stderr, "Authentication failed") {
		t.Fatalf("clone with a refused token: exit %d, stderr %q; want git's authentication failure", r.code, r.stderr)
	}
	if _, refused := g.server.seen(); len(refused) == 0 || refused[len(refused)-1] != tok {
		t.Fatalf("the server refused %q; want the token last", refused)
	}
	if g.idp.Refreshes() != 0 {
		t.Errorf("the IdP saw %d refreshes before the next get; erase must only mark the token", g.idp.Refreshes())
	}

	// The next get refreshes, and a clone works with the new token.
	fresh := answer(g.fill(g.url + "/repo.git").stdout)["password"]
	if fresh == "" || fresh == tok || g.idp.Refreshes() != 1 || fresh != g.token() {
		t.Fatalf("fill after the refusal: password %q (old %q), refreshes %d; want one refresh and the new stored token", fresh, tok, g.idp.Refreshes())
	}
	if r := g.gitIn("", "", "clone", "-q", g.url+"/repo.git", filepath.Join(g.dir, "clone3")); r.code != 0 {
		t.Fatalf("clone after refresh: exit %d: %s", r.code, r.stderr)
	}
	if accepted, _ := g.server.seen(); accepted[len(accepted)-1] != fresh {
		t.Errorf("the last clone sent %q; want the refreshed token", accepted[len(accepted)-1])
	}
	if g.idp.Refreshes() != 1 {
		t.Errorf("the IdP saw %d refreshes; want 1", g.idp.Refreshes())
	}
}
