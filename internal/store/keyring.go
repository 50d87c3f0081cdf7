package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Keyring stores each bundle in the state directory as a 0600 file,
// <profile>-<fingerprint[:12]>.enc, encrypted with AES-256-GCM under a random
// 256-bit key that the OS keyring keeps (service: the application's name,
// account: profile and fingerprint). Keyring items stay small whatever the
// size of the tokens, and a copied state directory is useless without the
// keyring. Files are replaced atomically and locked like [File]'s, with
// which Keyring shares its directory: a plain bundle newer than the
// encrypted one (written while the keyring was unreachable) is read, and
// replaced by an encrypted one at the next Save.
//
// A file that was altered or whose key is gone is reported as a
// [CorruptError]; nothing is deleted except by Delete.
type Keyring struct {
	files   *File // the directory, its locks and its plain bundles
	service string
	kr      secrets

	// auto makes Save write plain files (warning once through warn) while
	// no keyring is reachable.
	auto  bool
	warn  func(msg string)
	probe func(ctx context.Context) error // kr.probe, run once; for auto
}

var _ Store = (*Keyring)(nil)

// NewKeyring returns a keyring store with its files in dir and its keys in
// the OS keyring under service, the application's name. It fails with an
// error wrapping ErrNoKeyring, within a few seconds, when no keyring is
// reachable.
func NewKeyring(ctx context.Context, dir, service string) (*Keyring, error) {
	return newKeyring(ctx, dir, service, osKeyring{})
}

func newKeyring(ctx context.Context, dir, service string, kr secrets) (*Keyring, error) {
	files, err := NewFile(dir)
	if err != nil {
		return nil, err
	}
	if err := kr.probe(ctx); err != nil {
		return nil, err
	}
	return &Keyring{files: files, service: service, kr: kr}, nil
}

// newAuto returns a keyring store that falls back to plain files, with a
// warning once per directory, while no keyring is reachable. It probes the
// keyring only when it has to.
func newAuto(dir, service string, kr secrets, warn func(string)) (*Keyring, error) {
	files, err := NewFile(dir)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	var probeErr error
	probe := func(ctx context.Context) error {
		once.Do(func() { probeErr = kr.probe(ctx) })
		return probeErr
	}
	return &Keyring{files: files, service: service, kr: kr, auto: true, warn: warn, probe: probe}, nil
}

// Backend returns "keyring", or "file" when the store falls back to plain
// files because no keyring is reachable.
func (k *Keyring) Backend() string {
	if k.plain(context.Background()) != nil {
		return "file"
	}
	return "keyring"
}

// plain returns why Save writes plain files: nil unless the store falls
// back and no keyring is reachable.
func (k *Keyring) plain(ctx context.Context) error {
	if !k.auto {
		return nil
	}
	return k.probe(ctx)
}

// account is the keyring account of key's bundle key.
func account(key Key) string { return key.Profile + ":" + key.Fingerprint }

// Load implements [Store].
func (k *Keyring) Load(ctx context.Context, key Key) (*Bundle, error) {
	path, err := k.files.path(ctx, key, encryptedExt)
	if err != nil {
		return nil, err
	}
	enc, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return k.files.Load(ctx, key)
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if plainPath, _ := k.files.path(ctx, key, plainExt); newer(plainPath, enc) {
		return k.files.Load(ctx, key)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	corrupt := func(err error) error { return &CorruptError{Path: path, Profile: key.Profile, Err: err} }
	s, err := parseSealed(data)
	if err != nil {
		return nil, corrupt(err)
	}
	secret, err := k.kr.get(ctx, k.service, account(key))
	switch {
	case errors.Is(err, errSecretNotFound):
		return nil, corrupt(fmt.Errorf("its key is missing from the OS keyring (service %q, account %q)", k.service, account(key)))
	case errors.Is(err, ErrNoKeyring):
		return nil, fmt.Errorf("store: the tokens of profile %q are encrypted with a key in the OS keyring, but %w; use this profile where the keyring is reachable, or log in again", key.Profile, err)
	case err != nil:
		return nil, fmt.Errorf("store: reading the key of profile %q from the OS keyring: %w", key.Profile, err)
	}
	bkey, err := parseKey(secret)
	if err != nil {
		return nil, corrupt(err)
	}
	plaintext, err := s.open(bkey, key)
	if err != nil {
		return nil, corrupt(err)
	}
	b, err := decode(plaintext)
	if err != nil {
		return nil, corrupt(err)
	}
	b.Backend = "keyring"
	return b, nil
}

// newer reports whether the file at path exists and was modified after fi's.
func newer(path string, fi fs.FileInfo) bool {
	other, err := os.Stat(path)
	return err == nil && other.ModTime().After(fi.ModTime())
}

// Save implements [Store]. The file is replaced atomically: after a crash or
// a failed write it holds either the old bundle or the new one.
func (k *Keyring) Save(ctx context.Context, key Key, b *Bundle) error {
	path, err := k.files.path(ctx, key, encryptedExt)
	if err != nil {
		return err
	}
	if reason := k.plain(ctx); reason != nil {
		k.warnOnce(reason)
		return k.files.Save(ctx, key, b)
	}
	bkey, err := k.key(ctx, key)
	if err != nil {
		return fmt.Errorf("store: saving tokens for profile %q: %w", key.Profile, err)
	}
	stamp(b, key, "keyring")
	err = writeAtomic(path, func(w io.Writer) error {
		var plain bytes.Buffer
		if err := encode(&plain, b); err != nil {
			return err
		}
		out, err := seal(bkey, key, plain.Bytes())
		clear(plain.Bytes())
		if err != nil {
			return err
		}
		_, err = w.Write(out)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: saving tokens for profile %q: %w", key.Profile, err)
	}
	// A plain bundle left from a fallback is older now; remove it.
	plainPath, _ := k.files.path(ctx, key, plainExt)
	return remove(plainPath)
}

// key returns the bundle key of key from the keyring, creating it if there
// is none (or the item holds no key). Creation happens under a lock, so that
// two processes saving the same new profile agree on its key.
func (k *Keyring) key(ctx context.Context, key Key) ([]byte, error) {
	lookup := func() ([]byte, error) {
		secret, err := k.kr.get(ctx, k.service, account(key))
		if err != nil {
			return nil, err
		}
		if bkey, err := parseKey(secret); err == nil {
			return bkey, nil
		}
		return nil, errSecretNotFound // replace it
	}
	if bkey, err := lookup(); !errors.Is(err, errSecretNotFound) {
		return bkey, err
	}
	unlock, err := lockFile(ctx, filepath.Join(k.files.dir, "keyring.lock"), "the keyring")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if bkey, err := lookup(); !errors.Is(err, errSecretNotFound) {
		return bkey, err
	}
	secret := newKey()
	if err := k.kr.set(ctx, k.service, account(key), secret); err != nil {
		return nil, err
	}
	return parseKey(secret)
}

// warnOnce calls warn the first time the directory falls back to plain
// files, remembering that it did in a marker file.
func (k *Keyring) warnOnce(reason error) {
	if k.warn == nil {
		return
	}
	marker, err := os.OpenFile(filepath.Join(k.files.dir, "plaintext-warning-shown"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return
	}
	if err == nil {
		marker.Close()
	}
	k.warn(fmt.Sprintf("%v, so tokens are stored unencrypted in files only you can read, in %s. "+
		"To keep them in the keyring, run a Secret Service such as gnome-keyring in your D-Bus session; "+
		"to store them in files without this warning, set backend = \"file\" under [store] in the configuration file. "+
		"This warning is shown once.", reason, k.files.dir))
}

// Delete implements [Store]: it removes the bundle files and their keys.
func (k *Keyring) Delete(ctx context.Context, key Key) error {
	paths, err := k.files.files(ctx, key, encryptedExt)
	if err != nil {
		return err
	}
	accounts := map[string]bool{}
	if key.Fingerprint != "" {
		accounts[account(key)] = true
	}
	for _, path := range paths {
		if data, err := os.ReadFile(path); err == nil {
			if s, err := parseSealed(data); err == nil && s.Profile == key.Profile && fingerprintRE.MatchString(s.Fingerprint) {
				accounts[account(Key{s.Profile, s.Fingerprint})] = true
			}
		}
		if err := remove(path); err != nil {
			return err
		}
		sweepTemps(path, 0)
	}
	if err := k.files.Delete(ctx, key); err != nil {
		return err
	}
	if len(accounts) == 0 || k.plain(ctx) != nil {
		return nil // keys in an unreachable keyring stay; without their files they unlock nothing
	}
	var errs []error
	for acc := range accounts {
		if err := k.kr.delete(ctx, k.service, acc); err != nil {
			errs = append(errs, fmt.Errorf("store: deleting the key of profile %q from the OS keyring: %w", key.Profile, err))
		}
	}
	return errors.Join(errs...)
}

// Lock implements [Store]; it is [File.Lock].
func (k *Keyring) Lock(ctx context.Context, profile string) (unlock func(), err error) {
	return k.files.Lock(ctx, profile)
}
