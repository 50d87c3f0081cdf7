//go:build !wasip1

package serve

import (
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
)

// Main serves the registered provider as a subprocess plugin: the host runs
// the executable and calls the provider over gRPC with hashicorp/go-plugin
// (wit/idplug.proto; wit/README.md, "Subprocess plugins").
//
// Main returns only when the host shuts the plugin down, and exits when the
// host process is gone. sdk.Logf writes to the host's log through stderr,
// one JSON record per line. Run by hand, the executable says it is a plugin
// and exits with status 1.
func Main() {
	p, err := provider()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// go-plugin points os.Stderr elsewhere once it serves; the host reads
	// log records from the real stderr.
	logger := hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Debug})
	sdk.SetLogSink(func(l sdk.Level, msg string) { logger.Log(hclogLevel(l), msg) })
	go exitWithParent(os.Getppid(), time.Second)
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: wire.Handshake(),
		Plugins: goplugin.PluginSet{wire.PluginName: &wire.GRPCPlugin{Handle: func(fn wire.Function, in []byte) []byte {
			return wire.Handle(p, fn, in)
		}}},
		GRPCServer: goplugin.DefaultGRPCServer,
		Logger:     logger,
	})
}

// exitWithParent ends the plugin when its parent, the host, is gone and the
// plugin was handed to another parent: a host that crashed must not leave
// its plugins behind. (On Linux the host also asks the kernel to kill them.)
func exitWithParent(ppid int, every time.Duration) {
	for range time.Tick(every) {
		if os.Getppid() != ppid {
			os.Exit(1)
		}
	}
}

func hclogLevel(l sdk.Level) hclog.Level {
	switch l {
	case sdk.LevelDebug:
		return hclog.Debug
	case sdk.LevelInfo:
		return hclog.Info
	case sdk.LevelWarn:
		return hclog.Warn
	}
	return hclog.Error
}
