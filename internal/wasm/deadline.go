package wasm

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
// reference types, SIMD); any other is refused.
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
	c := &reader{b: code}
	for len(c.b) > 0 && c.err == nil {
		op := c.byte()
		switch {
		case op == 0x03: // loop
			blockType(c)
			at := len(code) - len(c.b)
			out = append(out, code[last:at]...)
			out = append(out, check...)
			last = at
		case op == 0x02 || op == 0x04: // block, if
			blockType(c)
		case op <= 0x01, op == 0x05, op == 0x0b, op == 0x0f, op == 0x1a, op == 0x1b, op == 0xd1,
			0x45 <= op && op <= 0xc4: // no immediates
		case op == 0x0c, op == 0x0d, op == 0x10, op == 0x12, op == 0x14, op == 0x15, op == 0xd2,
			0x20 <= op && op <= 0x26, op == 0x3f, op == 0x40, op == 0x41, op == 0x42:
			leb(c)
		case op == 0x0e: // br_table
			for range c.count() + 1 {
				leb(c)
			}
		case op == 0x11, op == 0x13: // call_indirect, return_call_indirect
			leb(c)
			leb(c)
		case op == 0x1c: // select t*
			for range c.count() {
				c.byte()
			}
		case 0x28 <= op && op <= 0x3e:
			memarg(c)
		case op == 0x43:
			c.bytes(4)
		case op == 0x44:
			c.bytes(8)
		case op == 0xd0: // ref.null
			leb(c)
		case op == 0xfc:
			switch sub := c.u32(); {
			case sub <= 7:
			case sub == 8, sub == 10, sub == 12, sub == 14: // memory.init, memory.copy, table.init, table.copy
				leb(c)
				leb(c)
			case sub <= 17:
				leb(c)
			default:
				c.fail("an instruction idplug does not read (0xfc %d)", sub)
			}
		case op == 0xfd:
			simd(c)
		default:
			c.fail("an instruction idplug does not read (%#x)", op)
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	return append(out, code[last:]...), nil
}

// leb skips a number in LEB128, signed or not, of up to 64 bits.
func leb(r *reader) {
	for i := 0; i < 10; i++ {
		if r.byte()&0x80 == 0 {
			return
		}
	}
	r.fail("a number of more than 64 bits")
}

// blockType skips the type of a block, loop or if: empty, a value type, or
// a type index in signed LEB128.
func blockType(r *reader) {
	if len(r.b) > 0 && (r.b[0] == 0x40 || r.b[0] >= 0x6f && r.b[0] <= 0x7f) {
		r.byte()
		return
	}
	leb(r)
}

// memarg skips a memory instruction's alignment (whose bit 6 says a memory
// index follows) and offset.
func memarg(r *reader) {
	if align := r.u32(); align&0x40 != 0 {
		leb(r)
	}
	leb(r)
}

// simd skips the immediates of a SIMD instruction (prefix 0xfd).
func simd(r *reader) {
	switch sub := r.u32(); {
	case sub <= 11, sub == 92, sub == 93: // loads and stores
		memarg(r)
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case 21 <= sub && sub <= 34: // extract and replace lane
		r.byte()
	case 84 <= sub && sub <= 91: // load and store lane
		memarg(r)
		r.byte()
	case sub > 0x113:
		r.fail("an instruction idplug does not read (0xfd %d)", sub)
	}
}
