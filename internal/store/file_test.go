package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

const fp = "0123456789abcdef0123456789abcdef"

func newFile(t *testing.T) *File {
	t.Helper()
	f, err := NewFile(filepath.Join(t.TempDir(), "state", "idplug"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func sample() *Bundle {
	return &Bundle{
		Provider:      "keycloak",
		Issuer:        "https://idp.example.com",
		AccessToken:   "access-SECRET",
		TokenType:     "Bearer",
		RefreshToken:  "refresh-SECRET",
		Expiry:        time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		IDToken:       "id-SECRET",
		IDTokenClaims: json.RawMessage(`{"sub":"u1"}`),
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestSaveLoadDelete(t *testing.T) {
	ctx := context.Background()
	f := newFile(t)
	k := Key{Profile: "work", Fingerprint: fp}

	if _, err := f.Load(ctx, k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load before Save = %v, want ErrNotFound", err)
	}
	b := sample()
	if err := f.Save(ctx, k, b); err != nil {
		t.Fatal(err)
	}
	if b.Version != 1 || b.Profile != "work" || b.Fingerprint != fp || b.CreatedAt.IsZero() || !b.UpdatedAt.Equal(b.CreatedAt) {
		t.Errorf("Save did not stamp the bundle: %+v", b)
	}
	got, err := f.Load(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b, got); diff != "" {
		t.Errorf("Load after Save (-saved +loaded):\n%s", diff)
	}
	path := filepath.Join(f.dir, "work-0123456789ab.json")
	if m := mode(t, path); m != 0o600 {
		t.Errorf("bundle file mode = %04o, want 0600", m)
	}

	created := b.CreatedAt
	b.AccessToken = "access-2"
	if err := f.Save(ctx, k, b); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Load(ctx, k); got.AccessToken != "access-2" || !got.CreatedAt.Equal(created) {
		t.Errorf("after a second Save: access token %q, CreatedAt %v; want access-2, %v", got.AccessToken, got.CreatedAt, created)
	}

	other := Key{Profile: "work", Fingerprint: "fedcba9876543210"}
	if _, err := f.Load(ctx, other); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load with another fingerprint = %v, want ErrNotFound", err)
	}
	if err := f.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Load(ctx, k); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load after Delete = %v, want ErrNotFound", err)
	}
	if err := f.Delete(ctx, k); err != nil {
		t.Errorf("deleting an absent bundle: %v", err)
	}
}

func TestDeleteProfile(t *testing.T) {
	ctx := context.Background()
	f := newFile(t)
	keys := []Key{
		{"work", fp}, {"work", "fedcba9876543210"}, // two generations of one profile
		{"work-x", fp}, {"Work", fp}, {"work-0123456789ab", fp}, // others
	}
	for _, k := range keys {
		if err := f.Save(ctx, k, sample()); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Delete(ctx, Key{Profile: "work"}); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		_, err := f.Load(ctx, k)
		if gone := errors.Is(err, ErrNotFound); gone != (i < 2) {
			t.Errorf("after deleting profile work, Load(%v) = %v", k, err)
		}
	}
}

func TestFileNames(t *testing.T) {
	ctx := context.Background()
	f := newFile(t)
	names := []string{"a/b", "a_b", "A_b", "../x", ".hidden", "é", strings.Repeat("p", 100), strings.Repeat("p", 101)}
	for _, name := range names {
		b := sample()
		b.Provider = name
		if err := f.Save(ctx, Key{name, fp}, b); err != nil {
			t.Fatalf("Save(%q): %v", name, err)
		}
	}
	for _, name := range names {
		b, err := f.Load(ctx, Key{name, fp})
		if err != nil || b.Provider != name {
			t.Errorf("Load(%q) = %v, %v", name, b, err)
		}
	}
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(names) {
		t.Errorf("%d files for %d profiles", len(entries), len(names))
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || len(e.Name()) > 100 {
			t.Errorf("file name %q", e.Name())
		}
	}
}

func TestInvalidKeys(t *testing.T) {
	ctx := context.Background()
	f := newFile(t)
	for _, k := range []Key{{"", fp}, {"work", ""}, {"work", "0123"}, {"work", "0123456789AB"}, {"work", "../../etc/passwd"}} {
		if _, err := f.Load(ctx, k); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Load(%+v) = %v, want an invalid key error", k, err)
		}
		if err := f.Save(ctx, k, sample()); err == nil {
			t.Errorf("Save(%+v) succeeded", k)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.Load(cancelled, Key{"work", fp}); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with a cancelled context = %v", err)
	}
}

func TestDirectoryPermissions(t *testing.T) {
	f := newFile(t)
	if m := mode(t, f.dir); m != 0o700 {
		t.Errorf("new directory mode = %04o, want 0700", m)
	}
	loose := t.TempDir()
	if err := os.Chmod(loose, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFile(loose); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, loose); m != 0o700 {
		t.Errorf("existing 0755 directory is now %04o, want 0700", m)
	}
	file := filepath.Join(loose, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFile(file); err == nil {
		t.Errorf("NewFile on a regular file succeeded")
	}
}

func TestFailedWriteKeepsOldContent(t *testing.T) {
	ctx := context.Background()
	f := newFile(t)
	k := Key{"work", fp}
	if err := f.Save(ctx, k, sample()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.dir, "work-0123456789ab.json")
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	errDisk := errors.New("disk full")
	err = writeAtomic(path, func(w io.Writer) error {
		w.Write([]byte(`{"version": 1, "access_token": "half`))
		return errDisk
	})
	if !errors.Is(err, errDisk) {
		t.Errorf("writeAtomic = %v, want the write error", err)
	}
	bad := sample()
	bad.IDTokenClaims = json.RawMessage(`{not json`)
	if err := f.Save(ctx, k, bad); err == nil {
		t.Errorf("Save with invalid claims succeeded")
	}

	if now, _ := os.ReadFile(path); !bytes.Equal(now, old) {
		t.Errorf("file changed by failed writes:\n%s", now)
	}
	if entries, _ := os.ReadDir(f.dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestCorruptFile(t *testing.T) {
	ctx := context.Background()
	f := newFile(t)
	k := Key{"work", fp}
	path := filepath.Join(f.dir, "work-0123456789ab.json")
	for name, content := range map[string]string{
		"truncated":   `{"version":1,"access_token":"SECRET-TOKEN`,
		"wrong type":  `{"version":1,"access_token":42}`,
		"new version": `{"version":2,"access_token":"SECRET-TOKEN"}`,
		"empty":       ``,
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := f.Load(ctx, k)
			var corrupt *CorruptError
			if !errors.As(err, &corrupt) || corrupt.Path != path {
				t.Fatalf("Load = %v, want a CorruptError for %s", err, path)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, "logging in again replaces them") || strings.Contains(msg, "SECRET") {
				t.Errorf("error message %q should name the file, say to log in, and hide tokens", msg)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("corrupt file was removed: %v", err)
			}
		})
	}
}

func TestLockExcludes(t *testing.T) {
	ctx := context.Background()
	f := newFile(t)
	unlock, err := f.Lock(ctx, "work")
	if err != nil {
		t.Fatal(err)
	}

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := f.Lock(short, "work"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Lock while held = %v, want DeadlineExceeded", err)
	}
	other, err := f.Lock(ctx, "personal")
	if err != nil {
		t.Fatalf("locking another profile: %v", err)
	}
	other()

	acquired := make(chan func())
	go func() {
		u, err := f.Lock(ctx, "work")
		if err != nil {
			t.Error(err)
		}
		acquired <- u
	}()
	select {
	case <-acquired:
		t.Fatal("second locker got the lock while it was held")
	case <-time.After(50 * time.Millisecond):
	}
	unlock()
	unlock() // idempotent
	select {
	case u := <-acquired:
		u()
	case <-time.After(5 * time.Second):
		t.Fatal("second locker did not get the lock after unlock")
	}
}

func TestLockMutualExclusion(t *testing.T) {
	ctx := context.Background()
	f := newFile(t)
	var (
		wg             sync.WaitGroup
		mu             sync.Mutex
		inside, maxIns int
	)
	for range 8 {
		wg.Go(func() {
			for range 5 {
				unlock, err := f.Lock(ctx, "work")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				inside++
				maxIns = max(maxIns, inside)
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				inside--
				mu.Unlock()
				unlock()
			}
		})
	}
	wg.Wait()
	if maxIns != 1 {
		t.Errorf("%d lockers held the lock at once", maxIns)
	}
}

func TestBundleRedaction(t *testing.T) {
	b := sample()
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("saved", "bundle", b)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("saved", "bundle", b)
	for _, s := range []string{fmt.Sprint(b), fmt.Sprintf("%+v %#v %s", b, b, b), logged.String()} {
		if strings.Contains(s, "SECRET") {
			t.Errorf("tokens visible: %s", s)
		}
		if !strings.Contains(s, "keycloak") || !strings.Contains(s, "redacted") {
			t.Errorf("description lacks the provider or redaction marks: %s", s)
		}
	}
}

func TestToken(t *testing.T) {
	b := sample()
	tok := b.Token()
	if tok.AccessToken != b.AccessToken || tok.RefreshToken != b.RefreshToken || !tok.Expiry.Equal(b.Expiry) || tok.Extra("id_token") != b.IDToken {
		t.Errorf("Token() = %+v", tok)
	}
	b.SetToken(&oauth2.Token{AccessToken: "new", TokenType: "Bearer", Expiry: b.Expiry.Add(time.Hour)})
	if b.AccessToken != "new" || b.RefreshToken != "refresh-SECRET" || b.IDToken != "id-SECRET" {
		t.Errorf("SetToken without refresh or ID token: %+v", *b)
	}
	b.SetToken((&oauth2.Token{AccessToken: "a", RefreshToken: "r"}).WithExtra(map[string]any{"id_token": "i"}))
	if b.RefreshToken != "r" || b.IDToken != "i" || !b.Expiry.IsZero() {
		t.Errorf("SetToken with all tokens: %+v", *b)
	}
}

func FuzzDecode(f *testing.F) {
	good, err := json.Marshal(sample())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1,"expiry":"2030-01-02T03:04:05Z","id_token_claims":{"a":[1]}}`))
	f.Add([]byte(`{"version":1,"expiry":"not a time"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decode(data)
		if err != nil {
			return
		}
		var again bytes.Buffer
		if err := encode(&again, b); err != nil {
			t.Fatalf("re-encoding a decoded bundle: %v", err)
		}
		b2, err := decode(again.Bytes())
		if err != nil {
			t.Fatalf("decoding a re-encoded bundle: %v", err)
		}
		if diff := cmp.Diff(b, b2); diff != "" {
			t.Errorf("round trip (-first +second):\n%s", diff)
		}
	})
}
