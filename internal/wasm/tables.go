package wasm

import "errors"

// maxTableElements bounds the elements of a module's tables, together
// (see instrument). wazero keeps table elements in the host's memory, outside the instance's
// linear memory, so MemoryLimit does not cover them: each costs the host 8
// bytes, and a table declared without a maximum could grow to 2^32 elements
// (32 GiB) at a few table.grow instructions. A Go module's only table holds
// one element per function called indirectly: a few thousand.
const maxTableElements = 1 << 20

// errTableType refuses a table whose declaration boundTableSection cannot read.
var errTableType = errors.New("declares a table of a type or with limits idplug does not support (a funcref or externref table with 32-bit limits)")

// boundTableSection rewrites the contents of a table section and returns
// the most elements its tables may hold.
func boundTableSection(b []byte) (out []byte, elements uint64, err error) {
	count, n, ok := uleb(b)
	if !ok {
		return nil, 0, errTableType
	}
	b = b[n:]
	out = appendULEB(nil, count)
	for range count {
		// reftype (funcref 0x70 or externref 0x6f), then limits: 0x00 min,
		// or 0x01 min max.
		if len(b) < 2 || (b[0] != 0x70 && b[0] != 0x6f) || b[1] > 1 {
			return nil, 0, errTableType
		}
		reftype, hasMax := b[0], b[1] == 1
		min, n, ok := uleb(b[2:])
		if !ok {
			return nil, 0, errTableType
		}
		b = b[2+n:]
		max := min
		if hasMax {
			if max, n, ok = uleb(b); !ok {
				return nil, 0, errTableType
			}
			b = b[n:]
		}
		out = append(out, reftype, 1)
		out = appendULEB(appendULEB(out, min), max)
		elements += uint64(max)
	}
	if len(b) != 0 {
		return nil, 0, errTableType
	}
	return out, elements, nil
}

// uleb decodes the unsigned LEB128 number, of 32 bits, that b starts with,
// and returns it and its length.
func uleb(b []byte) (v uint32, n int, ok bool) {
	for shift := 0; n < len(b) && n < 5; shift += 7 {
		c := b[n]
		n++
		v |= uint32(c&0x7f) << shift
		if c < 0x80 {
			return v, n, true
		}
	}
	return 0, 0, false
}

// appendULEB appends v to b in unsigned LEB128.
func appendULEB(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
