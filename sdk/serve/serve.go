// Package serve makes a plugin program of a provider: the same source builds
// to a WebAssembly module and to a subprocess plugin. The program's main
// package links the provider, which registers itself with sdk.Register, and
// calls Main:
//
//	package main
//
//	import (
//		_ "example.com/acme" // func init() { sdk.Register(acme.Provider{}) }
//
//		"github.com/idplug/idplug/sdk/serve"
//	)
//
//	func main() { serve.Main() }
//
// Build it either way:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o acme.wasm .
//	go build -o idplug-plugin-acme .
//
// A WebAssembly reactor never runs main: its exports serve the registered
// provider. Exactly one provider must be registered.
package serve

import (
	"fmt"

	"github.com/idplug/idplug/sdk"
)

// provider returns the one registered provider.
func provider() (sdk.Provider, error) {
	ps := sdk.Registered()
	if len(ps) != 1 {
		return nil, fmt.Errorf("a plugin program serves one provider, and %d are registered: link exactly one provider package, which calls sdk.Register from an init function", len(ps))
	}
	return ps[0], nil
}
