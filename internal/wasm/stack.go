package wasm

import (
	"fmt"
	"slices"
)

// wazero runs a plugin's calls on a stack of its own, in the Go heap, which
// it doubles, copying, whenever a call needs more, and it refuses to grow
// it past 50,000,000 bytes: a plugin recursing without end makes the host
// allocate some 84 MB of stack and as much again of garbage before it
// stops, outside the linear memory ceiling, and wazero has no setting to
// lower that bound. So the host bounds the stack itself, in the module:
// instrument gives every function a thunk that counts, in a global, the
// stack its callers and it take, and traps before the function runs when
// that passes MaxStack.

// Bounds of a plugin's call stack.
const (
	// MaxStack is the most stack a call may take, in bytes, as frameCost
	// estimates it. An SDK plugin's calls take less than 1 MiB so
	// estimated; a Go function recursing takes about 1.5 KiB a level.
	MaxStack = 8 << 20
	// stackExport is the export, added by instrument, of the global that
	// counts the stack in use; after a failed call, more than MaxStack in
	// it says that the stack ran out.
	stackExport = "idplug:stack"
)

// frameCost estimates, in bytes, the stack that a call to a function with
// params parameters, locals locals and code bytes of instructions takes in
// wazero's compiled code, its thunk's frame included, in a module whose
// largest function type has arity parameters and results: 16 bytes for
// each parameter and local (a v128 takes 16); 4 for each byte of code, for
// the values held across calls (an instruction makes at most one, of 8
// bytes, or 16 for a v128, and takes at least 2 bytes, or 4 for a v128);
// and 8 for each parameter and result of the largest type, for the
// arguments and results of the calls it makes. The estimate is MaxStack+1
// when it is larger: such a function is never called.
func frameCost(params int, locals uint64, code, arity int) uint32 {
	c := 64 + 16*(uint64(params)+locals) + 4*uint64(code) + 8*uint64(arity)
	return uint32(min(c, MaxStack+1))
}

// instrument returns the module b read with each defined function f
// replaced by a thunk that adds f's frameCost to a new global, traps when
// the global then exceeds MaxStack, calls f, moved to the end of the
// function index space, and subtracts the cost again. Every reference to f
// (calls, tables, exports, the start function) keeps its index, and so
// goes through the thunk. The global is exported as stackExport. A second
// new global, exported as stopExport, is read at the top of every loop of
// every function, which traps once the host sets it (see checkLoops). It
// bounds the tables too (see boundTableSection), and leaves out the custom
// sections but the name section, whose function names it extends to the
// moved functions.
func (b *binary) instrument() ([]byte, error) {
	imported := uint32(b.importedFuncs)
	defined := uint32(len(b.funcs)) - imported
	global := b.globals
	var (
		out                    = []byte("\x00asm\x01\x00\x00\x00")
		haveGlobal, haveExport bool
		tables                 uint64
	)
	out = slices.Grow(out, len(b.wasm)+64*int(defined)) // room for thunks
	add := func(id byte, content ...[]byte) {
		size := 0
		for _, c := range content {
			size += len(c)
		}
		out = append(out, id)
		out = appendULEB(out, uint32(size))
		for _, c := range content {
			out = append(out, c...)
		}
	}
	stop := global + 1
	ours := func(id byte) []byte { // the globals' entries in their section
		if id == secGlobal {
			return []byte{byte(i32), 1, 0x41, 0x00, 0x0b, byte(i32), 1, 0x41, 0x00, 0x0b} // two mutable i32 = 0
		}
		export := func(b []byte, name string, index uint32) []byte {
			return appendULEB(append(appendULEB(b, uint32(len(name))), name+"\x03"...), index)
		}
		return export(export(nil, stackExport, global), stopExport, stop)
	}
	for _, s := range b.sections {
		if s.id != secCustom { // add the globals' sections where they belong
			if !haveGlobal && rank(s.id) > rank(secGlobal) {
				add(secGlobal, append([]byte{2}, ours(secGlobal)...))
				haveGlobal = true
			}
			if !haveExport && rank(s.id) > rank(secExport) {
				add(secExport, append([]byte{2}, ours(secExport)...))
				haveExport = true
			}
		}
		switch s.id {
		case secCustom:
			if names := renameSection(s.content, imported, defined); names != nil {
				add(secCustom, names)
			}
		case secFunction:
			content := appendULEB(nil, 2*defined)
			for range 2 {
				for _, t := range b.funcs[imported:] {
					content = appendULEB(content, t)
				}
			}
			add(secFunction, content)
		case secTable:
			content, elements, err := boundTableSection(s.content)
			if err != nil {
				return nil, err
			}
			if tables += elements; tables > maxTableElements {
				return nil, fmt.Errorf("its tables may hold %d elements, more than the %d a plugin may have", tables, maxTableElements)
			}
			add(secTable, content)
		case secGlobal, secExport:
			count, n, _ := uleb(s.content) // parse read it
			content := appendULEB(nil, count+2)
			content = append(content, s.content[n:]...)
			add(s.id, append(content, ours(s.id)...))
			haveGlobal = haveGlobal || s.id == secGlobal
			haveExport = haveExport || s.id == secExport
		case secCode:
			thunks, bodies, err := b.thunks(s.content, global, stop)
			if err != nil {
				return nil, err
			}
			add(secCode, thunks, bodies)
		default:
			add(s.id, s.content)
		}
	}
	if !haveGlobal {
		add(secGlobal, append([]byte{2}, ours(secGlobal)...))
	}
	if !haveExport {
		add(secExport, append([]byte{2}, ours(secExport)...))
	}
	return out, nil
}

// rank orders the ids of sections as a module must: 13 (tags) comes
// between memories (5) and globals (6), 12 (data count) between elements
// (9) and code (10).
func rank(id byte) int {
	switch id {
	case 13:
		return 55
	case 12:
		return 95
	}
	return 10 * int(id)
}

// thunks returns the contents of a code section in two parts: the number
// of functions and the thunks of the defined functions; then their bodies
// from the code section code, each loop checking the global stop (see
// checkLoops).
func (b *binary) thunks(code []byte, global, stop uint32) (thunks, bodies []byte, err error) {
	imported := uint32(b.importedFuncs)
	defined := uint32(len(b.funcs)) - imported
	r := &reader{b: code}
	if n := r.count(); n != defined && r.err == nil {
		return nil, nil, malformed(fmt.Sprintf("%d functions and %d bodies", defined, n))
	}
	bodies = make([]byte, 0, len(r.b)+len(r.b)/32)
	check := stopCheck(stop)
	arity := 0
	for _, t := range b.types {
		arity = max(arity, len(t.params)+len(t.results))
	}
	var out []byte
	out = appendULEB(out, 2*defined)
	for i := range defined {
		body := r.bytes(r.u32())
		br := &reader{b: body}
		var locals uint64
		for range br.count() {
			locals += uint64(br.u32())
			br.byte() // the type
		}
		if r.err == nil && br.err != nil {
			return nil, nil, br.err
		}
		t := b.funcs[imported+i]
		if int(t) >= len(b.types) {
			return nil, nil, malformed(fmt.Sprintf("function %d is of type %d, which does not exist", imported+i, t))
		}
		params := len(b.types[t].params)
		out = appendThunk(out, params, frameCost(params, locals, len(br.b), arity), global, imported+defined+i)
		checked, err := checkLoops(body, check)
		if err != nil {
			return nil, nil, err
		}
		bodies = append(appendULEB(bodies, uint32(len(checked))), checked...)
	}
	if r.err != nil {
		return nil, nil, r.err
	}
	if len(r.b) > 0 {
		return nil, nil, malformed("the code section has bytes past its end")
	}
	return out, bodies, nil
}

// appendThunk appends to b the body of a thunk, with params parameters, of
// the function at index target whose call costs cost, counted in the global
// of index global.
func appendThunk(b []byte, params int, cost, global, target uint32) []byte {
	t := []byte{0x00} // no locals
	// global += cost; if global > MaxStack { unreachable }
	t = appendULEB(append(t, 0x23), global)       // global.get
	t = appendSLEB(append(t, 0x41), cost)         // i32.const
	t = appendULEB(append(t, 0x6a, 0x24), global) // i32.add, global.set
	t = appendULEB(append(t, 0x23), global)
	t = appendSLEB(append(t, 0x41), MaxStack)
	t = append(t, 0x4b, 0x04, 0x40, 0x00, 0x0b) // i32.gt_u, if, unreachable, end
	// target(params...)
	for i := range params {
		t = appendULEB(append(t, 0x20), uint32(i)) // local.get
	}
	t = appendULEB(append(t, 0x10), target) // call
	// global -= cost
	t = appendULEB(append(t, 0x23), global)
	t = appendSLEB(append(t, 0x41), cost)
	t = appendULEB(append(t, 0x6b, 0x24), global) // i32.sub, global.set
	t = append(t, 0x0b)                           // end
	return append(appendULEB(b, uint32(len(t))), t...)
}

// renameSection returns the contents of the custom section content when it
// is the name section, with a name for each moved function: that of its
// thunk, whose index it had. It returns nil for any other custom section,
// and for a name section it cannot read.
func renameSection(content []byte, imported, defined uint32) []byte {
	r := &reader{b: content}
	if r.name() != "name" || r.err != nil {
		return nil
	}
	out := append([]byte{4}, "name"...)
	for len(r.b) > 0 {
		id := r.byte()
		sub := r.bytes(r.u32())
		if id == 1 { // function names: a vector of (index, name), by index
			sr := &reader{b: sub}
			n := sr.count()
			entries := sr.b
			var moved []byte
			var extra uint32
			for range n {
				index, name := sr.u32(), sr.name()
				if index >= imported && index < imported+defined {
					moved = appendULEB(moved, index+defined)
					moved = append(appendULEB(moved, uint32(len(name))), name...)
					extra++
				}
			}
			if sr.err != nil || len(sr.b) > 0 {
				return nil
			}
			sub = append(append(appendULEB(nil, n+extra), entries...), moved...)
		}
		out = append(out, id)
		out = append(appendULEB(out, uint32(len(sub))), sub...)
	}
	if r.err != nil {
		return nil
	}
	return out
}

// appendSLEB appends v, a number below 2^31, to b in signed LEB128.
func appendSLEB(b []byte, v uint32) []byte {
	for v >= 0x40 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
