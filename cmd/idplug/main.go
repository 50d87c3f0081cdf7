// Command idplug signs you in from the command line through your
// organisation's identity provider, with the OAuth 2.0 Device Authorization
// Grant. See `idplug --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/idplug/idplug/host/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.NewRootCommand(cli.Options{Version: version}), os.Args[1:])
	stop()
	os.Exit(code)
}
