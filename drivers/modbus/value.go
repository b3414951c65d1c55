package modbus

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"
)

// Decoding and encoding of point values: pure functions of a Point and the
// registers (or packed bits) of a read response, with no I/O. The numeric
// paths (Value, Raw, Bit) do not allocate unless they return an error.

// ErrNotFinite is wrapped by Value's error when an f32 or f64 point holds
// NaN or an infinity. Many detectors send NaN to report a sensor fault, so
// a caller may want to raise a fault here rather than a read error.
var ErrNotFinite = errors.New("not a finite number")

// Value decodes p from regs, the registers read starting at p.Address
// (len(regs) >= p.Span(); extra registers are ignored), applying Order,
// then Scale (0 means 1) and Offset. Bool points in register tables read
// bit p.Bit of the register (after Order, like a u16) and are 1 or 0,
// unscaled. A u64 or i64 beyond ±2^53 loses precision; Raw has it exact.
//
// It returns an error for too few registers, an unknown type or order, a
// String point (use Text), a coil or discrete input (use Bit), a Bool Bit
// above 15, a NaN or infinite float (wrapping ErrNotFinite), and a result
// that Scale and Offset make infinite or NaN.
func Value(p *Point, regs []uint16) (float64, error) {
	u, err := Raw(p, regs)
	if err != nil {
		return 0, err
	}
	if p.Type == Bool {
		if p.Bit > 15 {
			return 0, p.errorf("bit %d is beyond a 16-bit register", p.Bit)
		}
		return float64(u >> p.Bit & 1), nil
	}
	raw := number(p.Type, u)
	if !finite(raw) {
		return 0, p.errorf("%s 0x%0*x is %v, %w (detectors often send NaN to report a fault)", p.Type, 4*p.Type.Words(), u, raw, ErrNotFinite)
	}
	v := scaled(p, raw)
	if !finite(v) {
		return 0, p.errorf("%v with scale %v and offset %v is %v", raw, p.Scale, p.Offset, v)
	}
	return v, nil
}

// Raw returns the point's undecoded integer as a uint64 after applying Order:
// the value's bits, zero-extended (an i16 of -1 is 0xFFFF, an f32 is its
// IEEE bits), and the whole register for a Bool in a register table.
// Errors are those of Value that do not depend on the value itself.
func Raw(p *Point, regs []uint16) (uint64, error) {
	n, err := words(p)
	if err != nil {
		return 0, err
	}
	if len(regs) < int(n) {
		return 0, p.errorf("too few registers for %s: %d, need %d", p.Type, len(regs), n)
	}
	return load(regs[:n], p.Order), nil
}

// Bit decodes a coil or discrete input from the packed bits of a read
// response (LSB first within each byte, as Modbus sends them) at offset i,
// the bit's address minus the read's first address. It returns an error
// when i is outside packed.
func Bit(packed []byte, i int) (bool, error) {
	if i < 0 || i>>3 >= len(packed) {
		return false, fmt.Errorf("bit %d is outside the %d bits of the response", i, 8*len(packed))
	}
	return packed[i>>3]>>(i&7)&1 == 1, nil
}

// Text decodes a String point: two ASCII characters per register, high
// byte first whatever the Order, trailing NULs and spaces trimmed. It
// returns an error for a point that is not a String in a register table,
// too few registers, and a byte left after trimming that is not printable
// ASCII (a control byte, including a NUL before the text ends, or a byte
// above 0x7E), naming the register that holds it.
func Text(p *Point, regs []uint16) (string, error) {
	if p.Table.Bits() || p.Type != String {
		return "", p.errorf("a %s %s point is not text", p.Table, p.Type)
	}
	n := int(p.Length)
	if len(regs) < n {
		return "", p.errorf("too few registers for string: %d, need %d", len(regs), n)
	}
	regs = regs[:n]
	end := 2 * n
	for end > 0 {
		if c := textByte(regs, end-1); c != 0 && c != ' ' {
			break
		}
		end--
	}
	for k := range end {
		if c := textByte(regs, k); c < 0x20 || c > 0x7E {
			return "", p.errorf("%s register %d holds byte %#02x, not printable ASCII", p.Table, int(p.Address)+k/2, c)
		}
	}
	var b strings.Builder
	b.Grow(end)
	for k := range end {
		b.WriteByte(textByte(regs, k))
	}
	return b.String(), nil
}

// Registers encodes v for writing p (function 6/16): the inverse of Value.
// It undoes Offset and Scale (0 means 1), rounds to the nearest integer
// (halves away from zero) for integer types, and returns p.Type.Words()
// registers in p.Order. It returns an error when v is NaN or infinite, when
// the result is out of the type's range (for f32, beyond ±MaxFloat32; a
// finite f32 or f64 is otherwise rounded to the type's precision), for an
// unknown type or order, and for Bool and String points and coils and
// discrete inputs, which have their own writes. It does not check that the
// table is writable: a simulator may encode input registers with it.
func Registers(p *Point, v float64) ([]uint16, error) {
	if p.Type == Bool || p.Type == String {
		return nil, p.errorf("%s points are not written as a number", p.Type)
	}
	n, err := words(p)
	if err != nil {
		return nil, err
	}
	x := v
	if p.Offset != 0 {
		x -= p.Offset
	}
	if s := p.Scale; s != 0 && s != 1 {
		x /= s
	}
	if !finite(x) {
		return nil, p.errorf("cannot write %v with scale %v and offset %v: raw %v", v, p.Scale, p.Offset, x)
	}
	var u uint64
	switch p.Type {
	case F32:
		if math.Abs(x) > math.MaxFloat32 {
			return nil, p.errorf("cannot write %v: raw %v is out of range for f32", v, x)
		}
		u = uint64(math.Float32bits(float32(x)))
	case F64:
		u = math.Float64bits(x)
	default:
		r := math.Round(x)
		lo, hi := intRange(p.Type)
		if r < lo || r >= hi {
			return nil, p.errorf("cannot write %v: raw %v is out of range for %s [%v, %v]", v, r, p.Type, lo, hi-1)
		}
		if r < 0 {
			u = uint64(int64(r)) & (math.MaxUint64 >> (64 - 16*n))
		} else {
			u = uint64(r)
		}
	}
	// Rounding can leave a value near the limits that reads back as
	// infinite; refuse it rather than write what Value would reject.
	if back := scaled(p, number(p.Type, u)); !finite(back) {
		return nil, p.errorf("cannot write %v: raw %v reads back as %v", v, x, back)
	}
	regs := make([]uint16, n)
	store(regs, u, p.Order)
	return regs, nil
}

// number is the unscaled value of the raw bits u of a numeric type.
func number(d DataType, u uint64) float64 {
	switch d {
	case I16:
		return float64(int16(u))
	case I32:
		return float64(int32(u))
	case I64:
		return float64(int64(u))
	case F32:
		return float64(math.Float32frombits(uint32(u)))
	case F64:
		return math.Float64frombits(u)
	}
	return float64(u) // U16, U32, U64
}

// scaled applies p's Scale (0 means 1) and Offset to v.
func scaled(p *Point, v float64) float64 {
	if s := p.Scale; s != 0 && s != 1 {
		v *= s
	}
	// Adding a zero offset would turn -0 into +0; skip it.
	if p.Offset != 0 {
		v += p.Offset
	}
	return v
}

// words is how many registers Raw reads for p, or an error when p is not a
// number in a register table.
func words(p *Point) (uint16, error) {
	if p.Table.Bits() {
		return 0, p.errorf("%s points are bits: decode them with Bit and write them with function 5 or 15", p.Table)
	}
	var n uint16
	switch p.Type {
	case Bool:
		n = 1
	case String:
		return 0, p.errorf("string points are decoded with Text")
	default:
		n = p.Type.Words()
		if n == 0 {
			return 0, p.errorf("unknown data type %s", p.Type)
		}
	}
	if p.Order > DCBA {
		return 0, p.errorf("unknown byte order %s", p.Order)
	}
	return n, nil
}

// load reads the len(regs) registers as one big-endian integer, undoing
// o: CDAB and DCBA reverse the order of the words, BADC and DCBA swap the
// bytes in each word.
func load(regs []uint16, o ByteOrder) uint64 {
	swap := o == BADC || o == DCBA
	reverse := o == CDAB || o == DCBA
	n := len(regs)
	var u uint64
	for i := range n {
		j := i
		if reverse {
			j = n - 1 - i
		}
		w := regs[j]
		if swap {
			w = bits.ReverseBytes16(w)
		}
		u = u<<16 | uint64(w)
	}
	return u
}

// store is the inverse of load: it writes the low 16*len(regs) bits of u
// into regs in order o.
func store(regs []uint16, u uint64, o ByteOrder) {
	swap := o == BADC || o == DCBA
	reverse := o == CDAB || o == DCBA
	n := len(regs)
	for i := range n {
		w := uint16(u >> (16 * (n - 1 - i)))
		if swap {
			w = bits.ReverseBytes16(w)
		}
		j := i
		if reverse {
			j = n - 1 - i
		}
		regs[j] = w
	}
}

// intRange is the range [lo, hi) of an integer type's raw values; both
// bounds are exact in a float64.
func intRange(d DataType) (lo, hi float64) {
	switch d {
	case U16:
		return 0, 1 << 16
	case I16:
		return -1 << 15, 1 << 15
	case U32:
		return 0, 1 << 32
	case I32:
		return -1 << 31, 1 << 31
	case U64:
		return 0, 1 << 64
	}
	return -1 << 63, 1 << 63 // I64
}

// textByte is byte k of a string's registers, high byte first.
func textByte(regs []uint16, k int) byte {
	return byte(regs[k>>1] >> (8 * (1 - k&1)))
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
