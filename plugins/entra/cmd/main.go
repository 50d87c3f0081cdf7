// Command cmd builds the entra provider as a plugin program: a WebAssembly
// module with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared, a subprocess
// plugin otherwise (make plugins).
package main

import (
	_ "github.com/idplug/idplug/plugins/entra"
	"github.com/idplug/idplug/sdk/serve"
)

func main() { serve.Main() }
