//go:build !unix

package wasm

// reserve returns a Go slice of n bytes, and false: this system has no
// reservation of address space, so linearMemory falls back to the Go heap.
func reserve(n uint64) ([]byte, bool) { return make([]byte, n), false }

// commit is never called: nothing is reserved.
func commit([]byte) bool { return true }

// unreserve is never called: nothing is reserved.
func unreserve([]byte) {}
