package main_test

// End-to-end tests of the token store: the keyring backend against a real
// Secret Service (gnome-keyring under dbus-run-session in CI), the fallback
// to plain files, and 16 processes asking for a token at expiry.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/idplug/idplug/internal/demoidp"
	"github.com/idplug/idplug/internal/store"
)

// requireSecretService skips t when no Secret Service is reachable, unless
// $IDPLUG_REQUIRE_KEYRING is set (as .ci/run does), which makes it fail.
func requireSecretService(t *testing.T) {
	t.Helper()
	_, err := store.Open(t.Context(), store.Options{Backend: "keyring", Dir: t.TempDir()})
	if err == nil {
		return
	}
	if os.Getenv("IDPLUG_REQUIRE_KEYRING") != "" {
		t.Fatalf("IDPLUG_REQUIRE_KEYRING is set, but %v", err)
	}
	t.Skipf("skipping: %v (run under dbus-run-session with gnome-keyring unlocked, as .ci/run does, to test the OS keyring)", err)
}

// storeEnv is an env whose [store] uses backend ("" leaves it out), with
// the test's D-Bus session bus, if any, passed on to the binary.
func storeEnv(t *testing.T, opts demoidp.Options, backend string) *env {
	t.Helper()
	e := newEnv(t, opts)
	line := ""
	if backend != "" {
		line = fmt.Sprintf("backend = %q", backend)
	}
	e.writeConfig(fmt.Sprintf(`
[store]
%s
dir = %q

[profiles.demo]
provider  = "oidc"
client_id = %q
[profiles.demo.settings]
issuer = %q
`, line, e.tokens(), demoidp.ClientID, e.idp.URL()))
	if addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); addr != "" {
		e.extra = append(e.extra, "DBUS_SESSION_BUS_ADDRESS="+addr)
	}
	return e
}

func (e *env) tokens() string { return filepath.Join(e.dir, "tokens") }

// stored returns the key and path of the one bundle file in the token
// directory. Plain and encrypted files both name their profile and
// fingerprint in the clear.
func (e *env) stored() (store.Key, string) {
	e.t.Helper()
	files, _ := filepath.Glob(filepath.Join(e.tokens(), "demo-*"))
	if len(files) != 1 {
		e.t.Fatalf("want one bundle file in %s, found %v", e.tokens(), files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		e.t.Fatal(err)
	}
	var k struct{ Profile, Fingerprint string }
	if err := json.Unmarshal(data, &k); err != nil {
		e.t.Fatalf("%s: %v", files[0], err)
	}
	return store.Key{Profile: k.Profile, Fingerprint: k.Fingerprint}, files[0]
}

// expire makes the stored access token expired, as time would, and returns
// it.
func (e *env) expire(backend string) string {
	e.t.Helper()
	ctx := e.t.Context()
	st, err := store.Open(ctx, store.Options{Backend: backend, Dir: e.tokens()})
	if err != nil {
		e.t.Fatal(err)
	}
	k, _ := e.stored()
	b, err := st.Load(ctx, k)
	if err != nil {
		e.t.Fatal(err)
	}
	b.Expiry = time.Now().Add(-time.Minute)
	if err := st.Save(ctx, k, b); err != nil {
		e.t.Fatal(err)
	}
	return b.AccessToken
}

// userinfo reports whether the IdP accepts token.
func (e *env) userinfo(token string) error {
	resp, err := http.Get(e.idp.URL() + "/.well-known/openid-configuration")
	if err != nil {
		return err
	}
	var doc struct {
		Userinfo string `json:"userinfo_endpoint"`
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil {
		return err
	}
	req, _ := http.NewRequest(http.MethodGet, doc.Userinfo, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("userinfo: %s", resp.Status)
	}
	return nil
}

// TestConcurrentTokenAtExpiry starts 16 `idplug token` processes together
// once the access token expired: exactly one refresh reaches the IdP, which
// rotates refresh tokens and would reject a spent one, and every process
// prints the new, valid token.
func TestConcurrentTokenAtExpiry(t *testing.T) {
	for _, backend := range []string{"file", "keyring"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "keyring" {
				requireSecretService(t)
			}
			e := storeEnv(t, demoidp.Options{}, backend)
			if r, _ := e.login(e.approve); r.code != 0 {
				t.Fatalf("login: exit %d: %s", r.code, r.stderr)
			}
			for round := range 3 {
				old := e.expire(backend)
				requests, refreshes := e.idp.TokenRequests(demoidp.GrantTypeRefreshToken), e.idp.Refreshes()

				ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
				defer cancel()
				cmds := make([]*exec.Cmd, 16)
				outs := make([]*bytes.Buffer, 16)
				for i := range cmds {
					cmds[i] = e.command(ctx, "token")
					outs[i] = &bytes.Buffer{}
					cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
				}
				for _, cmd := range cmds {
					if err := cmd.Start(); err != nil {
						t.Fatal(err)
					}
				}
				tokens := map[string]int{}
				for i, cmd := range cmds {
					if err := cmd.Wait(); err != nil {
						t.Errorf("round %d, process %d: %v: %s", round, i, err, outs[i])
						continue
					}
					tokens[strings.TrimSpace(outs[i].String())]++
				}
				if n := e.idp.TokenRequests(demoidp.GrantTypeRefreshToken) - requests; n != 1 {
					t.Errorf("round %d: %d refresh requests reached the IdP, want exactly 1", round, n)
				}
				if n := e.idp.Refreshes() - refreshes; n != 1 {
					t.Errorf("round %d: %d refreshes succeeded, want 1 (a spent refresh token was presented)", round, n)
				}
				if len(tokens) != 1 {
					t.Fatalf("round %d: the processes printed %d different outputs, want 1 token", round, len(tokens))
				}
				for tok := range tokens {
					if tok == old {
						t.Errorf("round %d: the expired token was printed", round)
					}
					if err := e.userinfo(tok); err != nil {
						t.Errorf("round %d: the printed token is not valid at the IdP: %v", round, err)
					}
				}
			}
		})
	}
}

// TestKeyringBackend logs in with the keyring backend against the real
// Secret Service: only a key goes to the keyring, the tokens to an encrypted
// file; tampering is reported; logout removes both.
func TestKeyringBackend(t *testing.T) {
	requireSecretService(t)
	e := storeEnv(t, demoidp.Options{}, "keyring")
	r, _ := e.login(e.approve)
	if r.code != 0 {
		t.Fatalf("login: exit %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "warning") {
		t.Errorf("login with a keyring warned: %s", r.stderr)
	}
	k, path := e.stored()
	if !strings.HasSuffix(path, ".enc") {
		t.Fatalf("the keyring backend wrote %s", path)
	}
	tok := e.run("token")
	if tok.code != 0 {
		t.Fatalf("token: exit %d: %s", tok.code, tok.stderr)
	}
	sealed, _ := os.ReadFile(path)
	if bytes.Contains(sealed, []byte(strings.TrimSpace(tok.stdout))) {
		t.Error("the access token is in the clear in the encrypted file")
	}
	account := k.Profile + ":" + k.Fingerprint
	secret, err := keyring.Get("idplug", account)
	if err != nil {
		t.Fatalf("no keyring item for service idplug, account %s: %v", account, err)
	}
	if len(secret) != 44 {
		t.Errorf("the keyring item holds %d characters, want a base64 256-bit key (44)", len(secret))
	}
	var rows []map[string]any
	if st := e.run("status", "--json"); json.Unmarshal([]byte(st.stdout), &rows) != nil || len(rows) != 1 || rows[0]["backend"] != "keyring" || rows[0]["logged_in"] != true {
		t.Errorf("status: %s", st.stdout)
	}

	// Tampering: a clear error suggesting login, the file kept.
	tampered := bytes.Replace(sealed, []byte(`"ciphertext":"`), []byte(`"ciphertext":"AAAA`), 1)
	if err := os.WriteFile(path, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := e.run("token"); r.code == 0 || !strings.Contains(r.stderr, "login") || strings.Contains(r.stderr, "panic") {
		t.Errorf("token with a tampered file: exit %d: %s", r.code, r.stderr)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, tampered) {
		t.Error("the tampered file was changed or removed")
	}
	if st := e.run("status"); !strings.Contains(st.stdout, "unreadable") {
		t.Errorf("status with a tampered file: %s", st.stdout)
	}
	if r, _ := e.login(e.approve); r.code != 0 {
		t.Fatalf("login again: exit %d: %s", r.code, r.stderr)
	}
	if r := e.run("token"); r.code != 0 {
		t.Fatalf("token after logging in again: exit %d: %s", r.code, r.stderr)
	}

	if r := e.run("logout"); r.code != 0 {
		t.Fatalf("logout: exit %d: %s", r.code, r.stderr)
	}
	if files, _ := filepath.Glob(filepath.Join(e.tokens(), "demo-*")); len(files) != 0 {
		t.Errorf("logout left %v", files)
	}
	if _, err := keyring.Get("idplug", account); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("logout left the keyring item (%v)", err)
	}
}

// TestNoKeyring runs the binary where no D-Bus session bus can be reached.
func TestNoKeyring(t *testing.T) {
	noBus := "DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(t.TempDir(), "no-bus")

	t.Run("auto warns once and stores plain files", func(t *testing.T) {
		e := storeEnv(t, demoidp.Options{}, "")
		e.extra = []string{noBus}
		r, _ := e.login(e.approve)
		if r.code != 0 {
			t.Fatalf("login: exit %d: %s", r.code, r.stderr)
		}
		for _, want := range []string{"warning", "unencrypted", `backend = "file"`, "[store]"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("login stderr lacks %q: %s", want, r.stderr)
			}
		}
		_, path := e.stored()
		if fi, err := os.Stat(path); err != nil || !strings.HasSuffix(path, ".json") || fi.Mode().Perm() != 0o600 {
			t.Errorf("fallback bundle %s: %v %v; want a 0600 .json file", path, fi.Mode(), err)
		}
		if r, _ := e.login(e.approve); r.code != 0 || strings.Contains(r.stderr, "warning") {
			t.Errorf("second login: exit %d, warned again: %s", r.code, r.stderr)
		}
		e.expire("file")
		if r := e.run("token"); r.code != 0 || strings.Contains(r.stderr, "warning") {
			t.Errorf("refresh: exit %d, warned again: %s", r.code, r.stderr)
		}
		if st := e.run("status", "--json"); !strings.Contains(st.stdout, `"backend":"file"`) {
			t.Errorf("status: %s", st.stdout)
		}
	})

	t.Run("file never warns", func(t *testing.T) {
		e := storeEnv(t, demoidp.Options{}, "file")
		e.extra = []string{noBus}
		if r, _ := e.login(e.approve); r.code != 0 || r.stderr != "" {
			t.Errorf("login: exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("keyring fails fast and says what to do", func(t *testing.T) {
		envs := [][]string{{noBus}}
		if _, err := os.Stat(fmt.Sprintf("/run/user/%d/bus", os.Getuid())); err != nil {
			envs = append(envs, nil) // no session bus at all
		}
		for _, extra := range envs {
			e := storeEnv(t, demoidp.Options{}, "keyring")
			e.extra = extra
			start := time.Now()
			r := e.run("token")
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %s to find no keyring", took)
			}
			if r.code != 2 || !strings.Contains(r.stderr, `backend = "file"`) || !strings.Contains(r.stderr, "Secret Service") {
				t.Errorf("token with backend keyring and %v: exit %d: %s", extra, r.code, r.stderr)
			}
		}
	})
}
