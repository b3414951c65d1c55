package modbus_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/modbus"
)

func f64(v float64) *float64 { return &v }

// detectorModel is a valid section that uses every part of the format: a
// scaled reading, an f32 in CDAB order, a bit of a register, a label; a
// status register of bits, one of values, a coil and a discrete input;
// settings with a range, a list, and the two roles; and an identify
// register.
func detectorModel() *modbus.Model {
	return &modbus.Model{
		Layout:       "test detector, register table v1.0",
		SlaveID:      1,
		Serial:       modbus.Line{Baud: 9600, DataBits: 8, Parity: "N", StopBits: 1},
		MaxRegisters: 32,
		MaxGap:       4,
		Points: []modbus.PointMap{
			{Name: "gas", Register: modbus.Register{Table: modbus.InputRegisters, Address: 0, Type: modbus.U16, Scale: 0.1}},
			{Name: "temperature", Register: modbus.Register{Table: modbus.InputRegisters, Address: 2, Type: modbus.F32, Order: modbus.CDAB}},
			{Name: "heater_on", Register: modbus.Register{Table: modbus.InputRegisters, Address: 4, Type: modbus.Bool, Bit: 15}},
			{Name: "label", Register: modbus.Register{Table: modbus.HoldingRegisters, Address: 32, Type: modbus.String, Length: 4}},
		},
		Status: []modbus.StatusMap{
			{Name: "status", Table: modbus.InputRegisters, Address: 1, Bits: []modbus.BitEvent{{Bit: 0, Event: "low_alarm"}, {Bit: 1, Event: "high_alarm"}, {Bit: 2, Event: "fault"}}},
			{Name: "mode", Table: modbus.HoldingRegisters, Address: 40, Values: []modbus.ValueEvent{{Value: 3, Event: "disabled"}, {Value: 4, Event: "fault"}}},
			{Name: "relay", Table: modbus.Coils, Address: 0, Bits: []modbus.BitEvent{{Bit: 0, Event: "valve_closed"}}},
			{Name: "tamper", Table: modbus.DiscreteInputs, Address: 3, Bits: []modbus.BitEvent{{Bit: 0, Event: "tamper"}}},
		},
		Settings: []modbus.Setting{
			{Name: "low_alarm", Register: modbus.Register{Table: modbus.HoldingRegisters, Address: 0, Type: modbus.U16, Scale: 0.1}, Unit: "%LEL", Min: f64(5), Max: f64(25)},
			{Name: "slave_id", Register: modbus.Register{Table: modbus.HoldingRegisters, Address: 16, Type: modbus.U16}, Min: f64(1), Max: f64(247), Role: modbus.RoleSlaveID},
			{Name: "baud", Register: modbus.Register{Table: modbus.HoldingRegisters, Address: 17, Type: modbus.U16}, Values: []float64{2400, 4800, 9600, 19200}, Role: modbus.RoleBaud},
			{Name: "buzzer", Register: modbus.Register{Table: modbus.Coils, Address: 1, Type: modbus.Bool}},
		},
		Identify: &modbus.Identify{Register: modbus.Register{Table: modbus.HoldingRegisters, Address: 32, Type: modbus.String, Length: 4}, Equals: "GD-L"},
	}
}

// fields are the field paths err names, in order; nil for nil. It fails
// the test when err is not FieldErrors.
func fields(tb testing.TB, err error) []string {
	tb.Helper()
	if err == nil {
		return nil
	}
	var fe shouwang.FieldErrors
	if !errors.As(err, &fe) {
		tb.Fatalf("%T is not FieldErrors: %v", err, err)
	}
	return fe.Fields()
}

func TestModelValidate(t *testing.T) {
	if err := detectorModel().Validate(); err != nil {
		t.Fatalf("the valid model: %v", err)
	}
	point := func(i int, f func(*modbus.Register)) func(*modbus.Model) {
		return func(m *modbus.Model) { f(&m.Points[i].Register) }
	}
	setting := func(i int, f func(*modbus.Setting)) func(*modbus.Model) {
		return func(m *modbus.Model) { f(&m.Settings[i]) }
	}
	for _, tc := range []struct {
		name   string
		change func(*modbus.Model)
		want   []string
	}{
		{"missing layout", func(m *modbus.Model) { m.Layout = "" }, []string{"layout"}},
		{"slave_id 0", func(m *modbus.Model) { m.SlaveID = 0 }, []string{"slave_id"}},
		{"slave_id 248", func(m *modbus.Model) { m.SlaveID = 248 }, []string{"slave_id"}},
		{"slave_id 247", func(m *modbus.Model) { m.SlaveID = 247 }, nil},
		{"no serial", func(m *modbus.Model) { m.Serial = modbus.Line{} }, nil},
		{"baud 9601", func(m *modbus.Model) { m.Serial.Baud = 9601 }, []string{"serial.baud"}},
		{"parity n", func(m *modbus.Model) { m.Serial.Parity = "n" }, []string{"serial.parity"}},
		{"data_bits 9", func(m *modbus.Model) { m.Serial.DataBits = 9 }, []string{"serial.data_bits"}},
		{"stop_bits 3", func(m *modbus.Model) { m.Serial.StopBits = 3 }, []string{"serial.stop_bits"}},
		{"the whole line wrong", func(m *modbus.Model) { m.Serial = modbus.Line{Baud: 100, DataBits: 5, Parity: "M", StopBits: -1} },
			[]string{"serial.baud", "serial.data_bits", "serial.parity", "serial.stop_bits"}},
		{"max_registers 126", func(m *modbus.Model) { m.MaxRegisters = 126 }, []string{"max_registers"}},
		{"max_registers 125", func(m *modbus.Model) { m.MaxRegisters = 125 }, nil},
		{"max_bits 2001", func(m *modbus.Model) { m.MaxBits = 2001 }, []string{"max_bits"}},
		{"point with no table", point(0, func(r *modbus.Register) { r.Table = 0 }), []string{"points[0].table"}},
		{"point with no type", point(1, func(r *modbus.Register) { r.Type = 0 }), []string{"points[1].type"}},
		{"coil with u16", func(m *modbus.Model) {
			m.Points = append(m.Points, modbus.PointMap{Name: "door", Register: modbus.Register{Table: modbus.Coils, Address: 9, Type: modbus.U16}})
		}, []string{"points[4].type"}},
		{"bool bit 16", point(2, func(r *modbus.Register) { r.Bit = 16 }), []string{"points[2].bit"}},
		{"bool bit 15 of a coil is ignored", func(m *modbus.Model) {
			m.Points = append(m.Points, modbus.PointMap{Name: "door", Register: modbus.Register{Table: modbus.Coils, Address: 9, Type: modbus.Bool, Bit: 15}})
		}, nil},
		{"string length 0", point(3, func(r *modbus.Register) { r.Length = 0 }), []string{"points[3].length"}},
		{"string over max_registers", point(3, func(r *modbus.Register) { r.Length = 33 }), []string{"points[3].type"}},
		{"f64 over max_registers 3", func(m *modbus.Model) {
			m.MaxRegisters = 3
			m.Points[1].Type = modbus.F64
		}, []string{"points[1].type", "points[3].type", "identify.type"}},
		{"f32 at max_registers 2", func(m *modbus.Model) {
			m.MaxRegisters = 2
			m.Points[3].Length, m.Identify.Length = 2, 2
		}, nil},
		{"address overflow", point(1, func(r *modbus.Register) { r.Address = 65535 }), []string{"points[1].address"}},
		{"address at the end", point(1, func(r *modbus.Register) { r.Address = 65534 }), nil},
		{"string past 65535", point(3, func(r *modbus.Register) { r.Address = 65533 }), []string{"points[3].address"}},
		{"scale NaN", point(0, func(r *modbus.Register) { r.Scale = math.NaN() }), []string{"points[0].scale"}},
		{"offset infinite", point(0, func(r *modbus.Register) { r.Offset = math.Inf(-1) }), []string{"points[0].scale"}},
		{"point with no name", func(m *modbus.Model) { m.Points[0].Name = "" }, []string{"points[0].name"}},
		{"duplicate point names", func(m *modbus.Model) { m.Points[1].Name = "gas" }, []string{"points[1].name"}},
		{"status named as a point", func(m *modbus.Model) { m.Status[1].Name = "gas" }, []string{"status[1].name"}},
		{"status with no name", func(m *modbus.Model) { m.Status[0].Name = "" }, []string{"status[0].name"}},
		{"status with no table", func(m *modbus.Model) { m.Status[0].Table = 0 }, []string{"status[0].table"}},
		{"status past 65535", func(m *modbus.Model) { m.Status[0].Address = 65535 }, nil},
		{"status with neither bits nor values", func(m *modbus.Model) { m.Status[0].Bits = nil }, []string{"status[0]"}},
		{"status bit 16", func(m *modbus.Model) { m.Status[0].Bits[2].Bit = 16 }, []string{"status[0].bits[2].bit"}},
		{"status bit 1 of a coil", func(m *modbus.Model) { m.Status[2].Bits[0].Bit = 1 }, []string{"status[2].bits[0].bit"}},
		{"status bit 1 of a discrete", func(m *modbus.Model) { m.Status[3].Bits[0].Bit = 1 }, []string{"status[3].bits[0].bit"}},
		{"values on a discrete", func(m *modbus.Model) {
			m.Status[3].Values = []modbus.ValueEvent{{Value: 1, Event: "open"}, {Value: 0, Event: "closed"}}
		}, []string{"status[3].values[0]", "status[3].values[1]"}},
		{"values on a coil", func(m *modbus.Model) {
			m.Status[2].Bits = nil
			m.Status[2].Values = []modbus.ValueEvent{{Value: 1, Event: "valve_closed"}}
		}, []string{"status[2].values[0]"}},
		{"event offline", func(m *modbus.Model) { m.Status[0].Bits[0].Event = "offline" }, []string{"status[0].bits[0].event"}},
		{"event online", func(m *modbus.Model) { m.Status[1].Values[1].Event = "online" }, []string{"status[1].values[1].event"}},
		{"event x_clear", func(m *modbus.Model) { m.Status[0].Bits[1].Event = "high_clear" }, []string{"status[0].bits[1].event"}},
		{"event empty", func(m *modbus.Model) { m.Status[2].Bits[0].Event = "" }, []string{"status[2].bits[0].event"}},
		{"setting on an input table", setting(0, func(s *modbus.Setting) { s.Table = modbus.InputRegisters }), []string{"settings[0].table"}},
		{"setting on a discrete", setting(3, func(s *modbus.Setting) { s.Table = modbus.DiscreteInputs }), []string{"settings[3].table"}},
		{"setting with no name", setting(0, func(s *modbus.Setting) { s.Name = "" }), []string{"settings[0].name"}},
		{"setting named twice", setting(1, func(s *modbus.Setting) { s.Name = "low_alarm" }), []string{"settings[1].name"}},
		{"setting named as a point", setting(0, func(s *modbus.Setting) { s.Name = "gas" }), nil},
		{"setting with no type", setting(0, func(s *modbus.Setting) { s.Type = 0 }), []string{"settings[0].type"}},
		{"min > max", setting(0, func(s *modbus.Setting) { s.Min, s.Max = f64(30), f64(25) }), []string{"settings[0].max"}},
		{"min = max", setting(0, func(s *modbus.Setting) { s.Min, s.Max = f64(25), f64(25) }), nil},
		{"value over u16", setting(2, func(s *modbus.Setting) { s.Values = []float64{9600, 115200} }), []string{"settings[2].values[1]"}},
		{"value under u16", setting(2, func(s *modbus.Setting) { s.Values = []float64{-1, 9600} }), []string{"settings[2].values[0]"}},
		{"value over u16 once scaled", setting(0, func(s *modbus.Setting) {
			s.Min, s.Max, s.Values = nil, nil, []float64{6553.5, 6553.6}
		}), []string{"settings[0].values[1]"}},
		{"value over i16", setting(2, func(s *modbus.Setting) { s.Type, s.Values = modbus.I16, []float64{-32768, 32767, 32768} }), []string{"settings[2].values[2]"}},
		{"value of an f32", setting(2, func(s *modbus.Setting) { s.Type, s.Values = modbus.F32, []float64{0.5, 1e39} }), []string{"settings[2].values[1]"}},
		{"bad role", setting(1, func(s *modbus.Setting) { s.Role = "address" }), []string{"settings[1].role"}},
		{"identify without equals", func(m *modbus.Model) { m.Identify.Equals = "" }, []string{"identify.equals"}},
		{"identify with no table", func(m *modbus.Model) { m.Identify.Table = 0 }, []string{"identify.table"}},
		{"identify string of length 0", func(m *modbus.Model) { m.Identify.Length = 0 }, []string{"identify.length"}},
		{"no identify", func(m *modbus.Model) { m.Identify = nil }, nil},
		{"nothing to read", func(m *modbus.Model) { m.Points, m.Status, m.Settings = nil, nil, nil }, nil},
		{"every problem at once", func(m *modbus.Model) {
			m.Layout, m.SlaveID = "", 0
			m.Points[0].Table = 0
			m.Status[0].Bits[0].Event = "offline"
			m.Settings[0].Role = "x"
			m.Identify.Equals = ""
		}, []string{"layout", "slave_id", "points[0].table", "status[0].bits[0].event", "settings[0].role", "identify.equals"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := detectorModel()
			tc.change(m)
			err := m.Validate()
			if got := fields(t, err); !slices.Equal(got, tc.want) {
				t.Errorf("fields %q, want %q\n%v", got, tc.want, err)
			}
		})
	}
}

// TestModelValidateSettingRange: min and max are values the setting's
// register can hold, as its listed values must be; otherwise the
// installer is offered a range the device cannot be set to, and the
// write fails after the check passed.
func TestModelValidateSettingRange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*modbus.Setting)
		want   []string
	}{
		{"max over u16", func(s *modbus.Setting) { s.Max = f64(70000) }, []string{"settings[1].max"}},
		{"min under u16", func(s *modbus.Setting) { s.Min = f64(-1) }, []string{"settings[1].min"}},
		{"max over u16 once scaled", func(s *modbus.Setting) { s.Scale = 0.1 }, nil},
		{"max over u16 scaled", func(s *modbus.Setting) { s.Scale, s.Max = 0.1, f64(6600) }, []string{"settings[1].max"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := detectorModel()
			tc.change(&m.Settings[1])
			err := m.Validate()
			if got := fields(t, err); !slices.Equal(got, tc.want) {
				t.Errorf("fields %q, want %q\n%v", got, tc.want, err)
			}
		})
	}
}

func TestModelPollPoints(t *testing.T) {
	m := detectorModel()
	m.Provision(map[string]string{"gas": "%LEL", "temperature": "°C", "status": "ignored"}, nil)
	var got []string
	for _, p := range m.PollPoints() {
		got = append(got, fmt.Sprintf("%s %s %d %s bit%d len%d %s scale%g unit=%s", p.Name, p.Table, p.Address, p.Type, p.Bit, p.Length, p.Order, p.Scale, p.Unit))
	}
	want := []string{
		"gas input 0 u16 bit0 len0 ABCD scale0.1 unit=%LEL",
		"temperature input 2 f32 bit0 len0 CDAB scale0 unit=°C",
		"heater_on input 4 bool bit15 len0 ABCD scale0 unit=",
		"label holding 32 string bit0 len4 ABCD scale0 unit=",
		// A status register is read raw: a u16, or the bit of a coil or
		// discrete input, with no unit.
		"status input 1 u16 bit0 len0 ABCD scale0 unit=",
		"mode holding 40 u16 bit0 len0 ABCD scale0 unit=",
		"relay coil 0 bool bit0 len0 ABCD scale0 unit=",
		"tamper discrete 3 bool bit0 len0 ABCD scale0 unit=",
	}
	if !slices.Equal(got, want) {
		t.Errorf("PollPoints:\n got %q\nwant %q", got, want)
	}
	if got, want := m.PointNames(), []string{"gas", "temperature", "heater_on", "label", "status", "mode", "relay", "tamper"}; !slices.Equal(got, want) {
		t.Errorf("PointNames %q, want %q", got, want)
	}
	if got := (&modbus.Model{}).PollPoints(); len(got) != 0 {
		t.Errorf("an empty model polls %v", got)
	}
	lim := m.Limits()
	if lim != (modbus.Limits{MaxRegisters: 32, MaxGap: 4}) {
		t.Errorf("Limits %+v", lim)
	}
	plan, err := modbus.NewPollPlan(m.PollPoints(), lim)
	if err != nil {
		t.Fatal(err)
	}
	// input 0-5, holding 32-35 and 40 (a gap of 4), coil 0, discrete 3.
	if n, min := len(plan.Requests()), modbus.Minimum(m.PollPoints(), lim); n != 4 || min != 4 {
		t.Errorf("%d requests, minimum %d, want 4", n, min)
	}
}

func TestModelEventKinds(t *testing.T) {
	m := detectorModel()
	want := []string{"disabled", "fault", "high_alarm", "low_alarm", "tamper", "valve_closed"}
	if got := m.EventKinds(); !slices.Equal(got, want) {
		t.Errorf("EventKinds %q, want %q", got, want)
	}
	if got := (&modbus.Model{}).EventKinds(); len(got) != 0 {
		t.Errorf("no status: %q", got)
	}
	m.Provision(nil, map[string]shouwang.Severity{"fault": shouwang.Fault})
	if m.Severity("fault") != shouwang.Fault || m.Severity("fault_clear") != shouwang.Info {
		t.Errorf("Severity: fault %v, fault_clear %v", m.Severity("fault"), m.Severity("fault_clear"))
	}
}

func TestSettingCheck(t *testing.T) {
	m := detectorModel()
	get := func(name string) *modbus.Setting {
		s, ok := m.Setting(name)
		if !ok {
			t.Fatalf("no setting %q", name)
		}
		return s
	}
	if _, ok := m.Setting("high_alarm"); ok {
		t.Errorf("Setting finds high_alarm, which is not listed")
	}
	atLeast := &modbus.Setting{Name: "delay", Register: modbus.Register{Type: modbus.U16}, Unit: "s", Min: f64(1)}
	atMost := &modbus.Setting{Name: "volume", Register: modbus.Register{Type: modbus.U16}, Unit: "dB", Max: f64(85)}
	anyValue := &modbus.Setting{Name: "offset", Register: modbus.Register{Type: modbus.I16}}
	both := &modbus.Setting{Name: "mode", Register: modbus.Register{Type: modbus.U16}, Min: f64(0), Max: f64(1), Values: []float64{2, 4}}
	for _, tc := range []struct {
		s    *modbus.Setting
		v    float64
		want string // "" for valid, else a part of the error
	}{
		{get("low_alarm"), 5, ""},
		{get("low_alarm"), 25, ""},
		{get("low_alarm"), 12.5, ""},
		{get("low_alarm"), 4.9, "low_alarm: 4.9%LEL is out of range (valid: 5 to 25 %LEL)"},
		{get("low_alarm"), 25.1, "out of range"},
		{get("low_alarm"), math.NaN(), "low_alarm: NaN is not a number"},
		{get("low_alarm"), math.Inf(1), "is not a number"},
		{get("slave_id"), 247, ""},
		{get("slave_id"), 0, "out of range"},
		{get("baud"), 9600, ""},
		{get("baud"), 9601, "baud: 9601 is not one of 2400, 4800, 9600, 19200"},
		{atLeast, 1, ""},
		{atLeast, 1e9, ""},
		{atLeast, 0.5, "out of range (valid: at least 1 s)"},
		{atMost, 85, ""},
		{atMost, -1000, ""},
		{atMost, 86, "out of range (valid: at most 85 dB)"},
		{anyValue, -5, ""},
		{anyValue, math.Inf(-1), "not a number"},
		// Values, when listed, are the only valid ones.
		{both, 4, ""},
		{both, 1, "is not one of 2, 4"},
	} {
		err := tc.s.Check(tc.v)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s.Check(%v): %v", tc.s.Name, tc.v, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s.Check(%v) = %v, want %q", tc.s.Name, tc.v, err, tc.want)
		}
	}
	for _, tc := range []struct {
		s    *modbus.Setting
		want string
	}{
		{get("low_alarm"), "5 to 25 %LEL"},
		{get("baud"), "one of 2400, 4800, 9600, 19200"},
		{atLeast, "at least 1 s"},
		{atMost, "at most 85 dB"},
		{anyValue, "any i16"},
		{both, "one of 2, 4"},
	} {
		if got := tc.s.Range(); got != tc.want {
			t.Errorf("%s.Range() = %q, want %q", tc.s.Name, got, tc.want)
		}
	}
}

// TestSettingRangeWithoutUnit: a setting with no unit (an address, a
// code) has no trailing space in its range, nor in the error that quotes
// it.
func TestSettingRangeWithoutUnit(t *testing.T) {
	m := detectorModel()
	s, _ := m.Setting("slave_id")
	if got, want := s.Range(), "1 to 247"; got != want {
		t.Errorf("Range() = %q, want %q", got, want)
	}
	if err := s.Check(300); err == nil || !strings.HasSuffix(err.Error(), "(valid: 1 to 247)") {
		t.Errorf("Check(300) = %q, want it to end (valid: 1 to 247)", err)
	}
	for _, s := range []*modbus.Setting{{Min: f64(1)}, {Max: f64(9)}} {
		if r := s.Range(); strings.HasSuffix(r, " ") {
			t.Errorf("Range() = %q", r)
		}
	}
}

// fuzzModel builds a model from spec, eight bytes a part: a point, a
// status register, a setting or the identify register, with tables,
// types, addresses, bits, names and events drawn from small sets so that
// parts collide, overlap and coalesce.
func fuzzModel(slave uint8, baud uint8, maxRegs, maxBits, maxGap uint16, spec []byte) *modbus.Model {
	bauds := []int{0, 9600, 19200, 9601}
	m := &modbus.Model{
		Layout: "fuzz", SlaveID: slave, Serial: modbus.Line{Baud: bauds[int(baud)%len(bauds)]},
		MaxRegisters: maxRegs % 140, MaxBits: maxBits % 2100, MaxGap: maxGap % 40,
	}
	names := []string{"", "a", "b", "c", "d", "e", "f", "g"}
	events := []string{"fault", "alarm", "low_battery", "", "online", "offline", "fault_clear", "tamper"}
	roles := []string{"", modbus.RoleSlaveID, modbus.RoleBaud, "x"}
	for ; len(spec) >= 8; spec = spec[8:] {
		b := spec[:8]
		reg := modbus.Register{
			Table:   modbus.Table(b[1] % 6),
			Type:    modbus.DataType(b[2] % 12),
			Address: uint16(b[3]) | uint16(b[4]&0x81)<<8 | uint16(b[4]&0x7E)<<9, // mostly small
			Bit:     b[5] % 18,
			Length:  uint16(b[6] % 140),
			Order:   modbus.ByteOrder(b[7] % 5),
		}
		if b[7]&0x80 != 0 {
			reg.Scale = float64(int8(b[6])) / 10
		}
		name := names[b[0]>>2&7]
		switch b[0] % 4 {
		case 0:
			m.Points = append(m.Points, modbus.PointMap{Name: name, Register: reg})
		case 1:
			s := modbus.StatusMap{Name: name, Table: reg.Table, Address: reg.Address}
			for k := range int(b[6] % 4) {
				s.Bits = append(s.Bits, modbus.BitEvent{Bit: (b[5] + uint8(k)) % 18, Event: events[(int(b[7])+k)%len(events)]})
			}
			for k := range int(b[2] % 3) {
				s.Values = append(s.Values, modbus.ValueEvent{Value: uint16(b[5]) + uint16(k), Event: events[(int(b[7])>>3+k)%len(events)]})
			}
			m.Status = append(m.Status, s)
		case 2:
			s := modbus.Setting{Name: name, Register: reg, Role: roles[b[5]%4]}
			if b[7]&0x40 != 0 {
				s.Min = f64(float64(int8(b[3])))
			}
			if b[7]&0x20 != 0 {
				s.Max = f64(float64(b[6]) * 100)
			}
			if b[7]&0x10 != 0 {
				s.Values = []float64{float64(b[3]), float64(int8(b[6])) * 1000}
			}
			m.Settings = append(m.Settings, s)
		case 3:
			m.Identify = &modbus.Identify{Register: reg, Equals: name}
		}
	}
	return m
}

// FuzzModelValidate validates models built from random parts. Validate
// never panics and is pure (twice, the same answer); every problem it
// reports names a field; and a model it accepts plans its poll in the
// fewest requests (Minimum), and accepts each of its settings' listed
// values.
func FuzzModelValidate(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint16(32), uint16(0), uint16(4), []byte{
		0x04, 4, 1, 0, 0, 0, 0, 0, // point a: input 0 u16
		0x09, 4, 1, 1, 0, 0, 2, 0, // status b: input 1, bits 0 and 1
		0x0E, 3, 1, 16, 0, 1, 0, 0x40, // setting d: holding 16 u16 min 16, role slave_id
		0x13, 3, 10, 32, 0, 0, 4, 0, // identify: holding 32 string of 4, equals "e"
	})
	f.Add(uint8(1), uint8(0), uint16(0), uint16(0), uint16(0), []byte{
		0x04, 1, 1, 0, 0, 0, 0, 0, // point a: coil 0 bool
		0x09, 2, 0, 7, 0, 0, 1, 0, // status b: discrete 7, bit 0
		0x0C, 3, 8, 0xFF, 0xFF, 0, 0, 0x81, // point d: holding 65535 f32, scaled
	})
	f.Add(uint8(248), uint8(3), uint16(126), uint16(2001), uint16(0), []byte{0x01, 0, 0, 0, 0, 0, 0, 0})
	f.Add(uint8(1), uint8(2), uint16(0), uint16(0), uint16(39), []byte{})
	f.Fuzz(func(t *testing.T, slave, baud uint8, maxRegs, maxBits, maxGap uint16, spec []byte) {
		m := fuzzModel(slave, baud, maxRegs, maxBits, maxGap, spec)
		err := m.Validate()
		if again := m.Validate(); fmt.Sprint(again) != fmt.Sprint(err) {
			t.Fatalf("Validate is not pure: %v, then %v", err, again)
		}
		if err != nil {
			var fe shouwang.FieldErrors
			if !errors.As(err, &fe) || len(fe) == 0 {
				t.Fatalf("%T: %v", err, err)
			}
			for _, e := range fe {
				if e.Field == "" || e.Problem == "" {
					t.Fatalf("a problem with no field or no message: %q", e)
				}
			}
			return
		}
		points := m.PollPoints()
		plan, err := modbus.NewPollPlan(points, m.Limits())
		if err != nil {
			t.Fatalf("valid model, but NewPollPlan: %v", err)
		}
		if n, min := len(plan.Requests()), modbus.Minimum(points, m.Limits()); n != min {
			t.Fatalf("%d requests, minimum %d", n, min)
		}
		for _, s := range m.Settings {
			for _, v := range s.Values {
				if err := s.Check(v); err != nil {
					t.Fatalf("setting %q rejects its own value %v: %v", s.Name, v, err)
				}
			}
			_ = s.Range()
		}
		for _, kind := range m.EventKinds() {
			if kind == "" || kind == "online" || kind == "offline" || strings.HasSuffix(kind, "_clear") {
				t.Fatalf("valid model raises %q", kind)
			}
		}
	})
}
