// Package sdk is what a provider plugin imports. A plugin adapts one
// identity provider to the idplug host: it declares its settings, turns a
// profile's settings into endpoints (Configure), and optionally fixes the
// provider's wire quirks (Preparer, Interpreter) and claim names
// (Identifier). It never performs I/O: the host sends every request.
//
// One source builds to both transports of the contract (wit/idplug.wit):
//
//	func init() { sdk.Register(Provider{}) } // a WebAssembly reactor never runs main
//	func main() { sdk.Main() }               // serves the subprocess transport
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o acme.wasm .
//	go build -o idplug-plugin-acme .
//
// Package sdktest runs a provider in unit tests through the same JSON
// documents the transports carry.
package sdk
