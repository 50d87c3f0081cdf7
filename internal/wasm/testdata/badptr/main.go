// Command badptr is a test plugin written without the SDK whose functions
// break the ABI: configure returns a result envelope of 5 MiB, the others
// return results outside its linear memory.
package main

import (
	"bytes"
	"unsafe"
)

func main() {}

var buf [1 << 16]byte

//go:wasmexport idplug_contract_version
func contractVersion() uint32 { return 1 }

//go:wasmexport idplug_alloc
func alloc(uint32) uint32 { return uint32(uintptr(unsafe.Pointer(&buf[0]))) }

//go:wasmexport idplug_free
func free(uint32, uint32) {}

const outside = 0xfffffff0<<32 | 64

//go:wasmexport idplug_describe
func describe(uint32, uint32) uint64 { return outside }

// big is a well-formed envelope larger than a result may be, made by the
// first configure: made at initialisation, it would slow down every
// instantiation, and the load of this module under the race detector.
var big []byte

//go:wasmexport idplug_configure
func configure(uint32, uint32) uint64 {
	if big == nil {
		big = bytes.Repeat([]byte("x"), 5<<20)
		copy(big, `{"ok":"`)
		copy(big[len(big)-2:], `"}`)
	}
	return uint64(uintptr(unsafe.Pointer(&big[0])))<<32 | uint64(len(big))
}

//go:wasmexport idplug_prepare
func prepare(uint32, uint32) uint64 { return outside }

//go:wasmexport idplug_interpret
func interpret(uint32, uint32) uint64 { return outside }

//go:wasmexport idplug_identity
func identity(uint32, uint32) uint64 { return outside }
