package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// lockPoll is how often Lock retries a lock another process holds.
const lockPoll = 10 * time.Millisecond

var fingerprintRE = regexp.MustCompile(`^[0-9a-f]{12,}$`)

// File stores each bundle as a 0600 JSON file, <profile>-<fingerprint[:12]>.json,
// in a 0700 directory, replacing files atomically.
type File struct {
	dir string
}

var _ Store = (*File)(nil)

// NewFile returns a file store in dir, creating dir with mode 0700 if needed
// and tightening it to 0700 if other users can access it.
func NewFile(dir string) (*File, error) {
	if dir == "" {
		return nil, errors.New("store: no directory for token files")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := tighten(dir); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &File{dir: dir}, nil
}

// Backend returns "file".
func (f *File) Backend() string { return "file" }

// Load implements [Store].
func (f *File) Load(ctx context.Context, k Key) (*Bundle, error) {
	path, err := f.path(ctx, k, plainExt)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no tokens for profile %q", ErrNotFound, k.Profile)
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	b, err := decode(data)
	if err != nil {
		return nil, &CorruptError{Path: path, Profile: k.Profile, Err: err}
	}
	if b.Profile != k.Profile || b.Fingerprint != k.Fingerprint {
		// Another key with the same file name; Save will replace it.
		return nil, fmt.Errorf("%w: no tokens for profile %q", ErrNotFound, k.Profile)
	}
	b.Backend = "file"
	return b, nil
}

// Save implements [Store]. The file is replaced atomically: after a crash or
// a failed write it holds either the old bundle or the new one.
func (f *File) Save(ctx context.Context, k Key, b *Bundle) error {
	path, err := f.path(ctx, k, plainExt)
	if err != nil {
		return err
	}
	stamp(b, k, "file")
	err = writeAtomic(path, func(w io.Writer) error { return encode(w, b) })
	if err != nil {
		return fmt.Errorf("store: saving tokens for profile %q: %w", k.Profile, err)
	}
	return nil
}

// Delete implements [Store].
func (f *File) Delete(ctx context.Context, k Key) error {
	paths, err := f.files(ctx, k, plainExt)
	if err != nil {
		return err
	}
	for _, path := range paths {
		if err := remove(path); err != nil {
			return err
		}
		sweepTemps(path, 0)
	}
	return nil
}

// files returns the paths of k's files with extension ext. A Key with an
// empty Fingerprint stands for every file of the profile that exists.
func (f *File) files(ctx context.Context, k Key, ext string) ([]string, error) {
	if k.Fingerprint != "" {
		path, err := f.path(ctx, k, ext)
		if err != nil {
			return nil, err
		}
		return []string{path}, nil
	}
	if err := validProfile(ctx, k.Profile); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var paths []string
	prefix := stem(k.Profile) + "-"
	for _, e := range entries {
		fp, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		if fp, ok = strings.CutSuffix(fp, ext); ok && len(fp) == 12 && fingerprintRE.MatchString(fp) {
			paths = append(paths, filepath.Join(f.dir, e.Name()))
		}
	}
	return paths, nil
}

// stamp sets what Save records about b.
func stamp(b *Bundle, k Key, backend string) {
	now := time.Now()
	b.Version, b.Profile, b.Fingerprint, b.UpdatedAt, b.Backend = version, k.Profile, k.Fingerprint, now, backend
	if b.CreatedAt.IsZero() {
		b.CreatedAt = now
	}
}

func remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Lock takes an exclusive lock on profile that other processes (and other
// callers in this process) respect, waiting until it is free or ctx is done.
// Call unlock to release it; it is released too if the process exits.
func (f *File) Lock(ctx context.Context, profile string) (unlock func(), err error) {
	if err := validProfile(ctx, profile); err != nil {
		return nil, err
	}
	return lockFile(ctx, filepath.Join(f.dir, stem(profile)+".lock"), fmt.Sprintf("profile %q", profile))
}

// lockFile takes an exclusive lock on the file at path, creating it, until
// ctx is done. what names the lock in errors.
func lockFile(ctx context.Context, path, what string) (unlock func(), err error) {
	fh, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	for {
		ok, err := tryLock(fh)
		if ok {
			break
		}
		if err != nil {
			fh.Close()
			return nil, fmt.Errorf("store: locking %s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			fh.Close()
			return nil, fmt.Errorf("store: waiting for the lock on %s: %w", what, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
	var once sync.Once
	return func() { once.Do(func() { fh.Close() }) }, nil // closing releases the lock
}

// File name extensions of plain and encrypted bundles.
const (
	plainExt     = ".json"
	encryptedExt = ".enc"
)

// path returns the file of k with extension ext.
func (f *File) path(ctx context.Context, k Key, ext string) (string, error) {
	if err := validProfile(ctx, k.Profile); err != nil {
		return "", err
	}
	if !fingerprintRE.MatchString(k.Fingerprint) {
		return "", errors.New("store: a profile fingerprint must be at least 12 lowercase hex digits")
	}
	return filepath.Join(f.dir, stem(k.Profile)+"-"+k.Fingerprint[:12]+ext), nil
}

func validProfile(ctx context.Context, profile string) error {
	if profile == "" {
		return errors.New("store: empty profile name")
	}
	return ctx.Err()
}

// stem turns a profile name into a file name part. Names other than short
// ones of [a-z0-9_] and "-" are mapped onto those characters and tagged with
// a hash of the name, so that different names (also differing only in case,
// for case-insensitive file systems) never share a file.
func stem(profile string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, profile)
	if len(safe) > 64 {
		safe = safe[:64]
	}
	if safe == profile {
		return safe
	}
	sum := sha256.Sum256([]byte(profile))
	return safe + "~" + hex.EncodeToString(sum[:4])
}

// writeAtomic replaces the file at path with what write writes, through a
// 0600 temporary file in the same directory that is synced and renamed over
// path. If anything fails, path is left as it was.
func writeAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*") // mode 0600
	if err != nil {
		return err
	}
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	sweepTemps(path, staleTemp)
	return syncDir(dir)
}

// staleTemp is the age after which writeAtomic takes a temporary file it
// finds for the same path to be left by a writer that was killed.
const staleTemp = time.Minute

// sweepTemps removes the temporary files of writeAtomic(path) that were last
// modified more than age ago: those of writers that were killed mid-write.
func sweepTemps(path string, age time.Duration) {
	temps, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".*"))
	for _, tmp := range temps {
		if fi, err := os.Lstat(tmp); err == nil && time.Since(fi.ModTime()) > age {
			os.Remove(tmp)
		}
	}
}
