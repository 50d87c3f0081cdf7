package wasm

import (
	"fmt"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// MaxModuleSize is the largest module Load accepts, in bytes: room for
// three times a Go plugin built with the SDK (3.5 to 5 MB), while
// compiling a module takes wazero some three times its size in memory.
const MaxModuleSize = 16 << 20

// A module's binary is read before it is compiled (see prepare), in the
// format of the WebAssembly core specification, chapter 5: after the magic
// number and the version, a sequence of sections, each an id byte, its size
// in unsigned LEB128, and its contents.

// Section ids.
const (
	secCustom   = 0
	secType     = 1
	secImport   = 2
	secFunction = 3
	secTable    = 4
	secGlobal   = 6
	secExport   = 7
	secStart    = 8
	secCode     = 10
)

// Kinds of imports and exports.
const (
	kindFunc   = 0
	kindTable  = 1
	kindMemory = 2
	kindGlobal = 3
)

// malformed is a module that is not well-formed WebAssembly, or that uses
// an encoding the host does not read; prepare refuses it.
type malformed string

func (m malformed) Error() string { return "not a valid WebAssembly module: " + string(m) }

// section is one section of a module.
type section struct {
	id      byte
	content []byte
}

// funcType is a function signature.
type funcType struct{ params, results []api.ValueType }

// exportEntry is what an export names.
type exportEntry struct {
	kind  byte
	index uint32
}

// binary is what the host reads of a module before compiling it.
type binary struct {
	wasm     []byte
	sections []section
	types    []funcType
	// funcs holds the type index of every function, imported ones first.
	funcs         []uint32
	importedFuncs int
	globals       uint32 // imported and defined
	exports       map[string]exportEntry
	// foreign is the first import from a module other than
	// wasi_snapshot_preview1 and idplug.log, as "module.name".
	foreign string
}

// prepare reads the module wasm before it is compiled, and returns the
// module to compile: wasm with its tables bounded (see boundTableSection),
// its call stack bounded (see instrument), and its custom sections but the
// name section left out. It refuses, with err, a module larger than
// MaxModuleSize, one that is not well-formed, whose tables are too large,
// that lacks the export idplug_contract_version, or that imports what a
// plugin may not. A module that deviates from the rest of the ABI (an export
// missing or of the wrong type, no memory) is refused too, with abi; but
// the host first asks it its contract version, so prepare returns it ready
// to compile for that.
func prepare(wasm []byte) (out []byte, abi, err error) {
	if len(wasm) > MaxModuleSize {
		return nil, nil, fmt.Errorf("the module is %d bytes, more than the %d MiB a plugin may have", len(wasm), MaxModuleSize>>20)
	}
	b, err := parse(wasm)
	if err != nil {
		return nil, nil, err
	}
	if err := b.checkExport(exportVersion, nil, []api.ValueType{i32}); err != nil {
		return nil, nil, err
	}
	if b.foreign != "" {
		return nil, nil, fmt.Errorf("imports %s: a plugin may import only %s and idplug.log", b.foreign, wasi_snapshot_preview1.ModuleName)
	}
	for _, name := range []string{stackExport, stopExport} {
		if _, ok := b.exports[name]; ok {
			return nil, nil, fmt.Errorf("exports %s, a name the host reserves", name)
		}
	}
	for _, e := range exports {
		if abi = b.checkExport(e.name, e.params, e.results); abi != nil {
			break
		}
	}
	if e, ok := b.exports["memory"]; abi == nil && (!ok || e.kind != kindMemory) {
		abi = notPlugin("memory")
	}
	out, err = b.instrument()
	return out, abi, err
}

// parse reads the sections of wasm, and in them what prepare checks.
func parse(wasm []byte) (*binary, error) {
	const header = "\x00asm\x01\x00\x00\x00"
	if len(wasm) < len(header) || string(wasm[:4]) != header[:4] {
		return nil, malformed("it does not begin with the magic number \\0asm")
	}
	if string(wasm[:8]) != header {
		return nil, malformed(fmt.Sprintf("it is of binary format version %d; idplug reads version 1", uint32(wasm[4])|uint32(wasm[5])<<8|uint32(wasm[6])<<16|uint32(wasm[7])<<24))
	}
	b := &binary{wasm: wasm, exports: map[string]exportEntry{}}
	for rest := wasm[len(header):]; len(rest) > 0; {
		id := rest[0]
		size, n, ok := uleb(rest[1:])
		if !ok || uint64(len(rest)-1-n) < uint64(size) {
			return nil, malformed(fmt.Sprintf("section %d is cut short", id))
		}
		s := section{id, rest[1+n : 1+n+int(size)]}
		rest = rest[1+n+int(size):]
		b.sections = append(b.sections, s)
		r := &reader{b: s.content}
		switch id {
		case secType:
			b.readTypes(r)
		case secImport:
			b.readImports(r)
		case secFunction:
			for range r.count() {
				b.funcs = append(b.funcs, r.u32())
			}
		case secGlobal:
			b.globals += r.u32() // the imported ones come first
			r.b = nil            // the rest is left to the compiler
		case secStart:
			// It would run when the module is instantiated, which no
			// deadline bounds; a reactor's _initialize runs under one.
			r.fail("it has a start function; a plugin exports _initialize instead, which the host calls")
		case secExport:
			for range r.count() {
				name, kind, index := r.name(), r.byte(), r.u32()
				if _, dup := b.exports[name]; dup && r.err == nil {
					r.fail("exports %q twice", name)
				}
				b.exports[name] = exportEntry{kind, index}
			}
		default:
			r.b = nil // custom sections, and those the compiler checks
		}
		if r.err == nil && len(r.b) > 0 {
			r.fail("section %d has %d bytes past its end", id, len(r.b))
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	return b, nil
}

// readTypes reads a type section.
func (b *binary) readTypes(r *reader) {
	for range r.count() {
		if r.byte() != 0x60 {
			r.fail("a type other than a function type")
			return
		}
		var t funcType
		for range r.count() {
			t.params = append(t.params, r.byte())
		}
		for range r.count() {
			t.results = append(t.results, r.byte())
		}
		b.types = append(b.types, t)
	}
}

// readImports reads an import section.
func (b *binary) readImports(r *reader) {
	for range r.count() {
		mod, name, kind := r.name(), r.name(), r.byte()
		switch kind {
		case kindFunc:
			b.funcs = append(b.funcs, r.u32())
			b.importedFuncs++
		case kindTable:
			r.byte() // the reference type
			r.limits()
		case kindMemory:
			r.limits()
		case kindGlobal:
			r.byte() // the value type
			r.byte() // mutability
			b.globals++
		default:
			r.fail("an import of kind %d", kind)
		}
		if b.foreign == "" && r.err == nil && mod != wasi_snapshot_preview1.ModuleName && (mod != "idplug" || name != "log") {
			b.foreign = mod + "." + name
		}
	}
}

// checkExport checks that the module exports the function name with the
// signature params -> results.
func (b *binary) checkExport(name string, params, results []api.ValueType) error {
	e, ok := b.exports[name]
	if !ok || e.kind != kindFunc {
		return notPlugin(name)
	}
	if int(e.index) >= len(b.funcs) || int(b.funcs[e.index]) >= len(b.types) {
		return malformed(fmt.Sprintf("export %s names a function or type that does not exist", name))
	}
	t := b.types[b.funcs[e.index]]
	if !equal(t.params, params) || !equal(t.results, results) {
		return fmt.Errorf("export %s has type %s, the ABI wants %s (see wit/README.md)",
			name, signature(t.params, t.results), signature(params, results))
	}
	return nil
}

func equal(a, b []api.ValueType) bool { return string(a) == string(b) }

// reader reads the contents of a section. Its first failure sticks: later
// reads return zeros.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = malformed(fmt.Sprintf(format, args...))
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail("a section is cut short")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) u32() uint32 {
	v, n, ok := uleb(r.b)
	if !ok {
		r.fail("a section is cut short or holds a number of more than 32 bits")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads the length of a vector: a count no larger than the bytes
// left, since every element takes at least one.
func (r *reader) count() uint32 {
	n := r.u32()
	if uint64(n) > uint64(len(r.b)) {
		r.fail("a vector of %d elements in %d bytes", n, len(r.b))
		return 0
	}
	return n
}

func (r *reader) bytes(n uint32) []byte {
	if uint64(n) > uint64(len(r.b)) {
		r.fail("a section is cut short")
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) name() string { return string(r.bytes(r.u32())) }

// limits reads the limits of a table or a memory of 32-bit indices, shared
// or not.
func (r *reader) limits() {
	flags := r.byte()
	if flags > 3 {
		r.fail("limits of an encoding idplug does not read (%#x)", flags)
		return
	}
	r.u32()
	if flags&1 != 0 {
		r.u32()
	}
}
