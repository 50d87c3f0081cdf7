package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zalando/go-keyring"
)

// ErrNoKeyring means no OS keyring could be reached: on Linux and the BSDs,
// no Secret Service (such as gnome-keyring or KeePassXC) on the D-Bus session
// bus.
var ErrNoKeyring = errors.New("no OS keyring is reachable")

// Time limits of keyring calls. A call may have to wait for the user to
// unlock the keyring in a prompt, so operations get longer than probes.
const (
	probeTimeout = 3 * time.Second
	opTimeout    = 60 * time.Second
)

// errSecretNotFound is what secrets.get returns for an absent item.
var errSecretNotFound = errors.New("no such keyring item")

// secrets is the OS keyring as the Keyring store uses it: short secrets by
// service and account. Implementations bound the time every call takes.
type secrets interface {
	// probe reports, quickly, whether the keyring is reachable; its errors
	// wrap ErrNoKeyring.
	probe(ctx context.Context) error
	// get returns the secret, or errSecretNotFound.
	get(ctx context.Context, service, account string) (string, error)
	// set creates or replaces the secret.
	set(ctx context.Context, service, account, secret string) error
	// delete removes the secret; its absence is not an error.
	delete(ctx context.Context, service, account string) error
}

// osKeyring is the OS keyring through go-keyring.
type osKeyring struct{}

func (osKeyring) probe(ctx context.Context) error {
	return bounded(ctx, probeTimeout, probeOS)
}

func (osKeyring) get(ctx context.Context, service, account string) (string, error) {
	var secret string
	err := bounded(ctx, opTimeout, func(context.Context) (err error) {
		secret, err = keyring.Get(service, account)
		return err
	})
	return secret, err
}

func (osKeyring) set(ctx context.Context, service, account, secret string) error {
	return bounded(ctx, opTimeout, func(context.Context) error { return keyring.Set(service, account, secret) })
}

func (osKeyring) delete(ctx context.Context, service, account string) error {
	err := bounded(ctx, opTimeout, func(context.Context) error { return keyring.Delete(service, account) })
	if errors.Is(err, errSecretNotFound) {
		return nil
	}
	return err
}

// bounded runs call after checking that the keyring can be reached without
// starting anything (see reachable), and gives up on it after timeout or
// when ctx is done. A call given up on finishes in the background: the
// keyring libraries take no context.
func bounded(ctx context.Context, timeout time.Duration, call func(context.Context) error) error {
	if err := reachable(); err != nil {
		return fmt.Errorf("%w: %v", ErrNoKeyring, err)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- call(ctx) }()
	select {
	case err := <-done:
		switch {
		case err == nil:
			return nil
		case errors.Is(err, keyring.ErrNotFound):
			return errSecretNotFound
		case errors.Is(err, ErrNoKeyring):
			return err
		case unreachable(err):
			return fmt.Errorf("%w: %v", ErrNoKeyring, err)
		}
		return fmt.Errorf("OS keyring: %v", err)
	case <-ctx.Done():
		if err := parent.Err(); err != nil {
			return fmt.Errorf("OS keyring: %w", err)
		}
		return fmt.Errorf("%w: the keyring did not answer within %s (is it locked, waiting for a password?)", ErrNoKeyring, timeout)
	}
}
