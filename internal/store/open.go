package store

import (
	"context"
	"fmt"
)

// Options say which store Open returns.
type Options struct {
	// Backend is "auto" (or ""): the OS keyring, else plain files with a
	// warning; "keyring": the OS keyring or an error; "file": plain files.
	Backend string
	// Dir is the state directory holding the bundle files.
	Dir string
	// Service names the keyring items' service: the application's name.
	Service string
	// Warn receives the warning that "auto" stores tokens in plain files
	// because no keyring is reachable, once per Dir. nil drops it.
	Warn func(msg string)
}

// Open returns the store o describes. For "keyring" it checks, within a few
// seconds, that a keyring is reachable and otherwise returns an error
// wrapping ErrNoKeyring; "auto" checks only when it first needs to know.
func Open(ctx context.Context, o Options) (Store, error) {
	if o.Service == "" {
		o.Service = "idplug"
	}
	switch o.Backend {
	case "file":
		return NewFile(o.Dir)
	case "keyring":
		return NewKeyring(ctx, o.Dir, o.Service)
	case "", "auto":
		return newAuto(o.Dir, o.Service, osKeyring{}, o.Warn)
	}
	return nil, fmt.Errorf("store: unknown backend %q: use \"auto\", \"keyring\" or \"file\"", o.Backend)
}
