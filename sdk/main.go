//go:build !wasip1

package sdk

import (
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/idplug/idplug/internal/subprocess/pb"
)

// Main serves the registered provider as a subprocess plugin: the host runs
// the executable and calls the provider over gRPC with hashicorp/go-plugin
// (wit/idplug.proto; wit/README.md, "Subprocess plugins"). Call it as the
// whole of main, after Register ran in an init function:
//
//	func init() { sdk.Register(Provider{}) }
//
//	func main() { sdk.Main() }
//
// Built with `go build`, the package is a subprocess plugin; built with
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared, the same source is a
// WebAssembly module, whose main never runs.
//
// Main returns only when the host shuts the plugin down, and exits when the
// host process is gone. Logf writes to the host's log through stderr, one
// JSON record per line. Run by hand, the executable says it is a plugin and
// exits with status 1.
func Main() {
	if registered == nil {
		fmt.Fprintln(os.Stderr, errNotRegistered)
		os.Exit(1)
	}
	// go-plugin points os.Stderr elsewhere once it serves; the host reads
	// log records from the real stderr.
	logger := hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Debug})
	SetLogSink(func(l Level, msg string) { logger.Log(hclogLevel(l), msg) })
	go exitWithParent(os.Getppid(), time.Second)
	p := registered
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: pb.Handshake(ContractVersion),
		Plugins: goplugin.PluginSet{pb.Name: &pb.Plugin{Handle: func(fn string, in []byte) []byte {
			return Handle(p, Function(fn), in)
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

func hclogLevel(l Level) hclog.Level {
	switch l {
	case LevelDebug:
		return hclog.Debug
	case LevelInfo:
		return hclog.Info
	case LevelWarn:
		return hclog.Warn
	}
	return hclog.Error
}
