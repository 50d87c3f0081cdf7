// Command floor reads a file and prints it: the least any `token` command
// can do, against which `make bench` measures a cached `idplug token`.
package main

import (
	"os"
)

func main() {
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		os.Exit(1)
	}
	os.Stdout.Write(b)
}
