// Command reactor is the least Go WebAssembly module: a wasip1 reactor
// (-buildmode=c-shared) whose one export does nothing. `make bench` loads it
// with wazero alone, as the floor of what any Go plugin costs to compile,
// load and call.
package main

//go:wasmexport nothing
func nothing() {}

func main() {}
