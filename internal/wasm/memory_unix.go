//go:build unix

package wasm

import "golang.org/x/sys/unix"

// reserve returns n bytes of address space, inaccessible until commit makes
// a range of it accessible, and true; or, when the system refuses, a Go
// slice of n bytes and false. A reservation costs neither memory nor commit
// charge.
func reserve(n uint64) ([]byte, bool) {
	if n == 0 {
		return nil, false
	}
	b, err := unix.Mmap(-1, 0, int(n), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return make([]byte, n), false
	}
	return b, true
}

// commit makes b, whole pages of a reservation, readable and writable. Their
// contents are zero; they use memory once written to.
func commit(b []byte) bool {
	return unix.Mprotect(b, unix.PROT_READ|unix.PROT_WRITE) == nil
}

// unreserve returns a reservation to the system.
func unreserve(b []byte) {
	unix.Munmap(b)
}
