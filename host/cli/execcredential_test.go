package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/idplug/idplug/host"
	"github.com/idplug/idplug/internal/demoidp"
)

// TestExecRequest: the ExecCredential's apiVersion is v1 unless
// KUBERNETES_EXEC_INFO asks for v1beta1; whether to sign in is the exec
// info's spec.interactive, or without exec info whether stdin is a
// terminal; exec info that is not an ExecCredential of a supported version
// is refused, naming the variable and the version.
func TestExecRequest(t *testing.T) {
	info := func(version string, interactive bool) string {
		return fmt.Sprintf(`{"kind":"ExecCredential","apiVersion":%q,"spec":{"interactive":%v}}`, version, interactive)
	}
	for _, tc := range []struct {
		info        string
		tty         bool
		version     string
		interactive bool
		err         []string // what the error names
	}{
		{info: "", version: execCredentialV1},
		{info: "", tty: true, version: execCredentialV1, interactive: true},
		{info: info(execCredentialV1, false), tty: true, version: execCredentialV1},
		{info: info(execCredentialV1, true), version: execCredentialV1, interactive: true},
		{info: info(execCredentialV1beta1, false), tty: true, version: execCredentialV1beta1},
		{info: info(execCredentialV1beta1, true), version: execCredentialV1beta1, interactive: true},
		{info: `{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":true,"cluster":{"server":"https://k8s"}}}`,
			version: execCredentialV1beta1, interactive: true},
		{info: info("client.authentication.k8s.io/v1alpha1", false), err: []string{"KUBERNETES_EXEC_INFO", `"client.authentication.k8s.io/v1alpha1"`}},
		{info: info("v2", false), err: []string{"KUBERNETES_EXEC_INFO", `"v2"`}},
		{info: `{"kind":"ExecCredential","spec":{}}`, err: []string{"KUBERNETES_EXEC_INFO", "apiVersion"}},
		{info: `{"apiVersion":`, err: []string{"KUBERNETES_EXEC_INFO"}},
		{info: `null`, err: []string{"KUBERNETES_EXEC_INFO"}},
		{info: `"client.authentication.k8s.io/v1"`, err: []string{"KUBERNETES_EXEC_INFO"}},
	} {
		cred, err := execRequest(tc.info, tc.tty)
		if tc.err != nil {
			for _, want := range tc.err {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("execRequest(%s): error %v; want one naming %s", tc.info, err, want)
				}
			}
			continue
		}
		if err != nil || cred.Kind != "ExecCredential" || cred.APIVersion != tc.version || cred.Spec.Interactive != tc.interactive || cred.Status != nil {
			t.Errorf("execRequest(%s, tty %v) = %+v, %v; want %s, interactive %v", tc.info, tc.tty, cred, err, tc.version, tc.interactive)
		}
	}
}

// TestIsTerminal: a reader that is not an *os.File, or a file that is not a
// terminal, is no terminal.
func TestIsTerminal(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(strings.NewReader("")) || isTerminal(f) {
		t.Error("isTerminal: a string reader or /dev/null is a terminal")
	}
}

// notLoggedInConfig writes a configuration whose profiles a and b use a
// file store and have never logged in, and returns its path.
func notLoggedInConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "config.toml")
	text := fmt.Sprintf("default_profile = \"a\"\n[store]\nbackend = \"file\"\ndir = %q\n", filepath.Join(dir, "tokens"))
	for _, p := range []string{"a", "b"} {
		text += fmt.Sprintf("[profiles.%s]\nprovider = \"oidc\"\nclient_id = \"x\"\n[profiles.%s.settings]\nissuer = \"http://127.0.0.1:1\"\n", p, p)
	}
	if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return config
}

// TestExecCredentialNotLoggedIn: when it may not ask the user, a profile
// that is not logged in gets exit 3, one line on stderr that says how to
// log in, and nothing on stdout, whichever version kubectl asks for.
func TestExecCredentialNotLoggedIn(t *testing.T) {
	config := notLoggedInConfig(t)
	for _, info := range []string{
		"", // stdin is no terminal
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`,
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}`,
	} {
		t.Setenv("KUBERNETES_EXEC_INFO", info)
		for _, args := range [][]string{{"exec-credential"}, {"exec-credential", "--access-token"}} {
			stdout, stderr, code := run(t, append([]string{"--config", config, "--profile", "b"}, args...)...)
			if code != ExitNotLoggedIn || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "`idplug login --profile b`") {
				t.Errorf("%v with exec info %s: exit %d, stdout %q, stderr %q; want 3, one line with a hint to run `idplug login --profile b`, nothing on stdout",
					args, info, code, stdout, stderr)
			}
		}
	}
}

// TestExecCredentialBadExecInfo: exec info that cannot be answered is a
// usage error naming the variable, with nothing on stdout.
func TestExecCredentialBadExecInfo(t *testing.T) {
	config := notLoggedInConfig(t)
	for _, info := range []string{`{"apiVersion":`, `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1","spec":{}}`} {
		t.Setenv("KUBERNETES_EXEC_INFO", info)
		stdout, stderr, code := run(t, "--config", config, "exec-credential")
		if code != ExitUsage || stdout != "" || !strings.Contains(stderr, "KUBERNETES_EXEC_INFO") {
			t.Errorf("exec info %s: exit %d, stdout %q, stderr %q; want 2 naming KUBERNETES_EXEC_INFO", info, code, stdout, stderr)
		}
	}
}

// TestExecCredentialMounted: mounted under "mytool auth", the hint and the
// kubeconfig of the help name the mounted command.
func TestExecCredentialMounted(t *testing.T) {
	config := notLoggedInConfig(t)
	t.Setenv("KUBERNETES_EXEC_INFO", "")
	mytool := func(args ...string) (stdout, stderr string, code int) {
		var out, errOut bytes.Buffer
		root := &cobra.Command{Use: "mytool"}
		auth := &cobra.Command{Use: "auth"}
		Mount(auth, Options{App: "mytool", IO: &IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
			HostOptions: []host.Option{host.WithCacheDir(t.TempDir())}})
		root.AddCommand(auth)
		code = Main(context.Background(), root, args)
		return out.String(), errOut.String(), code
	}
	stdout, stderr, code := mytool("auth", "--config", config, "--profile", "b", "exec-credential")
	if code != ExitNotLoggedIn || stdout != "" || !strings.Contains(stderr, "`mytool auth login --profile b`") {
		t.Errorf("auth exec-credential: exit %d, stdout %q, stderr %q; want 3 and a hint to run `mytool auth login --profile b`", code, stdout, stderr)
	}
	stdout, _, _ = mytool("auth", "exec-credential", "--help")
	if !strings.Contains(stdout, "command: mytool\n") || !strings.Contains(stdout, "args: [auth, exec-credential, --profile, work]") ||
		!strings.Contains(stdout, "run\nmytool auth login.") || strings.Contains(stdout, "idplug") {
		t.Errorf("auth exec-credential --help: want a kubeconfig running mytool auth exec-credential:\n%s", stdout)
	}
	// The help text is the command's own again afterwards.
	stdout, _, _ = mytool("auth", "exec-credential", "--help")
	if strings.Count(stdout, "mytool auth login") != 1 || strings.Contains(stdout, "auth, auth") {
		t.Errorf("the second help differs:\n%s", stdout)
	}
}

// TestExecCredentialLogin: an interactive exec-credential of a profile that
// is not logged in signs in with every prompt on stderr, then prints the
// ExecCredential of the ID token, alone on stdout; afterwards the cached
// token is printed without a login, and --access-token prints the access
// token with its expiry.
func TestExecCredentialLogin(t *testing.T) {
	t.Setenv("DISPLAY", ":0") // so that login "opens a browser": the approval below
	idp, err := demoidp.Start(t.Context(), demoidp.Options{PollInterval: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	dir := t.TempDir()
	config := filepath.Join(dir, "config.toml")
	text := fmt.Sprintf("default_profile = \"demo\"\n[store]\nbackend = \"file\"\ndir = %q\n[profiles.demo]\nprovider = \"oidc\"\nclient_id = %q\n[profiles.demo.settings]\nissuer = %q\n",
		filepath.Join(dir, "tokens"), demoidp.ClientID, idp.URL())
	if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	logins := 0
	run := func(info string, args ...string) (stdout, stderr string, code int) {
		t.Setenv("KUBERNETES_EXEC_INFO", info)
		var out, errOut bytes.Buffer
		root := NewRootCommand(Options{
			IO:          &IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
			HostOptions: []host.Option{host.WithStateDir(dir), host.WithCacheDir(dir)},
			OpenBrowser: func(string) error { logins++; return idp.Approve(idp.LastUserCode(), "alice") },
		})
		code = Main(context.Background(), root, append([]string{"--config", config}, args...))
		return out.String(), errOut.String(), code
	}
	decode := func(what, stdout string) execCredential {
		t.Helper()
		var cred execCredential
		if strings.Count(stdout, "\n") != 1 || json.Unmarshal([]byte(stdout), &cred) != nil || cred.Status == nil {
			t.Fatalf("%s: stdout is not one ExecCredential:\n%s", what, stdout)
		}
		return cred
	}

	stdout, stderr, code := run(`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}`, "exec-credential", "--qr")
	if code != 0 || logins != 1 {
		t.Fatalf("interactive exec-credential: exit %d after %d logins: %s", code, logins, stderr)
	}
	for _, want := range []string{idp.VerificationURI(), "enter the code", "█", `Logged in to profile "demo" as alice`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the login's stderr lacks %q:\n%s", want, stderr)
		}
	}
	cred := decode("interactive exec-credential", stdout)
	idToken, _, _ := run("", "token", "--id-token")
	if cred.Kind != "ExecCredential" || cred.APIVersion != execCredentialV1 || !cred.Spec.Interactive || cred.Status.Token+"\n" != idToken {
		t.Errorf("exec-credential after login = %s; want a v1 ExecCredential of the ID token %s", stdout, idToken)
	}
	exp, err := time.Parse(time.RFC3339, cred.Status.ExpirationTimestamp)
	if err != nil || exp.Location() != time.UTC || time.Until(exp) < 50*time.Minute || time.Until(exp) > time.Hour {
		t.Errorf("expirationTimestamp %q: want the ID token's expiry, in an hour, in UTC", cred.Status.ExpirationTimestamp)
	}

	stdout, stderr, code = run(`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}`, "exec-credential")
	if again := decode("cached exec-credential", stdout); code != 0 || logins != 1 || stderr != "" || again.APIVersion != execCredentialV1beta1 ||
		again.Spec.Interactive || again.Status.Token != cred.Status.Token || idp.Refreshes() != 0 {
		t.Errorf("cached exec-credential: exit %d, %d logins, %d refreshes, stdout %s, stderr %q; want the same token as v1beta1, from the store",
			code, logins, idp.Refreshes(), stdout, stderr)
	}

	stdout, _, code = run("", "exec-credential", "--access-token")
	tok, _, _ := run("", "token", "--json")
	var want struct {
		AccessToken string `json:"access_token"`
		Expiry      string `json:"expiry"`
	}
	json.Unmarshal([]byte(tok), &want)
	if access := decode("exec-credential --access-token", stdout); code != 0 || access.Status.Token != want.AccessToken ||
		access.Status.ExpirationTimestamp != want.Expiry || access.APIVersion != execCredentialV1 {
		t.Errorf("exec-credential --access-token = %s; want the access token and expiry of %s", stdout, tok)
	}
}
