// Command linked is the floor program (../floor) with the dependencies
// idplug must link, go-plugin (gRPC, protobuf) and wazero, linked in and
// unused: `make bench` times it to show what their package initialisers and
// size cost every process before main, whatever it does.
package main

import (
	"os"

	_ "github.com/hashicorp/go-plugin"
	_ "github.com/tetratelabs/wazero"
)

func main() {
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		os.Exit(1)
	}
	os.Stdout.Write(b)
}
