//go:build wasip1

package sdk

import "unsafe"

//go:wasmimport idplug log
func hostLog(level uint32, ptr unsafe.Pointer, size uint32)

// logf passes msg to the contract's only import, idplug.log.
func logf(level Level, msg string) {
	if msg == "" {
		return
	}
	b := []byte(msg)
	hostLog(uint32(level), unsafe.Pointer(&b[0]), uint32(len(b)))
}
