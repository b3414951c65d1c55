package modbus_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang/drivers/modbus"
)

var orders = [...]modbus.ByteOrder{modbus.ABCD, modbus.CDAB, modbus.BADC, modbus.DCBA}

// typeCases give, for each numeric type, a value with a recognisable byte
// pattern and the registers that carry it in each order, written out by
// hand from the orders' definitions rather than computed.
var typeCases = []struct {
	name string
	typ  modbus.DataType
	want float64
	raw  uint64
	regs [4][]uint16 // indexed by ByteOrder
	// inexact is set when want is raw rounded to a float64, so encoding
	// want does not give raw back.
	inexact bool
}{
	{name: "u16", typ: modbus.U16, want: 0x0102, raw: 0x0102,
		regs: [4][]uint16{{0x0102}, {0x0102}, {0x0201}, {0x0201}}},
	{name: "i16 -1", typ: modbus.I16, want: -1, raw: 0xFFFF,
		regs: [4][]uint16{{0xFFFF}, {0xFFFF}, {0xFFFF}, {0xFFFF}}},
	{name: "i16 min", typ: modbus.I16, want: math.MinInt16, raw: 0x8000,
		regs: [4][]uint16{{0x8000}, {0x8000}, {0x0080}, {0x0080}}},
	{name: "u32", typ: modbus.U32, want: 0x01020304, raw: 0x01020304,
		regs: [4][]uint16{{0x0102, 0x0304}, {0x0304, 0x0102}, {0x0201, 0x0403}, {0x0403, 0x0201}}},
	{name: "i32 -2", typ: modbus.I32, want: -2, raw: 0xFFFFFFFE,
		regs: [4][]uint16{{0xFFFF, 0xFFFE}, {0xFFFE, 0xFFFF}, {0xFFFF, 0xFEFF}, {0xFEFF, 0xFFFF}}},
	{name: "i32 min", typ: modbus.I32, want: math.MinInt32, raw: 0x80000000,
		regs: [4][]uint16{{0x8000, 0x0000}, {0x0000, 0x8000}, {0x0080, 0x0000}, {0x0000, 0x0080}}},
	{name: "u64", typ: modbus.U64, want: float64(uint64(0x0102030405060708)), raw: 0x0102030405060708, inexact: true,
		regs: [4][]uint16{
			{0x0102, 0x0304, 0x0506, 0x0708},
			{0x0708, 0x0506, 0x0304, 0x0102},
			{0x0201, 0x0403, 0x0605, 0x0807},
			{0x0807, 0x0605, 0x0403, 0x0201}}},
	{name: "u64 2^53+2", typ: modbus.U64, want: 1<<53 + 2, raw: 0x0020000000000002,
		regs: [4][]uint16{
			{0x0020, 0x0000, 0x0000, 0x0002},
			{0x0002, 0x0000, 0x0000, 0x0020},
			{0x2000, 0x0000, 0x0000, 0x0200},
			{0x0200, 0x0000, 0x0000, 0x2000}}},
	{name: "i64 min", typ: modbus.I64, want: math.MinInt64, raw: 0x8000000000000000,
		regs: [4][]uint16{
			{0x8000, 0, 0, 0},
			{0, 0, 0, 0x8000},
			{0x0080, 0, 0, 0},
			{0, 0, 0, 0x0080}}},
	{name: "i64 -0x0102", typ: modbus.I64, want: -0x0102, raw: 0xFFFFFFFFFFFFFEFE,
		regs: [4][]uint16{
			{0xFFFF, 0xFFFF, 0xFFFF, 0xFEFE},
			{0xFEFE, 0xFFFF, 0xFFFF, 0xFFFF},
			{0xFFFF, 0xFFFF, 0xFFFF, 0xFEFE},
			{0xFEFE, 0xFFFF, 0xFFFF, 0xFFFF}}},
	{name: "f32 123.456", typ: modbus.F32, want: float64(float32(123.456)), raw: 0x42F6E979,
		regs: [4][]uint16{{0x42F6, 0xE979}, {0xE979, 0x42F6}, {0xF642, 0x79E9}, {0x79E9, 0xF642}}},
	{name: "f32 -0", typ: modbus.F32, want: math.Copysign(0, -1), raw: 0x80000000,
		regs: [4][]uint16{{0x8000, 0x0000}, {0x0000, 0x8000}, {0x0080, 0x0000}, {0x0000, 0x0080}}},
	{name: "f64 pi", typ: modbus.F64, want: math.Pi, raw: 0x400921FB54442D18,
		regs: [4][]uint16{
			{0x4009, 0x21FB, 0x5444, 0x2D18},
			{0x2D18, 0x5444, 0x21FB, 0x4009},
			{0x0940, 0xFB21, 0x4454, 0x182D},
			{0x182D, 0x4454, 0xFB21, 0x0940}}},
}

// TestTypeCasesBits: each case's raw is the encoding of its want, by the
// standard library's conversions rather than the code under test.
func TestTypeCasesBits(t *testing.T) {
	for _, c := range typeCases {
		var v float64
		switch c.typ {
		case modbus.I16:
			v = float64(int16(c.raw))
		case modbus.I32:
			v = float64(int32(c.raw))
		case modbus.I64:
			v = float64(int64(c.raw))
		case modbus.F32:
			v = float64(math.Float32frombits(uint32(c.raw)))
		case modbus.F64:
			v = math.Float64frombits(c.raw)
		default:
			v = float64(c.raw)
		}
		if v != c.want || math.Signbit(v) != math.Signbit(c.want) {
			t.Errorf("%s: raw %#x is %v, the case wants %v", c.name, c.raw, v, c.want)
		}
	}
}

func TestValueEveryTypeAndOrder(t *testing.T) {
	for _, c := range typeCases {
		for _, o := range orders {
			t.Run(c.name+"/"+o.String(), func(t *testing.T) {
				p := &modbus.Point{Name: "p", Table: modbus.HoldingRegisters, Address: 10, Type: c.typ, Order: o}
				regs := c.regs[o]
				if int(p.Span()) != len(regs) {
					t.Fatalf("Span = %d, want %d", p.Span(), len(regs))
				}
				got, err := modbus.Value(p, regs)
				if err != nil {
					t.Fatalf("Value: %v", err)
				}
				if got != c.want || math.Signbit(got) != math.Signbit(c.want) {
					t.Errorf("Value = %v, want %v", got, c.want)
				}
				// Extra registers after the point's are ignored.
				if got, err := modbus.Value(p, append(slices.Clone(regs), 0xDEAD)); err != nil || got != c.want {
					t.Errorf("Value with an extra register = %v, %v", got, err)
				}
				raw, err := modbus.Raw(p, regs)
				if err != nil || raw != c.raw {
					t.Errorf("Raw = %#x, %v; want %#x", raw, err, c.raw)
				}
				if c.inexact {
					return
				}
				enc, err := modbus.Registers(p, c.want)
				if err != nil || !slices.Equal(enc, regs) {
					t.Errorf("Registers(%v) = %04x, %v; want %04x", c.want, enc, err, regs)
				}
			})
		}
	}
}

func TestValueBoolInRegister(t *testing.T) {
	cases := []struct {
		reg   uint16
		order modbus.ByteOrder
		bit   uint8
		want  float64
	}{
		{0x0001, modbus.ABCD, 0, 1},
		{0x0001, modbus.ABCD, 1, 0},
		{0x8000, modbus.ABCD, 15, 1},
		{0x8000, modbus.ABCD, 0, 0},
		{0x7FFE, modbus.ABCD, 0, 0},
		{0x7FFE, modbus.ABCD, 15, 0},
		{0x8001, modbus.CDAB, 0, 1},
		{0x8001, modbus.CDAB, 15, 1},
		// Swapped orders read the register as a swapped u16 first.
		{0x0001, modbus.BADC, 0, 0},
		{0x0001, modbus.BADC, 8, 1},
		{0x0080, modbus.DCBA, 15, 1},
		{0x0080, modbus.DCBA, 7, 0},
	}
	for _, c := range cases {
		p := &modbus.Point{Table: modbus.InputRegisters, Type: modbus.Bool, Bit: c.bit, Order: c.order, Scale: 10, Offset: 3}
		got, err := modbus.Value(p, []uint16{c.reg})
		if err != nil || got != c.want {
			t.Errorf("bit %d of %#04x %s = %v, %v; want %v", c.bit, c.reg, c.order, got, err, c.want)
		}
	}
	p := &modbus.Point{Name: "door", Table: modbus.HoldingRegisters, Address: 7, Type: modbus.Bool, Bit: 16}
	if _, err := modbus.Value(p, []uint16{0xFFFF}); err == nil || !strings.Contains(err.Error(), "bit 16") {
		t.Errorf("bit 16: %v", err)
	}
	if raw, err := modbus.Raw(&modbus.Point{Type: modbus.Bool, Bit: 3, Order: modbus.BADC}, []uint16{0x1234}); err != nil || raw != 0x3412 {
		t.Errorf("Raw of a bool = %#x, %v", raw, err)
	}
}

func TestValueScaleOffset(t *testing.T) {
	cases := []struct {
		name          string
		typ           modbus.DataType
		regs          []uint16
		scale, offset float64
		want          float64
	}{
		{"zero scale is 1", modbus.U16, []uint16{250}, 0, 0, 250},
		{"tenths", modbus.U16, []uint16{250}, 0.1, 0, 25},
		{"negative tenths", modbus.I16, []uint16{0xFE70}, 0.1, 0, -40}, // -400
		{"offset", modbus.U16, []uint16{1000}, 0.01, -40, -30},
		{"offset alone", modbus.I32, []uint16{0xFFFF, 0xFFFF}, 0, 273.15, 272.15},
		{"negative scale", modbus.U16, []uint16{3}, -2, 1, -5},
		{"f32", modbus.F32, []uint16{0x42F6, 0xE979}, 10, 0, float64(float32(123.456)) * 10},
	}
	for _, c := range cases {
		p := &modbus.Point{Type: c.typ, Scale: c.scale, Offset: c.offset}
		got, err := modbus.Value(p, c.regs)
		if err != nil || math.Abs(got-c.want) > 1e-9*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%s: Value = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

func TestRegistersScaleOffset(t *testing.T) {
	cases := []struct {
		name          string
		typ           modbus.DataType
		scale, offset float64
		v             float64
		want          []uint16
	}{
		{"tenths round down", modbus.U16, 0.1, 0, 25.04, []uint16{250}},
		{"tenths round up", modbus.U16, 0.1, 0, 25.06, []uint16{251}},
		{"half away from zero", modbus.I16, 0, 0, -2.5, []uint16{0xFFFD}},
		{"offset", modbus.I16, 0.1, -40, -30, []uint16{100}},
		{"top of u16 after scale", modbus.U16, 0.1, 0, 6553.5, []uint16{0xFFFF}},
		{"f32 scaled", modbus.F32, 0.5, 0, 3, []uint16{0x40C0, 0x0000}}, // 6.0
	}
	for _, c := range cases {
		p := &modbus.Point{Type: c.typ, Scale: c.scale, Offset: c.offset}
		got, err := modbus.Registers(p, c.v)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: Registers(%v) = %04x, %v; want %04x", c.name, c.v, got, err, c.want)
		}
	}
}

func TestBit(t *testing.T) {
	packed := []byte{0b0000_0101, 0x80}
	for i, want := range []bool{true, false, true, false, false, false, false, false,
		false, false, false, false, false, false, false, true} {
		got, err := modbus.Bit(packed, i)
		if err != nil || got != want {
			t.Errorf("Bit(%d) = %v, %v; want %v", i, got, err, want)
		}
	}
	for _, i := range []int{-1, 16, math.MaxInt} {
		if _, err := modbus.Bit(packed, i); err == nil {
			t.Errorf("Bit(%d): no error", i)
		}
	}
	if _, err := modbus.Bit(nil, 0); err == nil {
		t.Error("Bit(nil, 0): no error")
	}
}

// textRegs packs s into registers, two bytes each, high byte first.
func textRegs(s string) []uint16 {
	regs := make([]uint16, (len(s)+1)/2)
	for i := range len(s) {
		regs[i/2] |= uint16(s[i]) << (8 * (1 - i%2))
	}
	return regs
}

func TestText(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want string
	}{
		{"exact", "GAS-01", "GAS-01"},
		{"trailing NULs", "CO\x00\x00\x00\x00", "CO"},
		{"odd length", "ABC\x00", "ABC"},
		{"trailing spaces", "ppm   ", "ppm"},
		{"spaces and NULs", "LEL \x00 \x00", "LEL"},
		{"leading space kept", " A", " A"},
		{"inner space kept", "A B\x00", "A B"},
		{"empty", "\x00\x00  ", ""},
	}
	for _, c := range cases {
		for _, o := range orders {
			regs := textRegs(c.in)
			p := &modbus.Point{Table: modbus.HoldingRegisters, Type: modbus.String, Length: uint16(len(regs)), Order: o}
			got, err := modbus.Text(p, regs)
			if err != nil || got != c.want {
				t.Errorf("%s %s: Text = %q, %v; want %q", c.name, o, got, err, c.want)
			}
		}
	}
	// Length bounds what is read.
	p := &modbus.Point{Table: modbus.HoldingRegisters, Type: modbus.String, Length: 1}
	if got, err := modbus.Text(p, textRegs("ABCD")); err != nil || got != "AB" {
		t.Errorf("Length 1: %q, %v", got, err)
	}
}

func TestTextErrors(t *testing.T) {
	cases := []struct {
		name string
		p    modbus.Point
		regs []uint16
		want string // in the error
	}{
		{"non-ASCII", modbus.Point{Type: modbus.String, Length: 3}, textRegs("AB\xB0D\x00\x00"), "holding register 101 holds byte 0xb0"},
		{"control", modbus.Point{Type: modbus.String, Length: 2}, textRegs("A\x07B"), "register 100 holds byte 0x07"},
		{"NUL inside", modbus.Point{Type: modbus.String, Length: 2}, textRegs("A\x00BC"), "register 100 holds byte 0x00"},
		{"DEL", modbus.Point{Type: modbus.String, Length: 2}, textRegs("ABC\x7F"), "register 101"},
		{"too few", modbus.Point{Type: modbus.String, Length: 4}, textRegs("ABCD"), "too few registers for string: 2, need 4"},
		{"not a string", modbus.Point{Type: modbus.U16, Length: 1}, textRegs("AB"), "not text"},
		{"in coils", modbus.Point{Table: modbus.Coils, Type: modbus.String, Length: 1}, textRegs("AB"), "not text"},
	}
	for _, c := range cases {
		p := c.p
		p.Name, p.Address = "label", 100
		if p.Table == 0 {
			p.Table = modbus.HoldingRegisters
		}
		_, err := modbus.Text(&p, c.regs)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"label"`) {
			t.Errorf("%s: error %v, want one containing %q and the point's name", c.name, err, c.want)
		}
	}
}

func TestValueErrors(t *testing.T) {
	cases := []struct {
		name string
		p    modbus.Point
		regs []uint16
		want string
	}{
		{"too few u16", modbus.Point{Type: modbus.U16}, nil, "too few registers for u16: 0, need 1"},
		{"too few f32", modbus.Point{Type: modbus.F32}, []uint16{1}, "too few registers for f32: 1, need 2"},
		{"too few i64", modbus.Point{Type: modbus.I64}, []uint16{1, 2, 3}, "too few registers for i64: 3, need 4"},
		{"too few bool", modbus.Point{Type: modbus.Bool}, []uint16{}, "too few registers for bool: 0, need 1"},
		{"zero type", modbus.Point{Type: 0}, []uint16{1, 2, 3, 4}, "unknown data type type(0)"},
		{"unknown type", modbus.Point{Type: 99}, []uint16{1, 2, 3, 4}, "unknown data type type(99)"},
		{"unknown order", modbus.Point{Type: modbus.U32, Order: 4}, []uint16{1, 2}, "unknown byte order order(4)"},
		{"unknown order u16", modbus.Point{Type: modbus.U16, Order: 200}, []uint16{1}, "unknown byte order"},
		{"string", modbus.Point{Type: modbus.String, Length: 1}, []uint16{0x4142}, "decoded with Text"},
		{"coil", modbus.Point{Table: modbus.Coils, Type: modbus.Bool}, []uint16{1}, "decode them with Bit"},
		{"discrete", modbus.Point{Table: modbus.DiscreteInputs, Type: modbus.U16}, []uint16{1}, "decode them with Bit"},
		{"scaled to infinity", modbus.Point{Type: modbus.F64, Scale: 10}, []uint16{0x7FEF, 0xFFFF, 0xFFFF, 0xFFFF}, "is +Inf"},
		{"NaN scale", modbus.Point{Type: modbus.U16, Scale: math.NaN()}, []uint16{1}, "is NaN"},
		{"NaN offset", modbus.Point{Type: modbus.U16, Offset: math.NaN()}, []uint16{1}, "is NaN"},
	}
	for _, c := range cases {
		p := c.p
		p.Name, p.Address = "gas", 40
		if p.Table == 0 {
			p.Table = modbus.HoldingRegisters
		}
		_, err := modbus.Value(&p, c.regs)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), `point "gas" at `+p.Table.String()+" 40: ") {
			t.Errorf("%s: error %v, want one naming the point and containing %q", c.name, err, c.want)
		}
		if errors.Is(err, modbus.ErrNotFinite) {
			t.Errorf("%s: %v is ErrNotFinite", c.name, err)
		}
	}
}

func TestValueNotFinite(t *testing.T) {
	cases := []struct {
		name string
		typ  modbus.DataType
		regs []uint16
		want string
	}{
		{"f32 NaN", modbus.F32, []uint16{0x7FC0, 0x0000}, "f32 0x7fc00000 is NaN"},
		{"f32 signalling NaN", modbus.F32, []uint16{0xFF80, 0x0001}, "f32 0xff800001 is NaN"},
		{"f32 +Inf", modbus.F32, []uint16{0x7F80, 0x0000}, "is +Inf"},
		{"f32 -Inf", modbus.F32, []uint16{0xFF80, 0x0000}, "is -Inf"},
		{"f64 NaN", modbus.F64, []uint16{0x7FF8, 0, 0, 0}, "f64 0x7ff8000000000000 is NaN"},
		{"f64 -Inf", modbus.F64, []uint16{0xFFF0, 0, 0, 0}, "is -Inf"},
	}
	for _, c := range cases {
		p := &modbus.Point{Name: "co", Table: modbus.InputRegisters, Address: 3, Type: c.typ, Scale: 2}
		_, err := modbus.Value(p, c.regs)
		if !errors.Is(err, modbus.ErrNotFinite) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "fault") {
			t.Errorf("%s: %v", c.name, err)
		}
		// modbus.Raw still shows the installer what the detector sent.
		if _, err := modbus.Raw(p, c.regs); err != nil {
			t.Errorf("%s: Raw: %v", c.name, err)
		}
	}
}

func TestRegistersErrors(t *testing.T) {
	cases := []struct {
		name string
		p    modbus.Point
		v    float64
		want string
	}{
		{"u16 over", modbus.Point{Type: modbus.U16}, 65536, "out of range for u16"},
		{"u16 rounds over", modbus.Point{Type: modbus.U16}, 65535.5, "raw 65536 is out of range"},
		{"u16 negative", modbus.Point{Type: modbus.U16}, -1, "out of range for u16"},
		{"u16 scaled over", modbus.Point{Type: modbus.U16, Scale: 0.1}, 6553.6, "out of range for u16"},
		{"u16 offset under", modbus.Point{Type: modbus.U16, Offset: 10}, 9, "out of range for u16"},
		{"i16 over", modbus.Point{Type: modbus.I16}, 32768, "out of range for i16"},
		{"i16 under", modbus.Point{Type: modbus.I16}, -32769, "out of range for i16"},
		{"u32 over", modbus.Point{Type: modbus.U32}, 1 << 32, "out of range for u32"},
		{"i32 under", modbus.Point{Type: modbus.I32}, -1<<31 - 1, "out of range for i32"},
		{"u64 2^64", modbus.Point{Type: modbus.U64}, 1 << 64, "out of range for u64"},
		{"i64 2^63", modbus.Point{Type: modbus.I64}, 1 << 63, "out of range for i64"},
		{"f32 over", modbus.Point{Type: modbus.F32}, 1e39, "out of range for f32"},
		{"f32 scaled over", modbus.Point{Type: modbus.F32, Scale: 1e-10}, 1e30, "out of range for f32"},
		{"NaN", modbus.Point{Type: modbus.F64}, math.NaN(), "cannot write NaN"},
		{"+Inf", modbus.Point{Type: modbus.I32}, math.Inf(1), "cannot write +Inf"},
		{"scaled to Inf", modbus.Point{Type: modbus.F64, Scale: 1e-300}, 1e300, "raw +Inf"},
		// 1.69593691968143e+306 * 106 rounds up past MaxFloat64.
		{"reads back as Inf", modbus.Point{Type: modbus.F64, Scale: 106}, math.MaxFloat64, "reads back as +Inf"},
		{"bool", modbus.Point{Type: modbus.Bool}, 1, "bool points are not written"},
		{"string", modbus.Point{Type: modbus.String, Length: 2}, 1, "string points are not written"},
		{"coil", modbus.Point{Table: modbus.Coils, Type: modbus.U16}, 1, "function 5 or 15"},
		{"unknown type", modbus.Point{Type: 42}, 1, "unknown data type"},
		{"unknown order", modbus.Point{Type: modbus.U16, Order: 9}, 1, "unknown byte order"},
	}
	for _, c := range cases {
		p := c.p
		p.Name, p.Address = "setpoint", 200
		if p.Table == 0 {
			p.Table = modbus.HoldingRegisters
		}
		regs, err := modbus.Registers(&p, c.v)
		if err == nil || regs != nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"setpoint"`) {
			t.Errorf("%s: Registers = %04x, %v; want an error containing %q", c.name, regs, err, c.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	values := map[modbus.DataType][]float64{
		modbus.U16: {0, 1, 0x1234, math.MaxUint16},
		modbus.I16: {math.MinInt16, -1, 0, 1, math.MaxInt16},
		modbus.U32: {0, 0x01020304, math.MaxUint32},
		modbus.I32: {math.MinInt32, -123456, 0, math.MaxInt32},
		modbus.U64: {0, 1 << 53, 1<<64 - 2048}, // the largest float64 below 2^64
		modbus.I64: {math.MinInt64, -1, 1 << 62, 1<<63 - 1024},
		modbus.F32: {0, -1.5, float64(float32(123.456)), math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32},
		modbus.F64: {math.Pi, -math.MaxFloat64, math.SmallestNonzeroFloat64, 1e-300, math.Copysign(0, -1)},
	}
	scales := []struct{ scale, offset float64 }{{0, 0}, {1, 0}, {0.5, 0}, {0.5, -40}, {-4, 2}}
	for typ, vs := range values {
		for _, o := range orders {
			for _, s := range scales {
				p := &modbus.Point{Table: modbus.HoldingRegisters, Type: typ, Order: o, Scale: s.scale, Offset: s.offset}
				for _, raw := range vs {
					if (s.scale != 0 && s.scale != 1) || s.offset != 0 {
						// Keep raw*scale+offset exact and in range.
						if math.Abs(raw) > 1<<40 || raw != math.Trunc(raw) {
							continue
						}
						if (typ == modbus.U16 || typ == modbus.U32 || typ == modbus.U64) && s.scale < 0 && raw != 0 {
							continue
						}
					}
					v := raw
					if s.scale != 0 {
						v = v*s.scale + s.offset
					}
					regs, err := modbus.Registers(p, v)
					if err != nil {
						t.Errorf("%s %s scale %v offset %v: Registers(%v): %v", typ, o, s.scale, s.offset, v, err)
						continue
					}
					if len(regs) != int(p.Span()) {
						t.Errorf("%s: %d registers, want %d", typ, len(regs), p.Span())
					}
					got, err := modbus.Value(p, regs)
					if err != nil || got != v || math.Signbit(got) != math.Signbit(v) {
						t.Errorf("%s %s scale %v offset %v: Value(Registers(%v)) = %v, %v", typ, o, s.scale, s.offset, v, got, err)
					}
				}
			}
		}
	}
}

func TestDecodeDoesNotAllocate(t *testing.T) {
	regs := []uint16{0x4009, 0x21FB, 0x5444, 0x2D18}
	packed := []byte{0x55}
	p := &modbus.Point{Name: "x", Table: modbus.HoldingRegisters, Type: modbus.F64, Order: modbus.CDAB, Scale: 2, Offset: 1}
	var sink float64
	if n := testing.AllocsPerRun(100, func() {
		for _, typ := range []modbus.DataType{modbus.Bool, modbus.U16, modbus.I16, modbus.U32, modbus.I32, modbus.U64, modbus.I64, modbus.F32, modbus.F64} {
			p.Type = typ
			v, _ := modbus.Value(p, regs)
			r, _ := modbus.Raw(p, regs)
			b, _ := modbus.Bit(packed, 3)
			sink += v + float64(r)
			if b {
				sink++
			}
		}
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
	_ = sink
}

func BenchmarkValue(b *testing.B) {
	regs := []uint16{0x42F6, 0xE979}
	p := &modbus.Point{Type: modbus.F32, Order: modbus.CDAB, Scale: 0.1}
	for b.Loop() {
		if _, err := modbus.Value(p, regs); err != nil {
			b.Fatal(err)
		}
	}
}
