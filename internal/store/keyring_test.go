package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zalando/go-keyring"
)

const service = "idplug-test"

func newMemKeyring(t *testing.T) (*Keyring, *memSecrets) {
	t.Helper()
	m := newMem()
	k, err := newKeyring(t.Context(), filepath.Join(t.TempDir(), "state"), service, m)
	if err != nil {
		t.Fatal(err)
	}
	return k, m
}

// TestBackends runs every backend through the Store contract.
func TestBackends(t *testing.T) {
	for _, tc := range []struct {
		name, backend, ext string
		open               func(t *testing.T, dir string) (Store, error)
	}{
		{"file", "file", ".json", func(t *testing.T, dir string) (Store, error) { return NewFile(dir) }},
		{"keyring", "keyring", ".enc", func(t *testing.T, dir string) (Store, error) {
			return newKeyring(t.Context(), dir, service, newMem())
		}},
		{"auto with a keyring", "keyring", ".enc", func(t *testing.T, dir string) (Store, error) {
			return newAuto(dir, service, newMem(), func(string) { t.Error("warned although a keyring is reachable") })
		}},
		{"auto without a keyring", "file", ".json", func(t *testing.T, dir string) (Store, error) {
			m := newMem()
			m.down = ErrNoKeyring
			return newAuto(dir, service, m, nil)
		}},
		{"Secret Service", "keyring", ".enc", func(t *testing.T, dir string) (Store, error) {
			requireSecretService(t)
			return NewKeyring(t.Context(), dir, testService(t))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			dir := filepath.Join(t.TempDir(), "state")
			st, err := tc.open(t, dir)
			if err != nil {
				t.Fatal(err)
			}
			if st.Backend() != tc.backend {
				t.Errorf("Backend() = %q, want %q", st.Backend(), tc.backend)
			}
			k := Key{"work", fp}
			if _, err := st.Load(ctx, k); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Load before Save = %v, want ErrNotFound", err)
			}
			b := sample()
			if err := st.Save(ctx, k, b); err != nil {
				t.Fatal(err)
			}
			if b.Backend != tc.backend {
				t.Errorf("saved bundle's Backend = %q, want %q", b.Backend, tc.backend)
			}
			got, err := st.Load(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(b, got); diff != "" {
				t.Errorf("Load after Save (-saved +loaded):\n%s", diff)
			}
			path := filepath.Join(dir, "work-0123456789ab"+tc.ext)
			if m := mode(t, path); m != 0o600 {
				t.Errorf("%s: mode %04o, want 0600", path, m)
			}
			if m := mode(t, dir); m != 0o700 {
				t.Errorf("%s: mode %04o, want 0700", dir, m)
			}
			data, _ := os.ReadFile(path)
			if encrypted := tc.ext == ".enc"; encrypted == bytes.Contains(data, []byte("SECRET")) {
				t.Errorf("%s holds the tokens in the clear: %v, want %v", path, !encrypted, !encrypted)
			}

			unlock, err := st.Lock(ctx, "work")
			if err != nil {
				t.Fatal(err)
			}
			unlock()

			other := Key{"work", "fedcba9876543210"}
			if err := st.Save(ctx, other, sample()); err != nil {
				t.Fatal(err)
			}
			if err := st.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Load(ctx, k); !errors.Is(err, ErrNotFound) {
				t.Errorf("Load after Delete = %v, want ErrNotFound", err)
			}
			if _, err := st.Load(ctx, other); err != nil {
				t.Errorf("deleting one fingerprint removed another: %v", err)
			}
			if err := st.Delete(ctx, Key{Profile: "work"}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Load(ctx, other); !errors.Is(err, ErrNotFound) {
				t.Errorf("Load after deleting the profile = %v, want ErrNotFound", err)
			}
			if files, _ := filepath.Glob(filepath.Join(dir, "work-*")); len(files) != 0 {
				t.Errorf("files left after deleting the profile: %v", files)
			}
		})
	}
}

func TestKeyringItems(t *testing.T) {
	ctx := t.Context()
	k, m := newMemKeyring(t)
	keys := []Key{{"work", fp}, {"work", "fedcba9876543210"}, {"personal", fp}}
	for _, key := range keys {
		if err := k.Save(ctx, key, sample()); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.items) != 3 {
		t.Fatalf("%d keyring items for 3 bundles: %v", len(m.items), m.items)
	}
	secret := m.items[service+"\x00work:"+fp]
	if key, err := base64.StdEncoding.DecodeString(secret); err != nil || len(key) != 32 {
		t.Errorf("keyring item of work is %d bytes of base64 (%v), want a 256-bit key", len(key), err)
	}
	if secret == m.items[service+"\x00personal:"+fp] {
		t.Error("two profiles share a key")
	}
	// A second Save keeps the key, so that a crash can never leave a file
	// without its key.
	if err := k.Save(ctx, keys[0], sample()); err != nil || m.items[service+"\x00work:"+fp] != secret {
		t.Errorf("the key changed on a second Save (err %v)", err)
	}
	if err := k.Delete(ctx, Key{Profile: "work"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.items[service+"\x00personal:"+fp]; len(m.items) != 1 || !ok {
		t.Errorf("after deleting profile work, the keyring holds %v; want only personal's key", m.items)
	}
}

func TestKeyringTampering(t *testing.T) {
	ctx := t.Context()
	work, personal := Key{"work", fp}, Key{"personal", fp}
	edit := func(f func(s *sealed)) func(t *testing.T, k *Keyring, m *memSecrets, path string) {
		return func(t *testing.T, k *Keyring, m *memSecrets, path string) {
			data, _ := os.ReadFile(path)
			s, err := parseSealed(data)
			if err != nil {
				t.Fatal(err)
			}
			f(s)
			data, _ = json.Marshal(s)
			os.WriteFile(path, data, 0o600)
		}
	}
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, k *Keyring, m *memSecrets, path string)
		want   string
	}{
		{"ciphertext byte flipped", edit(func(s *sealed) { s.Ciphertext[3] ^= 1 }), "altered"},
		{"tag cut off", edit(func(s *sealed) { s.Ciphertext = s.Ciphertext[:len(s.Ciphertext)-16] }), "altered"},
		{"nonce changed", edit(func(s *sealed) { s.Nonce[0] ^= 1 }), "altered"},
		{"short nonce", edit(func(s *sealed) { s.Nonce = s.Nonce[:4] }), "nonce"},
		{"claims another profile", edit(func(s *sealed) { s.Profile = "personal" }), "personal"},
		{"format", edit(func(s *sealed) { s.Format = "rot13" }), "rot13"},
		{"truncated", func(t *testing.T, _ *Keyring, _ *memSecrets, path string) {
			data, _ := os.ReadFile(path)
			os.WriteFile(path, data[:len(data)/2], 0o600)
		}, "invalid JSON"},
		{"not JSON", func(t *testing.T, _ *Keyring, _ *memSecrets, path string) {
			os.WriteFile(path, []byte("\x00\x01SECRET"), 0o600)
		}, "invalid JSON"},
		{"swapped with another profile's file, fields edited", func(t *testing.T, k *Keyring, _ *memSecrets, path string) {
			other, _ := os.ReadFile(filepath.Join(k.files.dir, "personal-0123456789ab.enc"))
			s, _ := parseSealed(other)
			s.Profile = "work"
			data, _ := json.Marshal(s)
			os.WriteFile(path, data, 0o600)
		}, "altered"},
		{"key deleted from the keyring", func(t *testing.T, _ *Keyring, m *memSecrets, _ string) {
			delete(m.items, service+"\x00work:"+fp)
		}, "missing from the OS keyring"},
		{"key replaced", func(t *testing.T, _ *Keyring, m *memSecrets, _ string) {
			m.items[service+"\x00work:"+fp] = newKey()
		}, "altered"},
		{"key not base64", func(t *testing.T, _ *Keyring, m *memSecrets, _ string) {
			m.items[service+"\x00work:"+fp] = "not a key SECRET"
		}, "256-bit key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, m := newMemKeyring(t)
			for _, key := range []Key{work, personal} {
				if err := k.Save(ctx, key, sample()); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(k.files.dir, "work-0123456789ab.enc")
			tc.tamper(t, k, m, path)
			before, _ := os.ReadFile(path)

			_, err := k.Load(ctx, work)
			var corrupt *CorruptError
			if !errors.As(err, &corrupt) || corrupt.Path != path {
				t.Fatalf("Load = %v, want a CorruptError for %s", err, path)
			}
			msg := err.Error()
			for _, want := range []string{tc.want, "logging in again replaces them", path} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, "SECRET") || strings.Contains(msg, m.items[service+"\x00work:"+fp]) && m.items[service+"\x00work:"+fp] != "" {
				t.Errorf("error %q shows a token or key", msg)
			}
			if after, err := os.ReadFile(path); err != nil || !bytes.Equal(before, after) {
				t.Errorf("the unreadable file was changed or removed (%v)", err)
			}
			if _, err := k.Load(ctx, personal); err != nil {
				t.Errorf("another profile became unreadable: %v", err)
			}
			if err := k.Save(ctx, work, sample()); err != nil {
				t.Fatalf("logging in again: %v", err)
			}
			if _, err := k.Load(ctx, work); err != nil {
				t.Errorf("Load after logging in again: %v", err)
			}
		})
	}
}

func TestAutoFallback(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "state")
	m := newMem()
	m.down = errors.New("no OS keyring is reachable: no D-Bus session bus")
	var warnings []string
	warn := func(msg string) { warnings = append(warnings, msg) }
	key := Key{"work", fp}

	// Two processes in turn, both without a keyring: one warning.
	for range 2 {
		st, err := newAuto(dir, service, m, warn)
		if err != nil {
			t.Fatal(err)
		}
		if st.Backend() != "file" {
			t.Errorf("Backend() = %q without a keyring, want file", st.Backend())
		}
		for range 2 {
			if err := st.Save(ctx, key, sample()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(warnings) != 1 {
		t.Fatalf("%d warnings, want 1: %q", len(warnings), warnings)
	}
	for _, want := range []string{"no D-Bus session bus", "unencrypted", dir, `backend = "file"`, "[store]"} {
		if !strings.Contains(warnings[0], want) {
			t.Errorf("warning %q lacks %q", warnings[0], want)
		}
	}
	if m.calls != 0 {
		t.Errorf("%d keyring calls after the probe failed", m.calls)
	}

	// The keyring appears: the plain bundle is read, then replaced.
	m.setDown(nil)
	st, err := newAuto(dir, service, m, warn)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Load(ctx, key)
	if err != nil || b.Backend != "file" {
		t.Fatalf("Load of the plain bundle: %v, %v", b, err)
	}
	b.AccessToken = "access-2"
	if err := st.Save(ctx, key, b); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "work-0123456789ab.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the plain bundle is still there after an encrypted Save (%v)", err)
	}
	if b, err := st.Load(ctx, key); err != nil || b.Backend != "keyring" || b.AccessToken != "access-2" {
		t.Errorf("Load after the encrypted Save: %v, %v", b, err)
	}

	// The keyring goes away again: its bundle is reported, not hidden.
	m.setDown(errors.Join(ErrNoKeyring, errors.New("no D-Bus session bus")))
	st, err = newAuto(dir, service, m, warn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, key); !errors.Is(err, ErrNoKeyring) || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "log in again") {
		t.Errorf("Load of an encrypted bundle without the keyring = %v; want ErrNoKeyring with a hint", err)
	}
	// A login there stores a plain bundle, which is newer and wins.
	b = sample()
	b.AccessToken = "access-3"
	if err := st.Save(ctx, key, b); err != nil {
		t.Fatal(err)
	}
	if b, err := st.Load(ctx, key); err != nil || b.AccessToken != "access-3" {
		t.Errorf("Load after a plain Save: %v, %v", b, err)
	}
	if len(warnings) != 1 {
		t.Errorf("warned again: %q", warnings)
	}
	if err := st.Delete(ctx, Key{Profile: "work"}); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "work-*")); len(files) != 0 {
		t.Errorf("logout without a keyring left %v", files)
	}
}

func TestFileBackendNeverWarns(t *testing.T) {
	st, err := Open(t.Context(), Options{Backend: "file", Dir: t.TempDir(), Warn: func(msg string) { t.Errorf("warned: %s", msg) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(t.Context(), Key{"work", fp}, sample()); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), Options{Backend: "vault", Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), `"file"`) {
		t.Errorf("Open with an unknown backend = %v", err)
	}
}

// TestKeyringFirstSaveRace saves a new profile from many stores at once: the
// one key they agree on must decrypt the file that wins.
func TestKeyringFirstSaveRace(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "state")
	m := newMem()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			k, err := newKeyring(ctx, dir, service, m)
			if err != nil {
				t.Error(err)
				return
			}
			b := sample()
			b.AccessToken = string(rune('a' + i))
			if err := k.Save(ctx, Key{"work", fp}, b); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	k, _ := newKeyring(ctx, dir, service, m)
	if _, err := k.Load(ctx, Key{"work", fp}); err != nil {
		t.Errorf("Load after concurrent first saves: %v", err)
	}
}

func TestSecretServiceItem(t *testing.T) {
	requireSecretService(t)
	ctx := t.Context()
	svc := testService(t)
	dir := filepath.Join(t.TempDir(), "state")
	st, err := Open(ctx, Options{Backend: "auto", Dir: dir, Service: svc, Warn: func(msg string) { t.Errorf("warned: %s", msg) }})
	if err != nil {
		t.Fatal(err)
	}
	key := Key{"work", fp}
	if err := st.Save(ctx, key, sample()); err != nil {
		t.Fatal(err)
	}
	secret, err := keyring.Get(svc, "work:"+fp)
	if err != nil {
		t.Fatalf("the key is not in the Secret Service: %v", err)
	}
	if k, err := base64.StdEncoding.DecodeString(secret); err != nil || len(k) != 32 {
		t.Errorf("keyring item is not a base64 256-bit key")
	}
	if err := st.Delete(ctx, Key{Profile: "work"}); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Get(svc, "work:"+fp); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("the key survived Delete: %v", err)
	}
}

func TestNoSessionBusFailsFast(t *testing.T) {
	if reachable() == nil && os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Skip("skipping: /run/user/<uid>/bus exists, so a session bus is always found")
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	ctx := context.Background()
	_, err := NewKeyring(ctx, t.TempDir(), "idplug-test")
	if !errors.Is(err, ErrNoKeyring) || !strings.Contains(err.Error(), "DBUS_SESSION_BUS_ADDRESS") {
		t.Errorf("NewKeyring without a session bus = %v", err)
	}
	st, err := Open(ctx, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if st.Backend() != "file" {
		t.Errorf("auto without a session bus: Backend() = %q", st.Backend())
	}
}

func FuzzOpenSealed(f *testing.F) {
	key := Key{"work", fp}
	bkey, _ := parseKey(newKey())
	var plain bytes.Buffer
	encode(&plain, sample())
	good, err := seal(bkey, key, plain.Bytes())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":"aes-256-gcm/v1","profile":"work","fingerprint":"` + fp + `","nonce":"AAAA","ciphertext":""}`))
	f.Add([]byte(`{"format":"aes-256-gcm/v1","nonce":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseSealed(data)
		if err != nil {
			return
		}
		plaintext, err := s.open(bkey, key)
		if err != nil {
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error shows plaintext: %v", err)
			}
			return
		}
		// GCM admits no forgery: whatever decrypts is what was sealed.
		if !bytes.Equal(plaintext, plain.Bytes()) {
			t.Errorf("decrypted %d bytes that were never sealed", len(plaintext))
		}
	})
}
