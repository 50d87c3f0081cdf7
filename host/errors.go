package host

import (
	"errors"

	"github.com/idplug/idplug/internal/engine"
)

// The kinds of failure a caller may want to tell apart.
var (
	// ErrNotLoggedIn means the profile has no usable tokens: run login.
	ErrNotLoggedIn = errors.New("not logged in")
	// ErrAccessDenied means the user or the identity provider refused.
	ErrAccessDenied error = errDenied
	// ErrExpired means the device code expired before the user approved.
	ErrExpired error = errExpired
)

// The engine's sentinels are the host's: its errors wrap them.
var errDenied, errExpired = engine.ErrDenied, engine.ErrExpired

// ConfigError is a problem with the configuration file or a profile's
// settings; its message names the file, line and key and says what to fix.
type ConfigError struct {
	Err error
}

// Error implements error.
func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }
