// Command cmd builds the google provider as a plugin program: a WebAssembly
// module with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared, a subprocess
// plugin otherwise (make plugins).
package main

import (
	_ "github.com/idplug/idplug/plugins/google"
	"github.com/idplug/idplug/sdk/serve"
)

func main() { serve.Main() }
