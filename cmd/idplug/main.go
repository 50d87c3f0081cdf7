// Command idplug signs you in from the command line through your
// organisation's identity provider, with the OAuth 2.0 Device Authorization
// Grant. See `idplug --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/idplug/idplug/host"
	"github.com/idplug/idplug/host/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() { os.Exit(run()) }

// run runs the command line. Ctrl-C or SIGTERM cancels the command, which
// closes its host and so stops its plugin processes, in bounded time; the
// deferred KillPlugins stops them when a command panics, too. A second
// Ctrl-C or SIGTERM ends the program at once, plugins killed first,
// whatever the command is still doing.
func run() int {
	defer host.KillPlugins()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		cancel()
		<-signals
		host.KillPlugins()
		os.Exit(cli.ExitFailure) // saying nothing: stderr may be what blocks
	}()
	return cli.Main(ctx, cli.NewRootCommand(cli.Options{Version: version}), os.Args[1:])
}
