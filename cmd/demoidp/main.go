// Command demoidp runs the demo OpenID provider of internal/demoidp on a
// loopback address, for `make demo` and manual testing. Not for production.
//
// Usage:
//
//	demoidp [--addr 127.0.0.1:8765] [--interval 5s] [--access-token-ttl 10m] [--code-ttl 10m]
//
// When ready it prints exactly one line to stdout,
//
//	demoidp: issuer http://127.0.0.1:8765
//
// and a hint on how to approve a login to stderr, where it also logs every
// request. It exits cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/idplug/idplug/internal/demoidp"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	var opts demoidp.Options
	flag.StringVar(&opts.Addr, "addr", "127.0.0.1:8765", "loopback `host:port` to listen on (port 0 picks a free one)")
	flag.DurationVar(&opts.PollInterval, "interval", 0, "device polling interval reported to clients, whole seconds (default 5s)")
	flag.DurationVar(&opts.AccessTokenLifetime, "access-token-ttl", 0, "access token lifetime (default 10m)")
	flag.DurationVar(&opts.DeviceCodeLifetime, "code-ttl", 0, "device and user code lifetime (default 10m)")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("demoidp: unexpected arguments %q", flag.Args())
	}
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(opts.Logger) // zitadel/oidc logs its request errors to the default logger

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := demoidp.Start(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Printf("demoidp: issuer %s\n", srv.URL())
	fmt.Fprintf(os.Stderr, "demoidp: client_id %s; approve a login at %s or with:\n"+
		"  curl -s -d user_code=XXXX-XXXX -d user=alice -d action=approve %s\n",
		demoidp.ClientID, srv.VerificationURI(), srv.VerificationURI())
	<-ctx.Done()
	stop()
	return srv.Close()
}
