package sdk

import "errors"

// registered is the provider this plugin serves.
var registered Provider

// Register makes p the provider this plugin serves. Call it from an init
// function of package main, not from main: a WebAssembly reactor runs its
// package initialisers when the host instantiates it, but never main. main
// calls Main, which serves p when the program runs as a subprocess plugin:
//
//	func init() { sdk.Register(Provider{}) }
//
//	func main() { sdk.Main() }
func Register(p Provider) {
	if registered != nil {
		panic("sdk: Register called twice; a plugin serves one provider")
	}
	registered = p
}

var errNotRegistered = errors.New("no provider registered: call sdk.Register from an init function of package main")
