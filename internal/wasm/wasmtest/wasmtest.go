// Package wasmtest makes hostile WebAssembly plugins for the tests of
// internal/wasm and for cmd/bench: modules that honour the ABI of
// wit/README.md (every export, the memory) and whose hooks then attack the
// host in one way each, most of them its memory. It depends on nothing of
// idplug, so that package wasm's own tests can use it.
package wasmtest

// Attack is what a hostile module's hooks do when called.
type Attack string

// The attacks. Each hook ends in a trap once its attack is over, if it is
// ever over.
const (
	// Grow grows the linear memory one 64 KiB page at a time, filling each
	// new page, until memory.grow fails at the ceiling.
	Grow Attack = "grow"
	// Recurse calls itself without end, so that the call stack grows until
	// the runtime stops it.
	Recurse Attack = "recurse"
	// GrowRecurse does Grow, then Recurse.
	GrowRecurse Attack = "grow+recurse"
	// Spin writes to its memory without end, until the host stops it.
	Spin Attack = "spin"
)

// Attacks lists the attacks on the host's memory: every Attack but Spin.
var Attacks = []Attack{Grow, Recurse, GrowRecurse}

// Hostile returns a module that speaks contract version 1 and exports every
// function of the ABI, one page of memory declared without a maximum, and
// hooks (describe, configure, prepare, interpret, identity) that carry out
// attack and then trap.
func Hostile(attack Attack) []byte {
	var hook []byte
	switch attack {
	case Grow:
		hook = call(fnGrow)
	case Recurse:
		hook = call(fnRecurse)
	case GrowRecurse:
		hook = append(call(fnGrow), call(fnRecurse)...)
	case Spin:
		hook = []byte{
			0x03, 0x40, // loop
			0x41, 0x00, 0x41, 0x01, 0x3a, 0x00, 0x00, //   i32.store8 1 at 0
			0x0c, 0x00, //   br 0
			0x0b, // end
		}
	default:
		panic("wasmtest: unknown attack " + string(attack))
	}
	hook = append(hook, 0x00) // unreachable

	const (
		i32, i64 = 0x7f, 0x7e
	)
	types := vec(
		funcType(nil, []byte{i32}),              // 0: idplug_contract_version
		funcType([]byte{i32}, []byte{i32}),      // 1: idplug_alloc
		funcType([]byte{i32, i32}, nil),         // 2: idplug_free
		funcType([]byte{i32, i32}, []byte{i64}), // 3: the hooks
		funcType(nil, nil),                      // 4: the attacks
	)
	funcs := vec([]byte{0}, []byte{1}, []byte{2}, []byte{3}, []byte{4}, []byte{4})
	exports := [][]byte{
		export("idplug_contract_version", 0, fnVersion),
		export("idplug_alloc", 0, fnAlloc),
		export("idplug_free", 0, fnFree),
		export("memory", 2, 0),
	}
	for _, name := range []string{"describe", "configure", "prepare", "interpret", "identity"} {
		exports = append(exports, export("idplug_"+name, 0, fnHook))
	}
	code := vec(
		body(nil, 0x41, 0x01),             // i32.const 1
		body(nil, 0x41, 0x80, 0x08),       // i32.const 1024: inputs land at 1 KiB
		body(nil),                         // nothing to free
		body(nil, hook...),                // the hooks: the attack
		body(nil, call(fnRecurse)...),     // recurse: call itself
		body([]byte{1, i32}, growLoop...), // grow: one local, the old size
	)
	var m []byte
	m = append(m, "\x00asm\x01\x00\x00\x00"...)
	m = append(m, section(1, types)...)
	m = append(m, section(3, funcs)...)
	m = append(m, section(5, vec([]byte{0x00, 0x01}))...) // memory: min 1 page, no maximum
	m = append(m, section(7, vec(exports...))...)
	m = append(m, section(10, code)...)
	return m
}

// The functions of a hostile module, by index.
const (
	fnVersion = iota
	fnAlloc
	fnFree
	fnHook
	fnRecurse
	fnGrow
)

// growLoop grows memory a page at a time, filling each new page, until
// memory.grow returns -1.
var growLoop = []byte{
	0x02, 0x40, // block
	0x03, 0x40, //   loop
	0x41, 0x01, 0x40, 0x00, //     memory.grow(1)
	0x22, 0x00, //     local.tee 0
	0x41, 0x7f, 0x46, 0x0d, 0x01, //     br_if 1 (the block) when it returned -1
	0x20, 0x00, 0x41, 0x10, 0x74, //     the new page's address: old size << 16
	0x41, 0x01, //     the value 1
	0x41, 0x80, 0x80, 0x04, //     the page's length, 65536
	0xfc, 0x0b, 0x00, //     memory.fill
	0x0c, 0x00, //     br 0 (the loop)
	0x0b, 0x0b, //   end, end
}

func call(fn byte) []byte { return []byte{0x10, fn} }

func funcType(params, results []byte) []byte {
	return append(append([]byte{0x60}, vec(bytesOf(params)...)...), vec(bytesOf(results)...)...)
}

// bytesOf splits b into one-byte items, for vec.
func bytesOf(b []byte) [][]byte {
	items := make([][]byte, len(b))
	for i := range b {
		items[i] = b[i : i+1]
	}
	return items
}

func export(name string, kind, index byte) []byte {
	return append(append(uleb(nil, uint32(len(name))), name...), kind, index)
}

// body encodes a function body: locals, a vec of (count, type) pairs given
// flat, then the instructions and end.
func body(locals []byte, instrs ...byte) []byte {
	b := uleb(nil, uint32(len(locals)/2))
	b = append(b, locals...)
	b = append(b, instrs...)
	b = append(b, 0x0b)
	return append(uleb(nil, uint32(len(b))), b...)
}

func vec(items ...[]byte) []byte {
	b := uleb(nil, uint32(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func section(id byte, content []byte) []byte {
	return append(uleb([]byte{id}, uint32(len(content))), content...)
}

func uleb(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
