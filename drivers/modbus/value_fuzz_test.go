package modbus_test

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang/drivers/modbus"
)

// fuzzRegs reads data as big-endian registers, as they come off the wire;
// an odd last byte is dropped.
func fuzzRegs(data []byte) []uint16 {
	regs := make([]uint16, len(data)/2)
	for i := range regs {
		regs[i] = binary.BigEndian.Uint16(data[2*i:])
	}
	return regs
}

// FuzzValue decodes random registers as random points. Value, Raw and
// Registers never panic; Value's results are finite; Raw and Value agree on
// unscaled integer points; and encoding an unscaled value gives back the
// registers it came from.
func FuzzValue(f *testing.F) {
	f.Add(uint8(modbus.HoldingRegisters), uint8(modbus.F32), uint8(modbus.CDAB), uint8(0), 0.0, 0.0, 1.5, []byte{0xE9, 0x79, 0x42, 0xF6})
	f.Add(uint8(modbus.InputRegisters), uint8(modbus.F32), uint8(modbus.ABCD), uint8(0), 0.1, -40.0, 0.0, []byte{0x7F, 0xC0, 0, 0})
	f.Add(uint8(modbus.HoldingRegisters), uint8(modbus.I64), uint8(modbus.DCBA), uint8(0), 1.0, 0.0, -1e18, []byte{0, 0x80, 0, 0, 0, 0, 0, 0})
	f.Add(uint8(modbus.HoldingRegisters), uint8(modbus.U64), uint8(modbus.BADC), uint8(0), 0.0, 0.0, 1e19, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(uint8(modbus.HoldingRegisters), uint8(modbus.F64), uint8(modbus.ABCD), uint8(0), 10.0, 0.0, math.MaxFloat64, []byte{0x7F, 0xEF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Add(uint8(modbus.InputRegisters), uint8(modbus.Bool), uint8(modbus.BADC), uint8(15), 0.0, 0.0, 1.0, []byte{0x00, 0x80})
	f.Add(uint8(modbus.Coils), uint8(modbus.Bool), uint8(modbus.ABCD), uint8(0), 0.0, 0.0, 1.0, []byte{1})
	f.Add(uint8(modbus.HoldingRegisters), uint8(modbus.I16), uint8(7), uint8(0), 0.0, 0.0, 65535.0, []byte{0xFF, 0xFF})
	f.Add(uint8(modbus.HoldingRegisters), uint8(modbus.String), uint8(modbus.ABCD), uint8(0), 0.0, 0.0, 0.0, []byte("AB"))
	f.Fuzz(func(t *testing.T, table, typ, order, bit uint8, scale, offset, w float64, data []byte) {
		regs := fuzzRegs(data)
		p := &modbus.Point{
			Name:   "fuzz",
			Table:  modbus.Table(table % 6),
			Type:   modbus.DataType(typ % 12),
			Order:  modbus.ByteOrder(order % 6),
			Bit:    bit % 20,
			Length: uint16(len(regs)),
			Scale:  scale,
			Offset: offset,
		}
		v, err := modbus.Value(p, regs)
		if err == nil {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("Value = %v", v)
			}
			if len(regs) < int(p.Span()) {
				t.Fatalf("Value = %v from %d registers, Span %d", v, len(regs), p.Span())
			}
		}
		raw, rawErr := modbus.Raw(p, regs)
		if rawErr == nil && p.Type.Words() > 0 && raw>>(16*p.Type.Words()) != 0 {
			t.Fatalf("Raw = %#x is wider than %s", raw, p.Type)
		}
		if err == nil && rawErr != nil {
			t.Fatalf("Value = %v but Raw: %v", v, rawErr)
		}

		unscaled := (p.Scale == 0 || p.Scale == 1) && p.Offset == 0
		if unscaled {
			var want float64
			integer := true
			switch p.Type {
			case modbus.Bool:
				want = float64(raw >> p.Bit & 1)
			case modbus.U16, modbus.U32, modbus.U64:
				want = float64(raw)
			case modbus.I16:
				want = float64(int16(raw))
			case modbus.I32:
				want = float64(int32(raw))
			case modbus.I64:
				want = float64(int64(raw))
			default:
				integer = false
			}
			if integer && p.Type != modbus.Bool && (err == nil) != (rawErr == nil) {
				t.Fatalf("Value err %v, Raw err %v", err, rawErr)
			}
			if integer && err == nil && v != want {
				t.Fatalf("Value = %v, Raw = %#x (%v)", v, raw, want)
			}
		}

		// Encoding the decoded value gives the registers back when the
		// value is exact in a float64.
		if err == nil && unscaled && p.Type != modbus.Bool && (p.Type == modbus.F32 || p.Type == modbus.F64 || math.Abs(v) <= 1<<53) {
			enc, encErr := modbus.Registers(p, v)
			if encErr != nil || !slices.Equal(enc, regs[:p.Span()]) {
				t.Fatalf("Registers(Value(%04x) = %v) = %04x, %v", regs[:p.Span()], v, enc, encErr)
			}
		}

		// Registers of any value never panics; what it encodes decodes
		// to a finite value, and unscaled to w rounded to the type.
		enc, encErr := modbus.Registers(p, w)
		if encErr != nil {
			return
		}
		if len(enc) != int(p.Type.Words()) {
			t.Fatalf("Registers(%v) = %04x for %s", w, enc, p.Type)
		}
		got, err := modbus.Value(p, enc)
		if err != nil {
			t.Fatalf("Value(Registers(%v) = %04x): %v", w, enc, err)
		}
		if !unscaled {
			return
		}
		want := math.Round(w)
		switch p.Type {
		case modbus.F32:
			want = float64(float32(w))
		case modbus.F64:
			want = w
		case modbus.U64, modbus.I64:
			if math.Abs(w) > 1<<53 {
				return // the integer rounds again on the way back
			}
		}
		if got != want {
			t.Fatalf("Value(Registers(%v) = %04x) = %v, want %v", w, enc, got, want)
		}
	})
}

// FuzzText decodes random registers as text: it never panics, and what it
// returns is the printable start of the registers' bytes, with only NULs
// and spaces after it.
func FuzzText(f *testing.F) {
	f.Add(uint16(3), []byte("GAS-01"))
	f.Add(uint16(4), []byte("CO\x00\x00  \x00\x00"))
	f.Add(uint16(2), []byte("A\x00B\x00"))
	f.Add(uint16(2), []byte{'A', 0xB0, 'C', 'D'})
	f.Add(uint16(5), []byte("AB"))
	f.Add(uint16(0), []byte{})
	f.Fuzz(func(t *testing.T, length uint16, data []byte) {
		regs := fuzzRegs(data)
		p := &modbus.Point{Name: "label", Table: modbus.HoldingRegisters, Address: 65500, Type: modbus.String, Length: length % 200}
		s, err := modbus.Text(p, regs)
		if err != nil {
			if len(regs) >= int(p.Length) && !strings.Contains(err.Error(), "register") {
				t.Fatalf("error does not name the register: %v", err)
			}
			return
		}
		n := 2 * int(p.Length)
		if len(regs) < int(p.Length) {
			t.Fatalf("Text = %q from %d registers, Length %d", s, len(regs), p.Length)
		}
		bytes := data[:n]
		if !strings.HasPrefix(string(bytes), s) {
			t.Fatalf("Text = %q, not a prefix of %q", s, bytes)
		}
		for i := range len(s) {
			if c := s[i]; c < 0x20 || c > 0x7E {
				t.Fatalf("Text = %q holds %#02x", s, c)
			}
		}
		if strings.HasSuffix(s, " ") {
			t.Fatalf("Text = %q ends in a space", s)
		}
		if strings.Trim(string(bytes[len(s):]), "\x00 ") != "" {
			t.Fatalf("Text = %q drops %q", s, bytes[len(s):])
		}
	})
}
