package modbus

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	gm "github.com/goburrow/modbus"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

var pollT0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

// gasDetector is a register map in the style of household gas detectors:
// concentration as an f32 in CDAB order, status bits, a u16 alarm
// set-point, a serial number; the input block ends at address 20, so a
// read past it gets exception 2.
func gasDetector() (testenv.ModbusSlave, []Point) {
	holding := make([]uint16, 40)
	input := make([]uint16, 20)
	// gas 12.5 %LEL as f32 0x41480000, CDAB: the low word first.
	input[0], input[1] = 0x0000, 0x4148
	input[2] = 0b101                          // status: bit 0 low alarm, bit 2 sensor fault
	input[3] = 0xFFF6                         // temperature -10 as i16, scale 0.1: -1.0
	input[4], input[5] = 0x0001, 0x86A0       // u32 100000 ABCD: running seconds
	holding[0] = 10                           // low alarm set-point
	holding[1] = 25                           // high alarm set-point
	holding[30], holding[31] = 0x5348, 0x5700 // "SHW\x00"
	points := []Point{
		{Name: "gas", Table: InputRegisters, Address: 0, Type: F32, Order: CDAB, Unit: "%LEL"},
		{Name: "low_alarm_bit", Table: InputRegisters, Address: 2, Type: Bool, Bit: 0},
		{Name: "fault_bit", Table: InputRegisters, Address: 2, Type: Bool, Bit: 2},
		{Name: "temperature", Table: InputRegisters, Address: 3, Type: I16, Scale: 0.1, Unit: "°C"},
		{Name: "uptime", Table: InputRegisters, Address: 4, Type: U32, Unit: "s"},
		{Name: "low_set", Table: HoldingRegisters, Address: 0, Type: U16, Unit: "%LEL"},
		{Name: "high_set", Table: HoldingRegisters, Address: 1, Type: U16, Unit: "%LEL"},
		{Name: "serial", Table: HoldingRegisters, Address: 30, Type: String, Length: 2},
		// Documented by the vendor, but this firmware's block ends at 20:
		// joined with the points above it would fail the whole read.
		{Name: "humidity", Table: InputRegisters, Address: 18, Type: U16, Unit: "%"},
		{Name: "pressure", Table: InputRegisters, Address: 21, Type: U16, Unit: "kPa"},
	}
	return testenv.ModbusSlave{ID: 1, Holding: holding, Input: input,
		Coils: []bool{true, false, true}, Discrete: []bool{false, true}}, points
}

func tcpClient(t *testing.T, addr string, id byte) gm.Client {
	t.Helper()
	h := gm.NewTCPClientHandler(addr)
	h.SlaveId, h.Timeout = id, 2*time.Second
	if err := h.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return gm.NewClient(h)
}

// TestPollAgainstPymodbus reads a gas detector's map from a real pymodbus
// over TCP: every value decodes, the transactions per cycle are the
// computed minimum, and the read that runs past the device's block is
// split once and remembered, so the next cycle is back at the minimum for
// the map as the device allows it.
func TestPollAgainstPymodbus(t *testing.T) {
	slave, points := gasDetector()
	points = append(points,
		Point{Name: "relay", Table: Coils, Address: 0, Type: Bool},
		Point{Name: "valve_closed", Table: Coils, Address: 2, Type: Bool},
		Point{Name: "door", Table: DiscreteInputs, Address: 1, Type: Bool},
	)
	srv := testenv.StartModbusTCP(t, slave)
	client := tcpClient(t, srv.Addr, 1)
	lim := Limits{MaxGap: 16}
	plan, err := NewPollPlan(points, lim)
	if err != nil {
		t.Fatal(err)
	}
	min := Minimum(points, lim)
	if got := len(plan.Requests()); got != min {
		t.Fatalf("plan has %d requests, the minimum for the map is %d", got, min)
	}

	before := srv.Requests(t)[1]
	d := &Driver{devices: map[string]*device{"gas-1202": {points: points, raw: newRawRegisters(len(points))}}}
	readings, st, err := Poll(client, plan, points, "gas-1202", pollT0, nil, d.devices["gas-1202"].raw.keep)
	if err != nil {
		t.Fatal(err)
	}
	// The installer's raw view: each point's registers as the device sent
	// them, a bit as 0 or 1; nothing for text or a point it refused.
	wantRaw := fmt.Sprint(map[string]string{"gas": "0x0000 0x4148", "low_alarm_bit": "0x0005", "fault_bit": "0x0005",
		"temperature": "0xFFF6", "uptime": "0x0001 0x86A0", "low_set": "0x000A", "high_set": "0x0019", "humidity": "0x0000",
		"relay": "1", "valve_closed": "1", "door": "1"})
	if got := fmt.Sprint(d.Raw("gas-1202")); got != wantRaw {
		t.Errorf("raw\n got %s\nwant %s", got, wantRaw)
	}
	if d.Raw("nobody") != nil {
		t.Error("raw values for a device the driver does not have")
	}
	if sent := srv.Requests(t)[1] - before; sent != st.Transactions {
		t.Errorf("pymodbus answered %d requests, Poll counted %d", sent, st.Transactions)
	}
	values := func(readings []shouwang.Reading, at time.Time) string {
		got := map[string]string{}
		for _, r := range readings {
			if !r.Time.Equal(at) || r.Device != "gas-1202" {
				t.Errorf("reading %+v", r)
			}
			q := ""
			if r.Quality != shouwang.Good {
				q = " bad"
			}
			got[r.Point] = fmt.Sprintf("%g%s", math.Round(r.Value*1000)/1000, q)
		}
		return fmt.Sprint(got)
	}
	want := fmt.Sprint(map[string]string{"gas": "12.5", "low_alarm_bit": "1", "fault_bit": "1", "temperature": "-1",
		"uptime": "100000", "low_set": "10", "high_set": "25", "humidity": "0", "pressure": "0 bad",
		"relay": "1", "valve_closed": "1", "door": "1"})
	if got := values(readings, pollT0); got != want {
		t.Errorf("readings\n got %v\nwant %v", got, want)
	}
	if st.Splits == 0 || st.Unreadable != 1 {
		t.Errorf("stats %+v: want the read past the block split, and pressure alone unreadable", st)
	}

	// The next cycle: no exception, and as few requests as the device
	// allows (the minimum for the map with pressure on its own).
	before = srv.Requests(t)[1]
	readings, st2, err := Poll(client, plan, points, "gas-1202", pollT0.Add(time.Second), readings[:0], nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := values(readings, pollT0.Add(time.Second)); got != want {
		t.Errorf("second cycle's readings\n got %v\nwant %v", got, want)
	}
	if st2.Splits != 0 || srv.Requests(t)[1]-before != st2.Transactions {
		t.Errorf("second cycle: %+v", st2)
	}
	if st2.Transactions != len(plan.Requests()) || st2.Transactions > min+2 {
		t.Errorf("second cycle: %d transactions with %d requests planned (map minimum %d)", st2.Transactions, len(plan.Requests()), min)
	}
	t.Logf("first cycle %+v, second %+v, map minimum %d", st, st2, min)
}

// TestPollDeadSlave: a slave that never answers ends the poll with a
// timeout, quickly, and costs one transaction.
func TestPollDeadSlave(t *testing.T) {
	slave, points := gasDetector()
	srv := testenv.StartModbusTCP(t, slave)
	srv.KillSlave(t, 1)
	h := gm.NewTCPClientHandler(srv.Addr)
	h.SlaveId, h.Timeout = 1, 300*time.Millisecond
	defer h.Close()
	plan, _ := NewPollPlan(points, Limits{MaxGap: 16})
	_, st, err := Poll(gm.NewClient(h), plan, points, "gas-1202", pollT0, nil, nil)
	if err == nil || st.Transactions != 1 || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("poll of a dead slave: %v after %d transactions, want a timeout after 1", err, st.Transactions)
	}
}

// TestPollRTUSharedBus reads two slaves on one RS-485 bus (pymodbus RTU on
// a socat pty pair) through goburrow's RTU client: the healthy slave's map
// decodes, and once its neighbour dies, polling the dead one costs one
// timeout and the healthy one still reads.
func TestPollRTUSharedBus(t *testing.T) {
	a, points := gasDetector()
	b, _ := gasDetector()
	b.ID = 2
	b.Input[0], b.Input[1] = 0x0000, 0x41C8 // 25.0 %LEL
	srv := testenv.StartModbusRTU(t, 9600, a, b)
	h := gm.NewRTUClientHandler(srv.Port)
	h.BaudRate, h.DataBits, h.Parity, h.StopBits, h.Timeout = 9600, 8, "N", 1, 500*time.Millisecond
	if err := h.Connect(); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	client := gm.NewClient(h)
	plan, err := NewPollPlan(points, Limits{MaxGap: 16})
	if err != nil {
		t.Fatal(err)
	}
	gas := func(id byte) (float64, error) {
		t.Helper()
		h.SlaveId = id
		rs, _, err := Poll(client, plan, points, fmt.Sprint("gas-", id), pollT0, nil, nil)
		for _, r := range rs {
			if r.Point == "gas" {
				return r.Value, err
			}
		}
		return math.NaN(), err
	}
	if v, err := gas(1); err != nil || v != 12.5 {
		t.Fatalf("slave 1: %v, %v", v, err)
	}
	if v, err := gas(2); err != nil || v != 25 {
		t.Fatalf("slave 2: %v, %v", v, err)
	}
	srv.KillSlave(t, 2)
	if _, err := gas(2); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("dead slave 2: %v, want a timeout", err)
	}
	if v, err := gas(1); err != nil || v != 12.5 {
		t.Fatalf("slave 1 after its neighbour died: %v, %v", v, err)
	}
}
