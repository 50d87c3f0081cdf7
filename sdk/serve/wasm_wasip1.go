//go:build wasip1

package serve

import (
	"fmt"
	"unsafe"

	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
)

// The core-wasm ABI of wit/README.md: the host writes an input document into
// a buffer it obtained from idplug_alloc, calls a function with (ptr, len),
// and receives the output envelope as ptr<<32|len, which it releases with
// idplug_free once read.

var (
	// live keeps buffers handed to the host reachable until it frees them.
	live = map[uintptr][]byte{}
)

// Main does nothing in a WebAssembly module: the host calls the module's
// exports, and a reactor's main never runs. See the other builds' Main.
func Main() {}

//go:wasmexport idplug_contract_version
func exportContractVersion() uint32 { return sdk.ContractVersion }

//go:wasmexport idplug_alloc
func exportAlloc(size uint32) uint32 {
	if size == 0 {
		size = 1
	}
	b := make([]byte, size)
	p := uintptr(unsafe.Pointer(&b[0]))
	live[p] = b
	return uint32(p)
}

//go:wasmexport idplug_free
func exportFree(ptr, _ uint32) { delete(live, uintptr(ptr)) }

func call(fn wire.Function, ptr, size uint32) uint64 {
	var in []byte
	if size > 0 {
		in = live[uintptr(ptr)][:size:size]
	}
	out := handle(fn, in)
	delete(live, uintptr(ptr))
	if len(out) == 0 {
		out = []byte("{}")
	}
	p := uintptr(unsafe.Pointer(&out[0]))
	live[p] = out
	return uint64(p)<<32 | uint64(len(out))
}

//go:wasmexport idplug_describe
func exportDescribe(ptr, size uint32) uint64 { return call(wire.FuncDescribe, ptr, size) }

//go:wasmexport idplug_configure
func exportConfigure(ptr, size uint32) uint64 { return call(wire.FuncConfigure, ptr, size) }

//go:wasmexport idplug_prepare
func exportPrepare(ptr, size uint32) uint64 { return call(wire.FuncPrepare, ptr, size) }

//go:wasmexport idplug_interpret
func exportInterpret(ptr, size uint32) uint64 { return call(wire.FuncInterpret, ptr, size) }

//go:wasmexport idplug_identity
func exportIdentity(ptr, size uint32) uint64 { return call(wire.FuncIdentity, ptr, size) }

// handle runs fn on the registered provider.
func handle(fn wire.Function, input []byte) []byte {
	p, err := provider()
	if err != nil {
		return []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
	}
	return wire.Handle(p, fn, input)
}
