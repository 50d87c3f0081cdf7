package main_test

// kubectl runs `idplug exec-credential` as its exec credential plugin
// against a loopback HTTPS API server that accepts only ID tokens of the
// demo IdP, as an API server's OpenID Connect authenticator does.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/idplug/idplug/internal/demoidp"
)

// apiServer is a Kubernetes API server reduced to what `kubectl get --raw
// /api` needs, behind bearer-token authentication with the demo IdP's ID
// tokens.
type apiServer struct {
	*httptest.Server
	mu       sync.Mutex
	accepted []string // the ID tokens it accepted, one per request
	rejected int      // requests without a valid ID token
	served   int      // answers to GET /api
}

func newAPIServer(t *testing.T, issuer string) *apiServer {
	t.Helper()
	provider, err := oidc.NewProvider(t.Context(), issuer)
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: demoidp.ClientID})
	a := &apiServer{}
	a.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var token *oidc.IDToken
		if ok {
			token, _ = verifier.Verify(r.Context(), raw)
		}
		a.mu.Lock()
		if token == nil {
			a.rejected++
		} else {
			a.accepted = append(a.accepted, raw)
		}
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case token == nil:
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
		case r.URL.Path != "/api":
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
		default:
			a.mu.Lock()
			a.served++
			a.mu.Unlock()
			fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}`)
		}
	}))
	t.Cleanup(a.Close)
	return a
}

// seen returns the ID tokens a accepted, how many requests it refused and
// how many it answered with the APIVersions.
func (a *apiServer) seen() (accepted []string, rejected, served int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.accepted...), a.rejected, a.served
}

// kubeconfig writes a kubeconfig for api whose user runs `idplug --config
// <config> exec-credential` with the given ExecCredential apiVersion and
// interactiveMode, in the environment e.command gives the binary, and
// returns its path.
func (e *env) kubeconfig(api *apiServer, apiVersion, interactiveMode string) string {
	e.t.Helper()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw})
	text := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: loopback
  cluster:
    server: %s
    certificate-authority-data: %s
contexts:
- name: loopback
  context:
    cluster: loopback
    user: demo
current-context: loopback
users:
- name: demo
  user:
    exec:
      apiVersion: %s
      command: %q
      args: ["--config", %q, "exec-credential"]
      env:
      - name: HOME
        value: %q
      - name: XDG_CACHE_HOME
        value: %q
      - name: XDG_STATE_HOME
        value: %q
      interactiveMode: %s
      provideClusterInfo: false
`, api.URL, base64.StdEncoding.EncodeToString(ca), apiVersion, binary, e.config,
		e.dir, cacheDir, filepath.Join(e.dir, "state"), interactiveMode)
	path := filepath.Join(e.t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// kubectl runs `kubectl --kubeconfig kubeconfig get --raw /api` with a
// home and cache of its own, and fails the test if it takes 30 s.
func kubectl(t *testing.T, path, kubeconfig string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, path, "--kubeconfig", kubeconfig, "get", "--raw", "/api")
	cmd.Env = []string{"HOME=" + home, "KUBECACHEDIR=" + filepath.Join(home, "cache"), "PATH=" + os.Getenv("PATH")}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("kubectl did not finish within 30 s:\n%s", errOut.String())
	}
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("kubectl: %v", err)
	}
	return r
}

// TestKubectlExecCredential: before login, kubectl with interactiveMode
// Never fails at once with exec-credential's hint to log in, and sends the
// API server nothing; after login, kubectl authenticates with the profile's
// ID token through both ExecCredential versions.
func TestKubectlExecCredential(t *testing.T) {
	path, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed: install kubectl (1.32, as on the machine image) to run this test")
	}
	e := newEnv(t, demoidp.Options{})
	api := newAPIServer(t, e.idp.URL())
	versions := []string{"client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"}

	for _, v := range versions {
		r := kubectl(t, path, e.kubeconfig(api, v, "Never"))
		if r.code == 0 || !strings.Contains(r.stderr, "login --profile demo") || r.stdout != "" {
			t.Errorf("kubectl (%s) before login: exit %d, stdout %q, stderr %q; want a failure with the hint to log in", v, r.code, r.stdout, r.stderr)
		}
	}
	if accepted, rejected, _ := api.seen(); len(accepted)+rejected != 0 {
		t.Errorf("before login the API server got %d requests; want none", len(accepted)+rejected)
	}

	if r, _ := e.login(e.approve); r.code != 0 {
		t.Fatalf("login: exit %d: %s", r.code, r.stderr)
	}
	idToken := strings.TrimSpace(e.run("token", "--id-token").stdout)
	for i, v := range versions {
		kubeconfig := e.kubeconfig(api, v, "IfAvailable")
		if i == 0 {
			text, _ := os.ReadFile(kubeconfig)
			t.Logf("kubeconfig:\n%s", text)
		}
		r := kubectl(t, path, kubeconfig)
		var body struct{ Kind string }
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &body) != nil || body.Kind != "APIVersions" {
			t.Errorf("kubectl (%s) after login: exit %d, stdout %q, stderr %q; want the APIVersions", v, r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stderr, idToken) {
			t.Errorf("kubectl (%s) showed the ID token on stderr", v)
		}
	}
	// Google Cloud SDK's kubectl is a dispatcher that asks the server for
	// /version first, with the same credential: count what it accepted.
	accepted, rejected, served := api.seen()
	if served != len(versions) || rejected != 0 || slices.ContainsFunc(accepted, func(tok string) bool { return tok != idToken }) {
		t.Errorf("the API server answered /api %d times, refused %d requests, and accepted the tokens %q; want one answer per kubectl run and only the profile's ID token %q",
			served, rejected, accepted, idToken)
	}
	if e.idp.Refreshes() != 0 {
		t.Errorf("exec-credential refreshed %d times; want the cached ID token", e.idp.Refreshes())
	}
}

// TestKubectlInteractiveLogin: kubectl on a terminal, with interactiveMode
// IfAvailable, lets exec-credential sign in: the code is shown on the
// terminal, and once it is approved kubectl goes on with the ID token. The
// terminal is the pseudo-terminal of script(1).
func TestKubectlInteractiveLogin(t *testing.T) {
	path, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed: install kubectl (1.32, as on the machine image) to run this test")
	}
	script, err := exec.LookPath("script")
	if err != nil || runtime.GOOS != "linux" {
		t.Skip("needs script(1) of util-linux: install util-linux to run this test")
	}
	e := newEnv(t, demoidp.Options{})
	api := newAPIServer(t, e.idp.URL())
	kubeconfig := e.kubeconfig(api, "client.authentication.k8s.io/v1", "IfAvailable")

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	approved := make(chan struct{})
	go func() { // the user, approving the code shown on the terminal
		defer close(approved)
		for ctx.Err() == nil {
			if codes := e.idp.PendingUserCodes(); len(codes) > 0 {
				e.approve(codes[0])
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	home := t.TempDir()
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	cmd := exec.CommandContext(ctx, script, "--quiet", "--return", "--command",
		quote(path)+" --kubeconfig "+quote(kubeconfig)+" get --raw /api", os.DevNull)
	cmd.Env = []string{"HOME=" + home, "KUBECACHEDIR=" + filepath.Join(home, "cache"), "PATH=" + os.Getenv("PATH"), "TERM=dumb"}
	out, err := cmd.CombinedOutput()
	timedOut := ctx.Err() != nil
	cancel()
	<-approved
	if timedOut {
		t.Fatalf("kubectl did not finish within 30 s:\n%s", out)
	}
	terminal := string(out)
	if err != nil || strings.Count(terminal, "enter the code") != 1 || !strings.Contains(terminal, e.idp.VerificationURI()) ||
		!strings.Contains(terminal, `Logged in to profile "demo" as alice`) || !strings.Contains(terminal, `{"kind":"APIVersions"`) {
		t.Errorf("kubectl on a terminal: %v; want one login, then the APIVersions:\n%s", err, terminal)
	}
	idToken := strings.TrimSpace(e.run("token", "--id-token").stdout)
	accepted, rejected, served := api.seen()
	if served != 1 || rejected != 0 || len(accepted) == 0 || slices.ContainsFunc(accepted, func(tok string) bool { return tok != idToken }) {
		t.Errorf("the API server answered /api %d times, refused %d requests, and accepted %d tokens; want one answer, with the ID token of the login",
			served, rejected, len(accepted))
	}
}
