// Package modbus reads gas detectors, CO detectors, smoke modules and fire
// panels over Modbus TCP, RTU on an RS-485 port, and RTU framed over TCP,
// as fast as the wire allows.
package modbus

import (
	"fmt"
	"slices"
	"strings"
)

// Table is one of the four Modbus data tables, named by the function that
// reads it.
type Table uint8

const (
	Coils            Table = iota + 1 // FC 1 (write 5, 15)
	DiscreteInputs                    // FC 2
	HoldingRegisters                  // FC 3 (write 6, 16)
	InputRegisters                    // FC 4
)

var tableNames = [...]string{"", "coil", "discrete", "holding", "input"}

func (t Table) String() string {
	if int(t) < len(tableNames) && t != 0 {
		return tableNames[t]
	}
	return fmt.Sprintf("table(%d)", uint8(t))
}

// Bits says whether the table holds single bits (coils, discrete inputs)
// rather than 16-bit registers.
func (t Table) Bits() bool { return t == Coils || t == DiscreteInputs }

// DataType is how a point's registers are read.
type DataType uint8

const (
	Bool DataType = iota + 1 // a coil or discrete input, or bit Bit of a register
	U16
	I16
	U32
	I32
	U64
	I64
	F32
	F64
	String // Length registers of ASCII, two characters each, high byte first
)

var typeNames = [...]string{"", "bool", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64", "string"}

func (d DataType) String() string {
	if int(d) < len(typeNames) && d != 0 {
		return typeNames[d]
	}
	return fmt.Sprintf("type(%d)", uint8(d))
}

// Words is how many 16-bit registers a value of the type takes; 0 for
// String (its Length says) and for Bool.
func (d DataType) Words() uint16 {
	switch d {
	case U16, I16:
		return 1
	case U32, I32, F32:
		return 2
	case U64, I64, F64:
		return 4
	}
	return 0
}

// ByteOrder is the order of a multi-register value's bytes, named by where
// the most significant byte A lands: ABCD is big-endian words in
// big-endian order (the Modbus default), CDAB swaps the words (common on
// gas detectors), BADC swaps the bytes in each word, DCBA is
// little-endian. For 64-bit values the pattern extends to eight bytes
// (ABCD: ABCDEFGH, CDAB: GHEFCDAB, BADC: BADCFEHG, DCBA: HGFEDCBA).
type ByteOrder uint8

const (
	ABCD ByteOrder = iota
	CDAB
	BADC
	DCBA
)

var orderNames = [...]string{"ABCD", "CDAB", "BADC", "DCBA"}

func (o ByteOrder) String() string {
	if int(o) < len(orderNames) {
		return orderNames[o]
	}
	return fmt.Sprintf("order(%d)", uint8(o))
}

// Point is one value in a device's register map.
type Point struct {
	Name    string
	Table   Table
	Address uint16 // 0-based protocol address
	Type    DataType
	// Bit is the bit (0 = least significant) of a register that a Bool
	// point in a register table reads; ignored for coils and discretes.
	Bit   uint8
	Order ByteOrder
	// Length is the registers a String takes.
	Length uint16
	// Value = raw*Scale + Offset; a zero Scale means 1.
	Scale, Offset float64
	Unit          string
}

// Span is how many table entries (bits or registers) the point covers.
func (p *Point) Span() uint16 {
	switch {
	case p.Table.Bits():
		return 1
	case p.Type == Bool:
		return 1
	case p.Type == String:
		return p.Length
	}
	return p.Type.Words()
}

// errorf names the point and its first entry, the way every error about
// a point starts: point "gas" at input 0: ...
func (p *Point) errorf(format string, args ...any) error {
	return fmt.Errorf("point %q at %s %d: %w", p.Name, p.Table, p.Address, fmt.Errorf(format, args...))
}

// UnmarshalText reads a table's name as config files write it: coil,
// discrete, holding or input.
func (t *Table) UnmarshalText(text []byte) error {
	i := slices.Index(tableNames[1:], string(text))
	if i < 0 {
		return fmt.Errorf("%q is not a table (valid: %s)", text, strings.Join(tableNames[1:], ", "))
	}
	*t = Table(i + 1)
	return nil
}

// UnmarshalText reads a data type's name: bool, u16, ... string.
func (d *DataType) UnmarshalText(text []byte) error {
	i := slices.Index(typeNames[1:], string(text))
	if i < 0 {
		return fmt.Errorf("%q is not a data type (valid: %s)", text, strings.Join(typeNames[1:], ", "))
	}
	*d = DataType(i + 1)
	return nil
}

// UnmarshalText reads a byte order's name: ABCD, CDAB, BADC or DCBA.
func (o *ByteOrder) UnmarshalText(text []byte) error {
	i := slices.Index(orderNames[:], string(text))
	if i < 0 {
		return fmt.Errorf("%q is not a byte order (valid: %s)", text, strings.Join(orderNames[:], ", "))
	}
	*o = ByteOrder(i)
	return nil
}
