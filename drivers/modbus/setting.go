package modbus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Settings on the device: what `shouwang device apply` writes and `shouwang
// modbus read` shows. A value is checked against the setting's range and
// encoded before anything is sent, written with the function its register
// needs, and read back, so a device that refuses or ignores a value is
// caught while the installer is still on site, not in an alarm months later.

// ErrNotTaken is wrapped by VerifySetting's error when the device answers
// the read-back but holds something other than what was written.
var ErrNotTaken = errors.New("the device did not take it")

// ReadWriter is what writing a setting needs of a Modbus client (goburrow's
// modbus.Client has it): the reads, and the writes of one coil (function
// 5), one register (6) and several registers (16).
type ReadWriter interface {
	Reader
	WriteSingleCoil(address, value uint16) ([]byte, error)
	WriteSingleRegister(address, value uint16) ([]byte, error)
	WriteMultipleRegisters(address, quantity uint16, value []byte) ([]byte, error)
}

// ReadPoint reads exactly p's entries in one request, for the installer's
// tools (a poll coalesces points instead): the registers as the device sent
// them, before Order is applied, or for a coil or discrete input a single
// entry, 1 or 0. Errors name the table, address and count read and wrap
// the client's (a *modbus.ModbusError for an exception reply, a timeout).
func ReadPoint(r Reader, p *Point) ([]uint16, error) {
	n := p.Span()
	if n == 0 {
		return nil, p.errorf("covers no entries (type %s, length %d)", p.Type, p.Length)
	}
	data, err := read(r, Request{Table: p.Table, Start: p.Address, Count: n})
	if err != nil {
		return nil, fmt.Errorf("read %s %d+%d: %w", p.Table, p.Address, n, err)
	}
	if p.Table.Bits() {
		on, err := Bit(data, 0)
		if err != nil {
			return nil, fmt.Errorf("read %s %d: %w", p.Table, p.Address, err)
		}
		if on {
			return []uint16{1}, nil
		}
		return []uint16{0}, nil
	}
	if len(data) < 2*int(n) {
		return nil, fmt.Errorf("read %s %d+%d: %d bytes in the answer, want %d", p.Table, p.Address, n, len(data), 2*n)
	}
	regs := make([]uint16, n)
	for i := range regs {
		regs[i] = binary.BigEndian.Uint16(data[2*i:])
	}
	return regs, nil
}

// Encode checks v against the setting's range (Check) and returns what a
// write sends: the registers of a number, or 1 or 0 for a coil or a bit of
// a register; and stored, the value the device then holds, which differs
// from v when v falls between two steps of the register's scale. It
// returns an error for a value out of range or that the type cannot hold,
// a Bool setting given anything but 0 or 1, a slave_id setting given
// anything but a whole number from 1 to 247, and a String setting, which
// is not written as a number.
func (s *Setting) Encode(v float64) (regs []uint16, stored float64, err error) {
	if err := s.Check(v); err != nil {
		return nil, 0, err
	}
	if s.Role == RoleSlaveID && (v != math.Trunc(v) || v < 1 || v > 247) {
		return nil, 0, fmt.Errorf("%s: %v is not a slave address (valid: 1 to 247)", s.Name, v)
	}
	switch s.Type {
	case String:
		return nil, 0, fmt.Errorf("%s: a string setting is not written as a number", s.Name)
	case Bool:
		if v != 0 && v != 1 {
			return nil, 0, fmt.Errorf("%s: %v is not 0 or 1 (the setting is one bit: %s %d)", s.Name, v, s.Table, s.Address)
		}
		return []uint16{uint16(v)}, v, nil
	}
	p := s.Point(s.Name, s.Unit)
	regs, err = Registers(&p, v)
	if err != nil {
		return nil, 0, err
	}
	stored, err = Value(&p, regs)
	return regs, stored, err
}

// ReadSetting reads the setting's current value: the value, and the
// registers as the device sent them (for a coil, one entry, 1 or 0). A
// register that reads but does not decode (a NaN float) is returned with
// the error. String settings are refused: read them with ReadPoint and
// Text.
func ReadSetting(r Reader, s *Setting) (float64, []uint16, error) {
	if s.Type == String {
		return 0, nil, fmt.Errorf("setting %s: a string is read with ReadPoint and Text", s.Name)
	}
	p := s.Point(s.Name, s.Unit)
	regs, err := ReadPoint(r, &p)
	if err != nil {
		return 0, nil, fmt.Errorf("setting %s: %w", s.Name, err)
	}
	if p.Table.Bits() {
		return float64(regs[0]), regs, nil
	}
	v, err := Value(&p, regs)
	if err != nil {
		return 0, regs, fmt.Errorf("setting %s: %w", s.Name, err)
	}
	return v, regs, nil
}

// WriteSetting encodes v (Encode, so a value out of range is refused
// before anything is sent) and writes it: function 5 for a coil, 6 for
// one register, 16 for several. A Bool setting in a holding register is
// one bit of it: the register is read, the bit changed and the register
// written back with function 6 (the device's other bits are kept as they
// were read). It does not read the value back: VerifySetting does. Errors
// name the setting, the register and the function, and wrap the client's.
func WriteSetting(c ReadWriter, s *Setting, v float64) error {
	regs, _, err := s.Encode(v)
	if err != nil {
		return err
	}
	var fc byte
	switch {
	case s.Table == Coils:
		fc = 5
		on := uint16(0)
		if regs[0] == 1 {
			on = 0xFF00
		}
		_, err = c.WriteSingleCoil(s.Address, on)
	case s.Table.Bits():
		return fmt.Errorf("setting %s: %s %d is read-only", s.Name, s.Table, s.Address)
	case s.Type == Bool:
		fc = 6
		word := Point{Name: s.Name, Table: s.Table, Address: s.Address, Type: U16, Order: s.Order}
		var cur []uint16
		if cur, err = ReadPoint(c, &word); err != nil {
			return fmt.Errorf("setting %s: read %s %d to change bit %d: %w", s.Name, s.Table, s.Address, s.Bit, err)
		}
		u := load(cur, s.Order) &^ (1 << s.Bit)
		u |= uint64(regs[0]) << s.Bit
		store(cur, u, s.Order)
		_, err = c.WriteSingleRegister(s.Address, cur[0])
	case len(regs) == 1:
		fc = 6
		_, err = c.WriteSingleRegister(s.Address, regs[0])
	default:
		fc = 16
		data := make([]byte, 2*len(regs))
		for i, r := range regs {
			binary.BigEndian.PutUint16(data[2*i:], r)
		}
		_, err = c.WriteMultipleRegisters(s.Address, uint16(len(regs)), data)
	}
	if err != nil {
		return fmt.Errorf("setting %s: write %s %d (function %d): %w", s.Name, s.Table, s.Address, fc, err)
	}
	return nil
}

// VerifySetting reads the setting back through r and checks that the
// device holds v as WriteSetting wrote it: the same registers, or the same
// bit. When it answers with something else, the error wraps ErrNotTaken
// and says what was written and what was read, as values and as
// registers; when the read fails, its error is returned (ReadSetting's).
func VerifySetting(r Reader, s *Setting, v float64) error {
	want, stored, err := s.Encode(v)
	if err != nil {
		return err
	}
	got, regs, err := ReadSetting(r, s)
	if regs == nil {
		return err
	}
	p := s.Point(s.Name, s.Unit)
	var same bool
	if s.Type == Bool {
		same = err == nil && got == stored
	} else {
		same = slices.Equal(regs, want)
	}
	if same {
		return nil
	}
	read := FormatValue(&p, got)
	if err != nil {
		read = "an undecodable value"
	}
	wrote, gotRaw := HexRegisters(want), HexRegisters(regs)
	if s.Type == Bool {
		wrote = fmt.Sprintf("bit %d = %d", s.Bit, want[0])
	}
	return fmt.Errorf("setting %s: wrote %s (%s %d: %s), read back %s (%s): %w",
		s.Name, FormatValue(&p, stored), s.Table, s.Address, wrote, read, gotRaw, ErrNotTaken)
}

// ReadBackSlave is the slave id at which a write of v to s is read back,
// given the id it was written to: v for a slave_id setting, which the
// device answers at at once; current for every other, a baud setting
// included, which takes effect only after a power cycle, so the device
// still answers at the old line speed.
func (s *Setting) ReadBackSlave(current byte, v float64) byte {
	if s.Role == RoleSlaveID && v >= 0 && v <= 255 && v == math.Trunc(v) {
		return byte(v)
	}
	return current
}

// FormatValue writes a decoded value as the installer's tables show it:
// as many decimals as the point's scale and offset give it (a scale of 0.1
// shows 12.0, never 12.000000000000002), the shortest form for floats,
// and the unit after a space.
func FormatValue(p *Point, v float64) string {
	var s string
	switch p.Type {
	case F32:
		s = strconv.FormatFloat(v, 'g', -1, 32)
	case F64:
		s = strconv.FormatFloat(v, 'g', -1, 64)
	default:
		scale := p.Scale
		if scale == 0 {
			scale = 1
		}
		s = strconv.FormatFloat(v, 'f', max(decimals(scale), decimals(p.Offset)), 64)
	}
	if p.Unit != "" {
		s += " " + p.Unit
	}
	return s
}

// decimals is how many decimal places x needs, up to 6.
func decimals(x float64) int {
	x = math.Abs(x)
	for d := range 6 {
		f := x * math.Pow10(d)
		if math.Abs(f-math.Round(f)) <= 1e-9*max(1, f) {
			return d
		}
	}
	return 6
}

// HexRegisters writes registers as the installer's tables show them:
// 0x4744 0x2D4C.
func HexRegisters(regs []uint16) string {
	var b strings.Builder
	for i, r := range regs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "0x%04X", r)
	}
	return b.String()
}
