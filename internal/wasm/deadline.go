package wasm

import "fmt"

// A call's deadline stops a plugin that runs on: the host sets a global of
// the instance, which the plugin reads at the top of every loop, and traps
// once it is set. (wazero's own way, WithCloseOnContextDone, leaves the
// compiled code for Go at every loop iteration to look at the context, and
// doubled the time of a Go plugin's hook call.) Code without loops ends by
// itself: calls without end run out of the stack that instrument bounds.

// stopExport is the export, added by instrument, of the global that the
// host sets to stop a call.
const stopExport = "idplug:stop"

// stopCheck is the code instrument puts at the top of every loop: if the
// global stop is set, trap.
func stopCheck(stop uint32) []byte {
	c := appendULEB([]byte{0x23}, stop) // global.get
	return append(c, 0x04, 0x40, 0x00, 0x0b)
}

// checkLoops returns the function body body (its locals, then its
// instructions) with check inserted at the top of every loop. It reads
// every instruction of the core specification and of the extensions
// wazero compiles (sign extension, saturating conversions, bulk memory,
// reference types, SIMD); any other is refused. (It runs over every byte of
// a plugin's code at each load, so it indexes the code directly.)
func checkLoops(body, check []byte) ([]byte, error) {
	r := &reader{b: body}
	for range r.count() {
		r.u32()
		r.byte()
	}
	if r.err != nil {
		return nil, r.err
	}
	code := r.b
	out := make([]byte, 0, len(body)+64)
	out = append(out, body[:len(body)-len(code)]...)
	last := 0
	i := 0
	for i < len(code) {
		op := code[i]
		i++
		switch {
		case op == 0x03: // loop
			i = blockType(code, i)
			if i > len(code) {
				break
			}
			out = append(out, code[last:i]...)
			out = append(out, check...)
			last = i
		case op == 0x02 || op == 0x04: // block, if
			i = blockType(code, i)
		case op <= 0x01, op == 0x05, op == 0x0b, op == 0x0f, op == 0x1a, op == 0x1b, op == 0xd1,
			0x45 <= op && op <= 0xc4: // no immediates
		case op == 0x0c, op == 0x0d, op == 0x10, op == 0x12, op == 0x14, op == 0x15, op == 0xd2, op == 0xd0,
			0x20 <= op && op <= 0x26, op == 0x3f, op == 0x40, op == 0x41, op == 0x42:
			i = leb(code, i)
		case op == 0x0e: // br_table
			var n uint32
			n, i = u32At(code, i)
			for range uint64(n) + 1 {
				if i = leb(code, i); i > len(code) {
					break
				}
			}
		case op == 0x11, op == 0x13: // call_indirect, return_call_indirect
			i = leb(code, leb(code, i))
		case op == 0x1c: // select t*
			var n uint32
			n, i = u32At(code, i)
			i += int(min(n, uint32(len(code))))
		case 0x28 <= op && op <= 0x3e:
			i = memarg(code, i)
		case op == 0x43:
			i += 4
		case op == 0x44:
			i += 8
		case op == 0xfc:
			var sub uint32
			switch sub, i = u32At(code, i); {
			case sub <= 7:
			case sub == 8, sub == 10, sub == 12, sub == 14: // memory.init, memory.copy, table.init, table.copy
				i = leb(code, leb(code, i))
			case sub <= 17:
				i = leb(code, i)
			default:
				return nil, malformed(fmt.Sprintf("an instruction idplug does not read (0xfc %d)", sub))
			}
		case op == 0xfd:
			var sub uint32
			switch sub, i = u32At(code, i); {
			case sub <= 11, sub == 92, sub == 93: // loads and stores
				i = memarg(code, i)
			case sub == 12, sub == 13: // v128.const, i8x16.shuffle
				i += 16
			case 21 <= sub && sub <= 34: // extract and replace lane
				i++
			case 84 <= sub && sub <= 91: // load and store lane
				i = memarg(code, i) + 1
			case sub > 0x113:
				return nil, malformed(fmt.Sprintf("an instruction idplug does not read (0xfd %d)", sub))
			}
		default:
			return nil, malformed(fmt.Sprintf("an instruction idplug does not read (%#x)", op))
		}
	}
	if i != len(code) {
		return nil, malformed("a function's code is cut short")
	}
	return append(out, code[last:]...), nil
}

// The skippers take the code and the index of an immediate and return the
// index past it, past the end of code when it is cut short.

// leb skips a number in LEB128, signed or not, of up to 64 bits.
func leb(code []byte, i int) int {
	for end := min(i+10, len(code)); i < end; i++ {
		if code[i]&0x80 == 0 {
			return i + 1
		}
	}
	return len(code) + 1
}

// u32At reads an unsigned LEB128 number of up to 32 bits.
func u32At(code []byte, i int) (uint32, int) {
	if i > len(code) {
		return 0, i
	}
	v, n, ok := uleb(code[i:])
	if !ok {
		return 0, len(code) + 1
	}
	return v, i + n
}

// blockType skips the type of a block, loop or if: empty, a value type, or
// a type index in signed LEB128.
func blockType(code []byte, i int) int {
	if i < len(code) && (code[i] == 0x40 || code[i] >= 0x6f && code[i] <= 0x7f) {
		return i + 1
	}
	return leb(code, i)
}

// memarg skips a memory instruction's alignment (whose bit 6 says a memory
// index follows) and offset.
func memarg(code []byte, i int) int {
	align, i := u32At(code, i)
	if align&0x40 != 0 {
		i = leb(code, i)
	}
	return leb(code, i)
}
