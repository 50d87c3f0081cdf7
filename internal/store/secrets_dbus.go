//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/godbus/dbus/v5"
)

// secretService is the D-Bus name of the Secret Service.
const secretService = "org.freedesktop.secrets"

// reachable checks that the D-Bus session bus has a known address. Without
// one, go-keyring's D-Bus library would run dbus-launch to start a bus of
// its own, which is slow, leaves a daemon behind, and cannot reach a keyring
// anyway.
func reachable() error {
	if addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); addr != "" && addr != "autolaunch:" {
		return nil
	}
	// Where the D-Bus library looks when the variable is unset.
	dir := fmt.Sprintf("/run/user/%d/", os.Getuid())
	for _, name := range []string{"bus", "dbus-session"} {
		if _, err := os.Stat(dir + name); err == nil {
			return nil
		}
	}
	return errors.New("there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
}

// probeOS checks that a Secret Service runs on the session bus or can be
// started by it, without asking it anything that could show a prompt.
func probeOS(ctx context.Context) error {
	conn, err := dbus.SessionBus()
	if err != nil {
		return fmt.Errorf("%w: cannot connect to the D-Bus session bus: %v", ErrNoKeyring, err)
	}
	bus := conn.BusObject()
	var owned bool
	if err := bus.CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, secretService).Store(&owned); err != nil {
		return fmt.Errorf("%w: asking the D-Bus session bus for %s: %v", ErrNoKeyring, secretService, err)
	}
	if owned {
		return nil
	}
	var activatable []string
	if err := bus.CallWithContext(ctx, "org.freedesktop.DBus.ListActivatableNames", 0).Store(&activatable); err != nil {
		return fmt.Errorf("%w: asking the D-Bus session bus for %s: %v", ErrNoKeyring, secretService, err)
	}
	if slices.Contains(activatable, secretService) {
		return nil
	}
	return fmt.Errorf("%w: no Secret Service (%s) runs on the D-Bus session bus", ErrNoKeyring, secretService)
}

// unreachable reports whether err says that the bus or the Secret Service
// is not there, rather than that a request failed.
func unreachable(err error) bool {
	var de dbus.Error
	if errors.As(err, &de) {
		return strings.HasPrefix(de.Name, "org.freedesktop.DBus.Error.ServiceUnknown") ||
			strings.HasPrefix(de.Name, "org.freedesktop.DBus.Error.NameHasNoOwner") ||
			strings.HasPrefix(de.Name, "org.freedesktop.DBus.Error.Spawn")
	}
	return errors.Is(err, dbus.ErrClosed) || strings.Contains(err.Error(), "dbus:")
}
