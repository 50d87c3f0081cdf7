// Package sdk is what a provider plugin imports. A plugin adapts one
// identity provider to the idplug host: it declares its settings, turns a
// profile's settings into endpoints (Configure), and optionally fixes the
// provider's wire quirks (Preparer, Interpreter) and claim names
// (Identifier). It never performs I/O: the host sends every request.
//
// A provider registers itself from an init function, and is then linked in
// three ways from one source: into a program that embeds the host, where it
// is called in-process; and, through package sdk/serve, built to either
// transport of the contract (wit/idplug.wit):
//
//	func init() { sdk.Register(Provider{}) } // a WebAssembly reactor never runs main
//	func main() { serve.Main() }             // serves the subprocess transport
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o acme.wasm .
//	go build -o idplug-plugin-acme .
//
// Package sdktest runs a provider in unit tests through the same JSON
// documents the transports carry.
package sdk
