//go:build wasip1

package sdk

import "unsafe"

// The core-wasm ABI of wit/README.md: the host writes an input document into
// a buffer it obtained from idplug_alloc, calls a function with (ptr, len),
// and receives the output envelope as ptr<<32|len, which it releases with
// idplug_free once read.

var (
	// live keeps buffers handed to the host reachable until it frees them.
	live = map[uintptr][]byte{}
)

//go:wasmimport idplug log
func hostLog(level uint32, ptr unsafe.Pointer, size uint32)

func logf(level Level, msg string) {
	if msg == "" {
		return
	}
	b := []byte(msg)
	hostLog(uint32(level), unsafe.Pointer(&b[0]), uint32(len(b)))
}

//go:wasmexport idplug_contract_version
func exportContractVersion() uint32 { return ContractVersion }

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

func serve(fn Function, ptr, size uint32) uint64 {
	var in []byte
	if size > 0 {
		in = live[uintptr(ptr)][:size:size]
	}
	var out []byte
	if registered == nil {
		out = errorEnvelope(errNotRegistered)
	} else {
		out = Handle(registered, fn, in)
	}
	delete(live, uintptr(ptr))
	if len(out) == 0 {
		out = []byte("{}")
	}
	p := uintptr(unsafe.Pointer(&out[0]))
	live[p] = out
	return uint64(p)<<32 | uint64(len(out))
}

//go:wasmexport idplug_describe
func exportDescribe(ptr, size uint32) uint64 { return serve(FuncDescribe, ptr, size) }

//go:wasmexport idplug_configure
func exportConfigure(ptr, size uint32) uint64 { return serve(FuncConfigure, ptr, size) }

//go:wasmexport idplug_prepare
func exportPrepare(ptr, size uint32) uint64 { return serve(FuncPrepare, ptr, size) }

//go:wasmexport idplug_interpret
func exportInterpret(ptr, size uint32) uint64 { return serve(FuncInterpret, ptr, size) }

//go:wasmexport idplug_identity
func exportIdentity(ptr, size uint32) uint64 { return serve(FuncIdentity, ptr, size) }
