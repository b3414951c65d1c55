package modbus

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	gm "github.com/goburrow/modbus"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// recorder passes every call on to a real client and notes the write
// functions sent, so a test sees which function a setting took.
type recorder struct {
	gm.Client
	writes []string
}

func (r *recorder) WriteSingleCoil(address, value uint16) ([]byte, error) {
	r.writes = append(r.writes, fmt.Sprintf("fc5 %d", address))
	return r.Client.WriteSingleCoil(address, value)
}

func (r *recorder) WriteSingleRegister(address, value uint16) ([]byte, error) {
	r.writes = append(r.writes, fmt.Sprintf("fc6 %d", address))
	return r.Client.WriteSingleRegister(address, value)
}

func (r *recorder) WriteMultipleRegisters(address, quantity uint16, value []byte) ([]byte, error) {
	r.writes = append(r.writes, fmt.Sprintf("fc16 %d+%d", address, quantity))
	return r.Client.WriteMultipleRegisters(address, quantity, value)
}

// detectorSettings are a detector's settings of every kind a write takes:
// one register (function 6), several (16), a coil (5), a bit of a
// register (read, change, write back), and one past the device's block.
func detectorSettings() map[string]*Setting {
	return map[string]*Setting{
		"low_alarm": {Name: "low_alarm", Register: Register{Table: HoldingRegisters, Address: 0, Type: U16, Scale: 0.1}, Unit: "%LEL", Min: ptr(5.0), Max: ptr(25.0)},
		"span":      {Name: "span", Register: Register{Table: HoldingRegisters, Address: 2, Type: U32}, Min: ptr(0.0), Max: ptr(1e6)},
		"gain":      {Name: "gain", Register: Register{Table: HoldingRegisters, Address: 10, Type: F32, Order: CDAB}},
		"relay":     {Name: "relay", Register: Register{Table: Coils, Address: 1, Type: Bool}},
		"buzzer":    {Name: "buzzer", Register: Register{Table: HoldingRegisters, Address: 5, Type: Bool, Bit: 3}},
		"past":      {Name: "past", Register: Register{Table: HoldingRegisters, Address: 40, Type: U16}},
		"slave_id":  {Name: "slave_id", Register: Register{Table: HoldingRegisters, Address: 16, Type: U16}, Min: ptr(1.0), Max: ptr(247.0), Role: RoleSlaveID},
		"baud":      {Name: "baud", Register: Register{Table: HoldingRegisters, Address: 17, Type: U16}, Values: []float64{2400, 4800, 9600, 19200}, Role: RoleBaud},
		"model":     {Name: "model", Register: Register{Table: HoldingRegisters, Address: 32, Type: String, Length: 4}},
	}
}

func settingSlave() testenv.ModbusSlave {
	holding := make([]uint16, 40) // holding 40 and on: exception 2
	holding[0] = 100              // 10.0 %LEL
	holding[5] = 0x0101           // bits 0 and 8 set: the write of bit 3 must keep them
	holding[16], holding[17] = 1, 9600
	return testenv.ModbusSlave{ID: 1, Holding: holding, Coils: []bool{false, false, true}}
}

// TestWriteSettingAgainstPymodbus writes each kind of setting to a real
// pymodbus, with the function its register needs, and reads it back.
func TestWriteSettingAgainstPymodbus(t *testing.T) {
	srv := testenv.StartModbusTCP(t, settingSlave())
	c := &recorder{Client: tcpClient(t, srv.Addr, 1)}
	settings := detectorSettings()
	for _, tc := range []struct {
		setting string
		v       float64
		write   string
		regs    []uint16 // as read back
	}{
		{"low_alarm", 12, "fc6 0", []uint16{120}},
		{"span", 100000, "fc16 2+2", []uint16{0x0001, 0x86A0}},
		{"gain", 1.5, "fc16 10+2", []uint16{0x0000, 0x3FC0}},
		{"relay", 1, "fc5 1", []uint16{1}},
		{"buzzer", 1, "fc6 5", []uint16{0x0109}},
		{"baud", 19200, "fc6 17", []uint16{19200}},
	} {
		t.Run(tc.setting, func(t *testing.T) {
			s := settings[tc.setting]
			c.writes = nil
			if err := WriteSetting(c, s, tc.v); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.writes, []string{tc.write}) {
				t.Errorf("writes %v, want %s", c.writes, tc.write)
			}
			if err := VerifySetting(c, s, tc.v); err != nil {
				t.Fatal(err)
			}
			v, regs, err := ReadSetting(c, s)
			if err != nil || v != tc.v || !slices.Equal(regs, tc.regs) {
				t.Errorf("read back %v %#04x, %v; want %v %#04x", v, regs, err, tc.v, tc.regs)
			}
		})
	}
	// Clearing the bit again leaves the register's other bits alone.
	if err := WriteSetting(c, settings["buzzer"], 0); err != nil {
		t.Fatal(err)
	}
	if regs, err := ReadPoint(c, &Point{Table: HoldingRegisters, Address: 5, Type: U16}); err != nil || regs[0] != 0x0101 {
		t.Errorf("holding 5 after clearing bit 3: %#04x, %v; want 0x0101", regs, err)
	}
}

// TestWriteSettingRefused: a value out of range is refused before anything
// is sent; a register the device does not have gets its exception, with
// the setting, register and function named; a write that reads back as
// something else wraps ErrNotTaken and says what was written and read.
func TestWriteSettingRefused(t *testing.T) {
	srv := testenv.StartModbusTCP(t, settingSlave())
	c := &recorder{Client: tcpClient(t, srv.Addr, 1)}
	settings := detectorSettings()

	before := srv.Requests(t)[1]
	err := WriteSetting(c, settings["low_alarm"], 30)
	if err == nil || !strings.Contains(err.Error(), "is out of range (valid: 5 to 25 %LEL)") {
		t.Errorf("out of range: %v", err)
	}
	if len(c.writes) != 0 || srv.Requests(t)[1] != before {
		t.Errorf("a value out of range was sent: %v", c.writes)
	}

	err = WriteSetting(c, settings["past"], 1)
	var me *gm.ModbusError
	if !errors.As(err, &me) || me.ExceptionCode != gm.ExceptionCodeIllegalDataAddress ||
		!strings.Contains(err.Error(), "setting past: write holding 40 (function 6)") {
		t.Errorf("write past the block: %v, want exception 2 naming the setting", err)
	}

	if err := WriteSetting(c, settings["low_alarm"], 10); err != nil {
		t.Fatal(err)
	}
	err = VerifySetting(c, settings["low_alarm"], 12)
	want := "setting low_alarm: wrote 12.0 %LEL (holding 0: 0x0078), read back 10.0 %LEL (0x0064): the device did not take it"
	if !errors.Is(err, ErrNotTaken) || err.Error() != want {
		t.Errorf("read back of another value:\n got %v\nwant %s", err, want)
	}

	srv.KillSlave(t, 1)
	h := gm.NewTCPClientHandler(srv.Addr)
	h.SlaveId, h.Timeout = 1, 100*time.Millisecond
	defer h.Close()
	err = VerifySetting(gm.NewClient(h), settings["low_alarm"], 10)
	if err == nil || errors.Is(err, ErrNotTaken) || !IsTimeout(err) {
		t.Errorf("read back from a dead slave: %v, want a timeout, not ErrNotTaken", err)
	}
}

func TestSettingEncode(t *testing.T) {
	s := detectorSettings()
	for _, tc := range []struct {
		setting string
		v       float64
		regs    []uint16
		stored  float64
		err     string
	}{
		{"low_alarm", 12, []uint16{120}, 12, ""},
		{"low_alarm", 10.04, []uint16{100}, 10, ""},
		{"low_alarm", 4.9, nil, 0, "is out of range (valid: 5 to 25 %LEL)"},
		{"low_alarm", math.NaN(), nil, 0, "is not a number"},
		{"span", 70000, []uint16{0x0001, 0x1170}, 70000, ""},
		{"relay", 1, []uint16{1}, 1, ""},
		{"relay", 2, nil, 0, "relay: 2 is not 0 or 1 (the setting is one bit: coil 1)"},
		{"slave_id", 7, []uint16{7}, 7, ""},
		{"slave_id", 7.5, nil, 0, "slave_id: 7.5 is not a slave address (valid: 1 to 247)"},
		{"baud", 9600, []uint16{9600}, 9600, ""},
		{"baud", 9601, nil, 0, "baud: 9601 is not one of 2400, 4800, 9600, 19200"},
		{"model", 1, nil, 0, "model: a string setting is not written as a number"},
	} {
		t.Run(fmt.Sprint(tc.setting, tc.v), func(t *testing.T) {
			regs, stored, err := s[tc.setting].Encode(tc.v)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(regs, tc.regs) || stored != tc.stored {
				t.Fatalf("%#04x %v %v, want %#04x %v", regs, stored, err, tc.regs, tc.stored)
			}
		})
	}
}

func TestReadBackSlave(t *testing.T) {
	s := detectorSettings()
	if got := s["slave_id"].ReadBackSlave(1, 7); got != 7 {
		t.Errorf("slave_id 7 written at 1 is read back at %d, want 7", got)
	}
	if got := s["baud"].ReadBackSlave(1, 19200); got != 1 {
		t.Errorf("baud written at 1 is read back at %d, want 1 (the old speed, the same address)", got)
	}
	if got := s["low_alarm"].ReadBackSlave(3, 12); got != 3 {
		t.Errorf("low_alarm written at 3 is read back at %d", got)
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		p    Point
		v    float64
		want string
	}{
		{Point{Type: U16, Scale: 0.1, Unit: "%LEL"}, 12, "12.0 %LEL"},
		{Point{Type: U16, Scale: 0.1}, 0.1 * 3, "0.3"},
		{Point{Type: U16, Scale: 0.001, Unit: "dB/m"}, 0.15, "0.150 dB/m"},
		{Point{Type: I16, Scale: 0.5, Offset: -40}, -12.5, "-12.5"},
		{Point{Type: U16}, 9600, "9600"},
		{Point{Type: U32, Scale: 10}, 120, "120"},
		{Point{Type: F32, Unit: "V"}, float64(float32(3.3)), "3.3 V"},
		{Point{Type: F64}, 1.0 / 3, "0.3333333333333333"},
		{Point{Type: Bool, Table: Coils}, 1, "1"},
	} {
		if got := FormatValue(&tc.p, tc.v); got != tc.want {
			t.Errorf("FormatValue(%+v, %v) = %q, want %q", tc.p, tc.v, got, tc.want)
		}
	}
	if got := HexRegisters([]uint16{0x4744, 0x2D4C}); got != "0x4744 0x2D4C" {
		t.Errorf("HexRegisters = %q", got)
	}
}
