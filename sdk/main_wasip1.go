//go:build wasip1

package sdk

// Main does nothing in a WebAssembly module: the host calls the module's
// exports, and a reactor's main never runs. See the other builds' Main.
func Main() {}
