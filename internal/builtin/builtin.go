// Package builtin holds the provider plugins that ship inside the idplug
// binary. They are ordinary WebAssembly plugins, built from plugins/ by
// `make build` and embedded here; the host loads them through the same loader
// and sandbox as a third-party module and knows none of them by name.
package builtin

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed wasm
var files embed.FS

// Names lists the built-in plugins, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(files, "wasm")
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".wasm"); ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// Module returns the WebAssembly module of the built-in plugin name.
func Module(name string) ([]byte, bool) {
	b, err := files.ReadFile("wasm/" + name + ".wasm")
	return b, err == nil
}
