// Command misbehave is a subprocess plugin for the tests of
// internal/subprocess. What it does depends on the name it runs under, since
// a plugin gets no environment and no arguments:
//
//   - garbage: prints a line that is not a handshake, then waits forever;
//   - exits: complains on stderr and exits with code 3 before the handshake;
//   - silent: never says anything;
//   - badversion: serves contract version 2;
//   - unregistered: calls serve.Main without a registered provider;
//   - anything else: serves a provider whose configure misbehaves as its
//     "mode" setting says (crash, exit, hang, panic, log, env, bigout,
//     spawn, flood).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
	"github.com/idplug/idplug/sdk/serve"
)

// stdout and stderr are the pipes the host reads, which go-plugin replaces
// in os.Stdout and os.Stderr once it serves.
var stdout, stderr = os.Stdout, os.Stderr

func main() {
	switch name := filepath.Base(os.Args[0]); {
	case strings.HasPrefix(name, "garbage"):
		fmt.Println("Welcome to Misbehave 1.0!")
		select {}
	case strings.HasPrefix(name, "exits"):
		fmt.Fprintln(os.Stderr, "misbehave: cannot start: no configuration")
		os.Exit(3)
	case strings.HasPrefix(name, "silent"):
		select {}
	case strings.HasPrefix(name, "badversion"):
		handshake := wire.Handshake()
		handshake.ProtocolVersion = sdk.ContractVersion + 1
		goplugin.Serve(&goplugin.ServeConfig{
			HandshakeConfig: handshake,
			Plugins:         goplugin.PluginSet{wire.PluginName: &wire.GRPCPlugin{Handle: func(wire.Function, []byte) []byte { return nil }}},
			GRPCServer:      goplugin.DefaultGRPCServer,
		})
	case strings.HasPrefix(name, "unregistered"):
		serve.Main()
	default:
		// Registered here rather than in an init function, so that the
		// unregistered mode has no provider.
		sdk.Register(provider{})
		serve.Main()
	}
}

type provider struct{}

func (provider) Describe() sdk.PluginInfo {
	return sdk.PluginInfo{Name: "misbehave", Version: "1.0.0", Summary: "Misbehaves on request",
		Settings: []sdk.SettingSpec{{Name: "mode", Type: sdk.SettingString, Help: "crash, exit, hang, panic, log, env, bigout, spawn or flood"},
			{Name: "command", Type: sdk.SettingString, Help: "what spawn runs, with the argument 1000"}}}
}

func (provider) Configure(settings map[string]string, _ sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	switch settings["mode"] {
	case "crash": // a panic outside the SDK's recover
		go panic("misbehave: crashing as asked")
		select {}
	case "exit":
		os.Exit(7)
	case "hang":
		time.Sleep(time.Hour)
	case "panic":
		panic("misbehave: panicking as asked")
	case "log":
		sdk.Logf(sdk.LevelWarn, "a warning from the plugin")
		fmt.Fprintln(os.Stderr, "a line on stderr")
		fmt.Println("a line on stdout")
	case "bigout": // a result larger than a message may be
		return sdk.ProviderSpec{Issuer: strings.Repeat("x", 5<<20)}, nil
	case "spawn": // a child that holds the host's pipes open, as sleep 1000 does
		cmd := exec.Command(settings["command"], "1000")
		cmd.Stdout, cmd.Stderr = stdout, stderr
		if err := cmd.Start(); err != nil {
			return sdk.ProviderSpec{}, []sdk.ConfigError{{Setting: "command", Message: err.Error()}}
		}
		return sdk.ProviderSpec{}, []sdk.ConfigError{{Setting: "pid", Message: strconv.Itoa(cmd.Process.Pid)}}
	case "flood": // 100 MiB on stderr, which go-plugin forwards over gRPC
		w := bufio.NewWriter(os.Stderr)
		line := strings.Repeat("x", 1023) + "\n"
		for range 100 << 10 {
			w.WriteString(line)
		}
		w.Flush()
	case "env":
		devnull, _ := os.Stat(os.DevNull)
		stdin, err := os.Stdin.Stat()
		b, _ := json.Marshal(map[string]any{"env": os.Environ(), "stdin_is_devnull": err == nil && os.SameFile(stdin, devnull)})
		return sdk.ProviderSpec{}, []sdk.ConfigError{{Setting: "env", Message: string(b)}}
	}
	return sdk.ProviderSpec{Issuer: "https://misbehave.example.com", DiscoveryURL: "https://misbehave.example.com/.well-known/openid-configuration", AuthStyle: sdk.AuthNone}, nil
}
