// Command misbehave is a test plugin whose configure misbehaves on demand:
// settings["do"] says how. The tests of internal/wasm build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared ./internal/wasm/testdata/misbehave
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"
	"unsafe"

	"github.com/idplug/idplug/sdk"
	"github.com/idplug/idplug/sdk/serve"
)

func init() { sdk.Register(provider{}) }

func main() { serve.Main() }

type provider struct{}

func (provider) Describe() sdk.PluginInfo {
	return sdk.PluginInfo{Name: "misbehave", Version: "0.0.0", Summary: "misbehaves on demand"}
}

var sink []byte

func (provider) Configure(settings map[string]string, _ sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	switch settings["do"] {
	case "panic":
		panic("boom")
	case "trap": // a store outside linear memory: a wasm trap no recover sees
		*(*byte)(unsafe.Add(unsafe.Pointer(nil), 0xfffffff0)) = 1
	case "exit":
		os.Exit(3)
	case "loop":
		for {
		}
	case "alloc":
		sink = make([]byte, 1<<30)
	case "hog": // allocates and writes to 1 MiB after 1 MiB until it runs out
		var hog [][]byte
		for {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4 << 10 {
				b[i] = 1
			}
			hog = append(hog, b)
		}
	case "exit0":
		os.Exit(0)
	case "sleep": // spins: the fake clock advances 1 ms at each reading
		time.Sleep(time.Hour)
	case "flood": // floods stdout
		line := strings.Repeat("y", 1<<10) + "\n"
		for range 16 << 10 {
			os.Stdout.WriteString(line)
		}
	case "biglong": // writes long lines to stderr and idplug.log
		os.Stderr.WriteString(strings.Repeat("z", 8<<20))
		sdk.Logf(sdk.LevelError, "%s", strings.Repeat("w", 8<<20))
	case "log":
		fmt.Println("hello on stdout")
		fmt.Fprintln(os.Stderr, "hello on stderr")
		sdk.Logf(sdk.LevelWarn, "hello through idplug.log %d", 42)
	case "sandbox": // reports what the sandbox let it see
		_, err := os.ReadFile("/etc/passwd")
		wd, _ := os.Getwd()
		random := make([]byte, 16)
		rand.Read(random)
		return sdk.ProviderSpec{}, []sdk.ConfigError{
			{Setting: "read_file", Message: fmt.Sprint(err)},
			{Setting: "home", Message: os.Getenv("HOME")},
			{Setting: "environ", Message: fmt.Sprint(len(os.Environ()))},
			{Setting: "args", Message: fmt.Sprint(len(os.Args))},
			{Setting: "wd", Message: wd},
			{Setting: "year", Message: fmt.Sprint(time.Now().Year())},
			{Setting: "random", Message: hex.EncodeToString(random)},
		}
	}
	return sdk.ProviderSpec{Issuer: "https://misbehave.example", AuthStyle: sdk.AuthNone}, nil
}
