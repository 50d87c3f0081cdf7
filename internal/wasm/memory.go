package wasm

import (
	"sync"

	"github.com/tetratelabs/wazero/experimental"
)

// linearMemory backs the linear memory of one instance. wazero's own
// backing is a Go slice that it reallocates, copying, whenever the memory
// grows past its capacity: a plugin growing its memory a page at a time to
// the ceiling leaves the host some 250 MB of garbage. A linearMemory
// instead reserves the instance's whole maximum as address space up front
// (see reserve), outside the Go heap, and makes pages accessible as the
// memory grows, so that growing never copies, the host's resident memory is
// the pages the plugin touched, and closing the instance returns them to
// the system at once. Where address space cannot be reserved, it falls back
// to one Go slice of the maximum length, which never moves either.
//
// It is handed to wazero, as the experimental.MemoryAllocator of one
// instantiation, and is the experimental.LinearMemory that allocator
// returns: wazero's experimental API, which a new version of wazero may
// change.
type linearMemory struct {
	mu       sync.Mutex
	mem      []byte // the reservation, of the maximum length; nil once released
	mapped   bool   // mem was reserved by reserve, not allocated by Go
	size     uint64 // bytes accessible
	busy     bool   // a call runs on the instance
	freed    bool   // the instance was closed
	released bool   // mem went back to the system
}

// Allocate implements experimental.MemoryAllocator.
func (l *linearMemory) Allocate(_, max uint64) experimental.LinearMemory {
	l.mem, l.mapped = reserve(max)
	return l
}

// Reallocate implements experimental.LinearMemory: the memory grows, in
// place, to size bytes.
func (l *linearMemory) Reallocate(size uint64) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released || size > uint64(len(l.mem)) {
		return nil // memory.grow returns -1
	}
	if size > l.size {
		if l.mapped && !commit(l.mem[l.size:size]) {
			return nil
		}
		l.size = size
	}
	return l.mem[:size:size]
}

// Free implements experimental.LinearMemory. wazero calls it when the
// instance closes, and so does instance.close; it acts once. wazero
// may close an instance on another goroutine while a call still runs on it
// (when the Runtime closes): the memory is then released when that call
// ends, so that the plugin's code never touches released pages.
func (l *linearMemory) Free() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.freed = true
	if !l.busy {
		l.release()
	}
}

// enter marks the start of a call, or of the instantiation, on the
// instance; leave marks its end.
func (l *linearMemory) enter() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.busy = true
}

func (l *linearMemory) leave() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.busy = false
	if l.freed {
		l.release()
	}
}

// release returns the memory to the system, once.
func (l *linearMemory) release() {
	if l.released {
		return
	}
	l.released = true
	if l.mapped {
		unreserve(l.mem)
	}
	l.mem = nil
}
