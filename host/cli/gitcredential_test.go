package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/idplug/idplug/host"
	"github.com/idplug/idplug/internal/demoidp"
)

func TestReadGitRequest(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     gitRequest
	}{
		{"blank line ends it", "protocol=https\nhost=a.example\n\nhost=b.example\n", gitRequest{"protocol": "https", "host": "a.example"}},
		{"EOF ends it", "protocol=https\nhost=a.example\n", gitRequest{"protocol": "https", "host": "a.example"}},
		{"EOF without a newline", "protocol=https\nhost=a.example", gitRequest{"protocol": "https", "host": "a.example"}},
		{"nothing", "", gitRequest{}},
		{"only a blank line", "\nhost=a.example\n", gitRequest{}},
		{"= in a value", "password=a=b==\nhost=x\n", gitRequest{"password": "a=b==", "host": "x"}},
		{"empty value", "username=\n", gitRequest{"username": ""}},
		{"CRLF", "protocol=https\r\nhost=a.example\r\n\r\nhost=b\r\n", gitRequest{"protocol": "https", "host": "a.example"}},
		{"last value wins", "host=a\nhost=b\n", gitRequest{"host": "b"}},
		{"multi-valued and unknown keys", "capability[]=authtype\nwwwauth[]=Basic realm=\"git\"\nprotocol=https\nfuture_key=1\nhost=a\npath=g/r.git\n",
			gitRequest{"protocol": "https", "future_key": "1", "host": "a", "path": "g/r.git"}},
	} {
		got, err := readGitRequest(strings.NewReader(tc.in))
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("%s: readGitRequest(%q) = %v, %v; want %v", tc.name, tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"protocol=https\ns3cret\n", "=s3cret\n"} {
		_, err := readGitRequest(strings.NewReader(in))
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("readGitRequest(%q): error %v; want one that does not quote the line", in, err)
		}
	}
}

func TestGitRequestForUs(t *testing.T) {
	hosts := []string{"git.example.com", "git.example.com:8443", "127.0.0.1:3000", "[::1]:3000", "localhost", "plain.example.com:80"}
	for _, tc := range []struct {
		protocol, host string
		want           bool
	}{
		{"https", "git.example.com", true},
		{"https", "GIT.Example.COM", true},
		{"HTTPS", "git.example.com", true},
		{"https", "git.example.com:8443", true},
		{"https", "Git.Example.Com:8443", true},
		{"https", "git.example.com:443", false}, // git sends the port as the URL has it
		{"https", "git.example.com:9999", false},
		{"https", "other.example.com", false},
		{"https", "git.example.com.evil.example", false},
		{"https", "", false},
		{"", "git.example.com", false},
		{"http", "git.example.com", false}, // not loopback: the token would travel in the clear
		{"http", "plain.example.com:80", false},
		{"ssh", "git.example.com", false},
		{"http", "127.0.0.1:3000", true},
		{"http", "127.0.0.1:3001", false},
		{"http", "[::1]:3000", true},
		{"http", "localhost", true},
		{"https", "127.0.0.1:3000", true},
	} {
		req := gitRequest{"protocol": tc.protocol, "host": tc.host}
		if got := req.forUs(hosts); got != tc.want {
			t.Errorf("protocol %q host %q: forUs = %v, want %v", tc.protocol, tc.host, got, tc.want)
		}
	}
}

func TestGitValue(t *testing.T) {
	for v, want := range map[string]bool{
		"eyJhbGciOi.x-y_z~+/=": true, "oauth2": true, "jörg": true, "": true,
		"a\nusername=evil": false, "a\r": false, "a\x00": false, "a\x7f": false, "\x1b[2J": false,
	} {
		if got := gitValue(v); got != want {
			t.Errorf("gitValue(%q) = %v, want %v", v, got, want)
		}
	}
}

// gitCLI is a demo IdP and a configuration whose profiles use it: "demo"
// and "named" (git_username = "x-access-token") list git hosts; "out"
// lists them but never logs in; "nohosts" and "empty" have no git_hosts.
type gitCLI struct {
	t      *testing.T
	idp    *demoidp.Server
	dir    string
	config string
	cache  string
}

func newGitCLI(t *testing.T) *gitCLI {
	t.Helper()
	t.Setenv("DISPLAY", ":0") // so that login "opens a browser": OpenBrowser approves
	idp, err := demoidp.Start(t.Context(), demoidp.Options{PollInterval: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	c := &gitCLI{t: t, idp: idp, dir: t.TempDir(), cache: t.TempDir()}
	c.config = filepath.Join(c.dir, "config.toml")
	var b strings.Builder
	fmt.Fprintf(&b, "default_profile = \"demo\"\n[store]\nbackend = \"file\"\ndir = %q\n", filepath.Join(c.dir, "tokens"))
	for _, p := range []struct{ name, extra string }{
		{"demo", `git_hosts = ["Git.Example.com", "git.example.com:8443", "127.0.0.1:3000"]`},
		{"named", `git_hosts = ["git.example.com"]` + "\ngit_username = \"x-access-token\""},
		{"out", `git_hosts = ["git.example.com"]`},
		{"nohosts", ""},
		{"empty", "git_hosts = []"},
	} {
		fmt.Fprintf(&b, "\n[profiles.%s]\nprovider = \"oidc\"\nclient_id = %q\n%s\n[profiles.%s.settings]\nissuer = %q\n",
			p.name, demoidp.ClientID, p.extra, p.name, idp.URL())
	}
	if err := os.WriteFile(c.config, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// run runs the reference root command with stdin as its input.
func (c *gitCLI) run(stdin string, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	root := NewRootCommand(Options{
		IO:          &IO{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut},
		HostOptions: []host.Option{host.WithStateDir(c.dir), host.WithCacheDir(c.cache)},
		OpenBrowser: func(string) error { return c.idp.Approve(c.idp.LastUserCode(), "alice") },
	})
	code = Main(context.Background(), root, append([]string{"--config", c.config}, args...))
	return out.String(), errOut.String(), code
}

func (c *gitCLI) login(profile string) {
	c.t.Helper()
	if _, stderr, code := c.run("", "--profile", profile, "login"); code != 0 {
		c.t.Fatalf("login --profile %s: exit %d: %s", profile, code, stderr)
	}
}

// token returns the profile's access token as the token command prints it.
func (c *gitCLI) token(profile string) string {
	c.t.Helper()
	stdout, stderr, code := c.run("", "--profile", profile, "token")
	if code != 0 {
		c.t.Fatalf("token --profile %s: exit %d: %s", profile, code, stderr)
	}
	return strings.TrimSpace(stdout)
}

var gitAnswerRE = regexp.MustCompile(`^username=(.+)\npassword=(.+)\npassword_expiry_utc=([0-9]+)\n$`)

// get runs git-credential get for the profile and returns the username and
// password it answered, checking the form of the answer.
func (c *gitCLI) get(profile, request string) (username, password string) {
	c.t.Helper()
	stdout, stderr, code := c.run(request, "--profile", profile, "git-credential", "get")
	m := gitAnswerRE.FindStringSubmatch(stdout)
	if code != 0 || m == nil || stderr != "" {
		c.t.Fatalf("get %q: exit %d, stdout %q, stderr %q; want username, password and password_expiry_utc", request, code, stdout, stderr)
	}
	exp, _ := strconv.ParseInt(m[3], 10, 64)
	if left := time.Until(time.Unix(exp, 0)); left < time.Minute || left > 11*time.Minute {
		c.t.Errorf("password_expiry_utc is %s away; want the 10-minute access token's expiry", left)
	}
	return m[1], m[2]
}

// TestGitCredential drives get, erase and store through the command, with
// tokens from the demo IdP.
func TestGitCredential(t *testing.T) {
	c := newGitCLI(t)
	c.login("demo")
	tok := c.token("demo")

	for _, req := range []string{
		"protocol=https\nhost=git.example.com\n\n",
		"protocol=https\nhost=GIT.example.COM\npath=group/repo.git\n",                         // EOF ends it
		"capability[]=authtype\nprotocol=https\nhost=git.example.com:8443\nusername=oauth2\n", // unknown keys
		"protocol=http\nhost=127.0.0.1:3000\nwwwauth[]=Basic realm=\"a=b\"\n\n",
	} {
		if user, pass := c.get("demo", req); user != "oauth2" || pass != tok {
			t.Errorf("get %q: username %q, password %q; want oauth2 and the token %q", req, user, pass, tok)
		}
	}
	for _, req := range []string{
		"protocol=https\nhost=other.example.com\n\n",
		"protocol=https\nhost=git.example.com:9999\n",
		"protocol=https\nhost=127.0.0.1\n",
		"protocol=http\nhost=git.example.com\n", // in the clear
		"protocol=https\nhost=git.example.com\nusername=alice\n",
		"protocol=https\nhost=other.example.com\n\nhost=git.example.com\n", // after the blank line
		"host=git.example.com\n",
		"",
	} {
		if stdout, stderr, code := c.run(req, "git-credential", "get"); stdout != "" || stderr != "" || code != 0 {
			t.Errorf("get %q: exit %d, stdout %q, stderr %q; want nothing at all", req, code, stdout, stderr)
		}
	}

	// store keeps nothing, and an operation git may add later is ignored.
	for _, op := range []string{"store", "frobnicate"} {
		req := "protocol=https\nhost=git.example.com\nusername=oauth2\npassword=other\n"
		if stdout, stderr, code := c.run(req, "git-credential", op); stdout != "" || stderr != "" || code != 0 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want nothing", op, code, stdout, stderr)
		}
	}
	// erase of another password, or of the token for a host not listed,
	// changes nothing.
	for _, req := range []string{
		"protocol=https\nhost=git.example.com\nusername=oauth2\npassword=" + tok + "x\n",
		"protocol=https\nhost=other.example.com\nusername=oauth2\npassword=" + tok + "\n",
		"protocol=https\nhost=git.example.com\nusername=oauth2\n",
	} {
		if stdout, stderr, code := c.run(req, "git-credential", "erase"); stdout != "" || stderr != "" || code != 0 {
			t.Errorf("erase %q: exit %d, stdout %q, stderr %q; want nothing", req, code, stdout, stderr)
		}
	}
	if _, pass := c.get("demo", "protocol=https\nhost=git.example.com\n"); pass != tok || c.idp.Refreshes() != 0 {
		t.Errorf("after erasing another password: refreshes %d, same token %v; want the token kept", c.idp.Refreshes(), pass == tok)
	}

	// erase of our token: the next get refreshes it.
	req := "protocol=https\nhost=git.example.com\nusername=oauth2\npassword=" + tok + "\nwwwauth[]=Basic realm=\"git\"\n\n"
	if stdout, stderr, code := c.run(req, "git-credential", "erase"); stdout != "" || code != 0 {
		t.Fatalf("erase: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	_, fresh := c.get("demo", "protocol=https\nhost=git.example.com\n")
	if fresh == tok || c.idp.Refreshes() != 1 {
		t.Errorf("get after erase: refreshes %d, same token %v; want one refresh and a new token", c.idp.Refreshes(), fresh == tok)
	}
	if now := c.token("demo"); now != fresh {
		t.Errorf("get answered %q, but the stored token is %q", fresh, now)
	}

	// git_username.
	c.login("named")
	if user, pass := c.get("named", "protocol=https\nhost=git.example.com\nusername=x-access-token\n"); user != "x-access-token" || pass != c.token("named") {
		t.Errorf("named: username %q, password %q; want x-access-token and its token", user, pass)
	}
	if stdout, _, _ := c.run("protocol=https\nhost=git.example.com\nusername=oauth2\n", "--profile", "named", "git-credential", "get"); stdout != "" {
		t.Errorf("named, asked for user oauth2: %q; want nothing", stdout)
	}
}

// TestGitCredentialNotLoggedIn: get never logs in; it prints nothing on
// stdout and a one-line hint on stderr, and exits 3. erase does nothing.
func TestGitCredentialNotLoggedIn(t *testing.T) {
	c := newGitCLI(t)
	stdout, stderr, code := c.run("protocol=https\nhost=git.example.com\n\n", "--profile", "out", "git-credential", "get")
	if code != ExitNotLoggedIn || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "`idplug login --profile out`") {
		t.Errorf("get: exit %d, stdout %q, stderr %q; want 3, nothing on stdout and a one-line hint to log in", code, stdout, stderr)
	}
	if len(c.idp.PendingUserCodes()) != 0 || c.idp.TokenRequests(demoidp.GrantTypeDeviceCode) != 0 {
		t.Error("get started a login")
	}
	if stdout, stderr, code := c.run("protocol=https\nhost=git.example.com\npassword=x\n", "--profile", "out", "git-credential", "erase"); stdout != "" || stderr != "" || code != 0 {
		t.Errorf("erase: exit %d, stdout %q, stderr %q; want nothing", code, stdout, stderr)
	}

	// Mounted in another tool, the hint names the tool's command.
	var out, errOut bytes.Buffer
	root := &cobra.Command{Use: "mytool"}
	auth := &cobra.Command{Use: "auth"}
	Mount(auth, Options{App: "mytool", IO: &IO{In: strings.NewReader("protocol=https\nhost=git.example.com\n"), Out: &out, ErrOut: &errOut},
		HostOptions: []host.Option{host.WithStateDir(c.dir), host.WithCacheDir(c.cache)}})
	root.AddCommand(auth)
	code = Main(context.Background(), root, []string{"auth", "--config", c.config, "--profile", "out", "git-credential", "get"})
	if code != ExitNotLoggedIn || out.Len() != 0 || !strings.Contains(errOut.String(), "`mytool auth login --profile out`") {
		t.Errorf("mounted: exit %d, stdout %q, stderr %q; want 3 and a hint naming mytool auth login", code, out.String(), errOut.String())
	}
}

// TestGitCredentialConfigErrors: without git_hosts, get and erase are a
// configuration error naming the key and where the profile is; a request
// that is not key=value lines is a usage error.
func TestGitCredentialConfigErrors(t *testing.T) {
	c := newGitCLI(t)
	for _, profile := range []string{"nohosts", "empty"} {
		for _, op := range []string{"get", "erase"} {
			stdout, stderr, code := c.run("protocol=https\nhost=git.example.com\n", "--profile", profile, "git-credential", op)
			key := fmt.Sprintf("config.toml:%d: profiles.%s.git_hosts:", profileLine(t, c.config, profile), profile)
			if code != ExitUsage || stdout != "" || !strings.Contains(stderr, key) || !strings.Contains(stderr, `git_hosts = ["gitlab.example.com"]`) {
				t.Errorf("%s %s: exit %d, stdout %q, stderr %q; want 2 naming %s and what to add", profile, op, code, stdout, stderr, key)
			}
		}
	}
	stdout, stderr, code := c.run("protocol=https\nhost=git.example.com\ns3cret\n", "git-credential", "get")
	if code != ExitUsage || stdout != "" || strings.Contains(stderr, "s3cret") || !strings.Contains(stderr, "line 3") {
		t.Errorf("bad request: exit %d, stdout %q, stderr %q; want 2 naming the line but not quoting it", code, stdout, stderr)
	}
	if _, stderr, code := c.run("", "git-credential"); code != ExitUsage || !strings.Contains(stderr, "idplug git-credential --help") {
		t.Errorf("no operation: exit %d, stderr %q; want 2", code, stderr)
	}
}

// profileLine is the line of [profiles.NAME] in the configuration file.
func profileLine(t *testing.T, config, name string) int {
	t.Helper()
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		if line == "[profiles."+name+"]" {
			return i + 1
		}
	}
	t.Fatalf("no [profiles.%s] in %s", name, config)
	return 0
}

// TestGitCredentialRefusesToInject: a stored token that could end its
// protocol line is never written to git.
func TestGitCredentialRefusesToInject(t *testing.T) {
	c := newGitCLI(t)
	c.login("demo")
	files, _ := filepath.Glob(filepath.Join(c.dir, "tokens", "*.json"))
	if len(files) != 1 {
		t.Fatalf("want one token file, found %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var bundle map[string]any
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	bundle["access_token"] = "tok\nusername=evil\npassword=evil"
	if b, err = json.Marshal(bundle); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := c.run("protocol=https\nhost=git.example.com\n", "git-credential", "get")
	if code != ExitFailure || stdout != "" || !strings.Contains(stderr, "control character") || strings.Contains(stderr, "evil") {
		t.Errorf("get: exit %d, stdout %q, stderr %q; want 1, nothing on stdout, and a refusal", code, stdout, stderr)
	}
}
