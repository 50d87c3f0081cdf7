//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd)

package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/zalando/go-keyring"
)

// reachable reports whether this platform has a keyring go-keyring speaks:
// the macOS Keychain or the Windows Credential Manager.
func reachable() error {
	switch runtime.GOOS {
	case "darwin", "windows":
		return nil
	}
	return fmt.Errorf("%s has no OS keyring this program can use", runtime.GOOS)
}

// probeOS asks for an item that does not exist.
func probeOS(context.Context) error {
	_, err := keyring.Get("idplug-probe", "probe")
	if err == nil || errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrNoKeyring, err)
}

// unreachable reports whether err says the keyring is not there.
func unreachable(err error) bool { return errors.Is(err, keyring.ErrUnsupportedPlatform) }
