package modbus

import (
	"fmt"
	"testing"

	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// TestEveryTypeAndOrderAgainstPymodbus lays out one value of every numeric
// type in every byte order (and a string, and bits of a register) in a
// real pymodbus's holding registers, encoded by Registers, and reads them
// back through a coalesced Poll: each decodes to what was written.
func TestEveryTypeAndOrderAgainstPymodbus(t *testing.T) {
	values := map[DataType]float64{U16: 51234, I16: -1234, U32: 3_000_000_000, I32: -2_000_000_000,
		U64: 1 << 52, I64: -(1 << 50) - 3, F32: -12.5, F64: 1234.5678}
	var points []Point
	var holding []uint16
	want := map[string]float64{}
	for _, typ := range []DataType{U16, I16, U32, I32, U64, I64, F32, F64} {
		for _, order := range []ByteOrder{ABCD, CDAB, BADC, DCBA} {
			p := Point{Name: fmt.Sprintf("%s_%s", typ, order), Table: HoldingRegisters, Address: uint16(len(holding)), Type: typ, Order: order}
			regs, err := Registers(&p, values[typ])
			if err != nil {
				t.Fatal(err)
			}
			holding = append(holding, regs...)
			points = append(points, p)
			want[p.Name] = values[typ]
		}
	}
	// Bit 3 and bit 15 of one register, and "GD-L" as a string.
	flags := uint16(len(holding))
	holding = append(holding, 1<<3|1<<15, 0x4744, 0x2D4C)
	points = append(points,
		Point{Name: "bit3", Table: HoldingRegisters, Address: flags, Type: Bool, Bit: 3},
		Point{Name: "bit4", Table: HoldingRegisters, Address: flags, Type: Bool, Bit: 4},
		Point{Name: "bit15", Table: HoldingRegisters, Address: flags, Type: Bool, Bit: 15},
	)
	want["bit3"], want["bit4"], want["bit15"] = 1, 0, 1

	srv := testenv.StartModbusTCP(t, testenv.ModbusSlave{ID: 1, Holding: holding})
	client := tcpClient(t, srv.Addr, 1)
	plan, err := NewPollPlan(points, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	readings, st, err := Poll(client, plan, points, "d", pollT0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Transactions != Minimum(points, Limits{}) {
		t.Errorf("%d transactions, minimum %d", st.Transactions, Minimum(points, Limits{}))
	}
	if len(readings) != len(want) {
		t.Errorf("%d readings, want %d", len(readings), len(want))
	}
	for _, r := range readings {
		if w, ok := want[r.Point]; !ok || r.Value != w {
			t.Errorf("%s = %v, want %v", r.Point, r.Value, w)
		}
	}
	text, err := client.ReadHoldingRegisters(flags+1, 2)
	if err != nil {
		t.Fatal(err)
	}
	s := Point{Name: "model", Table: HoldingRegisters, Type: String, Length: 2}
	if got, err := Text(&s, []uint16{uint16(text[0])<<8 | uint16(text[1]), uint16(text[2])<<8 | uint16(text[3])}); err != nil || got != "GD-L" {
		t.Errorf("string %q, %v; want GD-L", got, err)
	}
}
