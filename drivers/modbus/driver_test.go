package modbus

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/internal/testenv"
	"github.com/shouwang-iot/shouwang/mock"
)

// gasModel is the gas-detector-lel-generic profile's section, as the
// gateway hands it over (provisioned with the profile's units and
// severities).
func gasModel() *Model {
	m := &Model{Layout: "test", SlaveID: 1, Serial: Line{Baud: 9600}, MaxRegisters: 32, MaxGap: 4,
		Points: []PointMap{{Name: "gas", Register: Register{Table: InputRegisters, Address: 0, Type: U16, Scale: 0.1}}},
		Status: []StatusMap{{Name: "status", Table: InputRegisters, Address: 1,
			Bits: []BitEvent{{0, "low_alarm"}, {1, "high_alarm"}, {2, "fault"}}}},
	}
	m.Provision(map[string]string{"gas": "%LEL", "status": ""},
		map[string]shouwang.Severity{"low_alarm": shouwang.Warning, "high_alarm": shouwang.Alarm, "fault": shouwang.Fault})
	if err := m.Validate(); err != nil {
		panic(err)
	}
	return m
}

// gasSlave answers like a gas detector reading gas*0.1 %LEL with status.
func gasSlave(id byte, gas, status uint16) testenv.ModbusSlave {
	return testenv.ModbusSlave{ID: id, Input: []uint16{gas, status, 0, 0}, Holding: make([]uint16, 40)}
}

func hasEvent(kind string) func(shouwang.Batch) bool {
	return func(b shouwang.Batch) bool {
		return slices.ContainsFunc(b.Events, func(e shouwang.Event) bool { return e.Kind == kind })
	}
}

func reading(b shouwang.Batch, point string) (shouwang.Reading, bool) {
	i := slices.IndexFunc(b.Readings, func(r shouwang.Reading) bool { return r.Point == point })
	if i < 0 {
		return shouwang.Reading{}, false
	}
	return b.Readings[i], true
}

func hasReading(point string, value float64) func(shouwang.Batch) bool {
	return func(b shouwang.Batch) bool {
		r, ok := reading(b, point)
		return ok && r.Quality == shouwang.Good && r.Value == value
	}
}

func kinds(evs []shouwang.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind+"/"+e.Severity.String())
	}
	slices.Sort(out)
	return out
}

// startDriver builds and starts a driver over devices (all gas detectors)
// and stops it at cleanup, checking nothing is left running. The test
// takes the driver's batches in order with the recorder's NextBatch.
func startDriver(t *testing.T, c Config, devices ...shouwang.Device) (*Driver, *mock.Recorder) {
	t.Helper()
	leakcheck.Check(t)
	for i := range devices {
		devices[i].Profile = "gas-detector-lel-generic"
	}
	env := shouwang.DriverEnv{Name: "bus", Devices: devices, Now: time.Now,
		Models: map[string]shouwang.ModelConfig{"gas-detector-lel-generic": gasModel()}}
	drv, err := c.NewDriver(env)
	if err != nil {
		t.Fatal(err)
	}
	d := drv.(*Driver)
	out := &mock.Recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.Start(ctx, out); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
		cancel()
	})
	return d, out
}

func fastConfig(transport, addr string) Config {
	c := DefaultConfig()
	c.Transport, c.Interval, c.Timeout = transport, 50*time.Millisecond, 300*time.Millisecond
	c.OfflineAfter, c.MinBackoff, c.MaxBackoff = 2, 200*time.Millisecond, time.Second
	if transport == TransportRTU {
		c.Port = addr
	} else {
		c.Address = addr
	}
	return c
}

// TestDriverStatusEvents: over Modbus TCP, the first read reports the
// detector's state (every status flag, the clear ones as clears), and a
// register changing mid-run raises exactly the events that changed, with
// the profile's severities; the reading follows the register.
func TestDriverStatusEvents(t *testing.T) {
	srv := testenv.StartModbusTCP(t, gasSlave(1, 125, 0))
	_, out := startDriver(t, fastConfig(TransportTCP, srv.Addr), shouwang.Device{ID: "gas-1", Address: "1"})

	first := out.NextBatch(t, 5*time.Second, "the first read", hasReading("gas", 12.5))
	if r, _ := reading(first, "gas"); r.Unit != "%LEL" || r.Device != "gas-1" {
		t.Errorf("first reading %+v", r)
	}
	if got, want := kinds(first.Events), []string{"fault_clear/info", "high_clear/info", "low_clear/info"}; !slices.Equal(got, want) {
		t.Errorf("first read's events %v, want %v", got, want)
	}

	srv.Set(t, 1, "ir", 1, 0b001) // low alarm
	b := out.NextBatch(t, 5*time.Second, "low_alarm", hasEvent("low_alarm"))
	if got := kinds(b.Events); !slices.Equal(got, []string{"low_alarm/warning"}) {
		t.Errorf("events %v, want only low_alarm/warning", got)
	}
	if b.Events[0].Attrs["raw"] != "0x0001" || !strings.Contains(b.Events[0].Message, "bit 0 set") {
		t.Errorf("event %+v", b.Events[0])
	}

	srv.Set(t, 1, "ir", 0, 300)
	srv.Set(t, 1, "ir", 1, 0b110) // high alarm and fault; low alarm ends
	b = out.NextBatch(t, 5*time.Second, "high_alarm", hasEvent("high_alarm"))
	if got, want := kinds(b.Events), []string{"fault/fault", "high_alarm/alarm", "low_clear/info"}; !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	out.NextBatch(t, 5*time.Second, "gas at 30 %LEL", hasReading("gas", 30))
}

// TestDriverServerRestart: a Modbus TCP peer that restarts (its
// connections cut) is re-dialled and read again, without a restart of
// the driver, and the failure is counted.
func TestDriverServerRestart(t *testing.T) {
	srv := testenv.StartModbusTCP(t, gasSlave(1, 125, 0))
	c := fastConfig(TransportTCP, srv.Addr)
	c.OfflineAfter = 1000 // this test is about the connection, not offline
	d, out := startDriver(t, c, shouwang.Device{ID: "gas-1", Address: "1"})
	out.NextBatch(t, 5*time.Second, "a read", hasReading("gas", 12.5))

	srv = srv.Restart(t)
	srv.Set(t, 1, "ir", 0, 200) // so the reads after the restart are told apart
	out.NextBatch(t, 10*time.Second, "a read from the restarted server", hasReading("gas", 20))
	failures := 0.0
	for _, k := range failureKinds {
		failures += testenv.MetricValue(t, d, "shouwang_modbus_failures_total", "device=gas-1", "kind="+k)
	}
	if failures == 0 {
		t.Error("the restart cost no failed poll; was the connection really cut?")
	}
}

// TestDriverOfflineOnline: a slave that stops answering goes offline (a
// fault event) after OfflineAfter polls, is retried with backoff, and on
// answering again comes back online and re-reports its status.
func TestDriverOfflineOnline(t *testing.T) {
	srv := testenv.StartModbusTCP(t, gasSlave(1, 125, 0b100))
	d, out := startDriver(t, fastConfig(TransportTCP, srv.Addr), shouwang.Device{ID: "gas-1", Address: "1"})
	out.NextBatch(t, 5*time.Second, "the fault", hasEvent("fault"))

	srv.KillSlave(t, 1)
	b := out.NextBatch(t, 5*time.Second, "offline", hasEvent("offline"))
	if e := b.Events[0]; e.Severity != shouwang.Fault || !strings.Contains(e.Message, "slave 1 at "+srv.Addr) {
		t.Errorf("offline event %+v", e)
	}
	if v := testenv.MetricValue(t, d, "shouwang_modbus_device_online", "device=gas-1"); v != 0 {
		t.Errorf("online gauge %v while offline", v)
	}
	srv.ReviveSlave(t, 1)
	b = out.NextBatch(t, 5*time.Second, "online", hasEvent("online"))
	// Back online, the state is reported afresh: the fault still stands.
	if got, want := kinds(b.Events), []string{"fault/fault", "high_clear/info", "low_clear/info", "online/info"}; !slices.Equal(got, want) {
		t.Errorf("events on coming back %v, want %v", got, want)
	}
	if n := testenv.MetricValue(t, d, "shouwang_modbus_failures_total", "device=gas-1", "kind=timeout"); n < 2 {
		t.Errorf("%v timeouts counted, want at least OfflineAfter (2)", n)
	}
}

// TestDriverRTUDeadSlave: on one RS-485 bus (pymodbus RTU on a pty pair)
// a dead slave goes offline and the healthy ones keep being read.
func TestDriverRTUDeadSlave(t *testing.T) {
	srv := testenv.StartModbusRTU(t, 9600, gasSlave(1, 100, 0), gasSlave(2, 200, 0), gasSlave(3, 300, 0))
	srv.KillSlave(t, 2)
	c := fastConfig(TransportRTU, srv.Port)
	_, out := startDriver(t, c, shouwang.Device{ID: "gas-1", Address: "1"},
		shouwang.Device{ID: "gas-2", Address: "2"}, shouwang.Device{ID: "gas-3", Address: "3"})
	b := out.NextBatch(t, 10*time.Second, "gas-2 offline", hasEvent("offline"))
	if b.Events[0].Device != "gas-2" {
		t.Fatalf("offline event for %s", b.Events[0].Device)
	}
	// After it, both healthy slaves are still read, with their own values.
	seen := map[string]bool{}
	out.NextBatch(t, 5*time.Second, "reads of gas-1 and gas-3", func(b shouwang.Batch) bool {
		if r, ok := reading(b, "gas"); ok && r.Quality == shouwang.Good {
			seen[fmt.Sprintf("%s=%g", r.Device, r.Value)] = true
		}
		return seen["gas-1=10"] && seen["gas-3=30"]
	})
}

// TestDriverRTUOverTCP reads a detector behind a serial server: RTU
// frames on a TCP socket.
func TestDriverRTUOverTCP(t *testing.T) {
	srv := testenv.StartModbusRTUOverTCP(t, gasSlave(7, 55, 0b010))
	_, out := startDriver(t, fastConfig(TransportRTUOverTCP, srv.Addr), shouwang.Device{ID: "gas-7", Address: "7"})
	b := out.NextBatch(t, 5*time.Second, "a read", hasReading("gas", 5.5))
	if !hasEvent("high_alarm")(b) {
		t.Errorf("events %v, want high_alarm", kinds(b.Events))
	}
}

// TestDriverMetrics: the driver is a prometheus.Collector with a series
// per device and failure kind from the start.
func TestDriverMetrics(t *testing.T) {
	c := fastConfig(TransportTCP, "127.0.0.1:1")
	drv, err := c.NewDriver(shouwang.DriverEnv{Name: "bus", Devices: []shouwang.Device{{ID: "gas-1", Address: "1", Profile: "p"}},
		Models: map[string]shouwang.ModelConfig{"p": gasModel()}})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(drv.(prometheus.Collector)); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		if f.GetName() == "shouwang_modbus_failures_total" {
			n = len(f.GetMetric())
		}
	}
	if n != len(failureKinds) {
		t.Errorf("%d failure series, want %d", n, len(failureKinds))
	}
	if err := drv.Close(); err != nil {
		t.Error(err)
	}
}

// canned is a Reader whose every read gets the same data bytes: the
// allocation test below counts the driver's allocations, not a client's.
type canned []byte

func (a canned) ReadCoils(_, _ uint16) ([]byte, error)            { return a, nil }
func (a canned) ReadDiscreteInputs(_, _ uint16) ([]byte, error)   { return a, nil }
func (a canned) ReadHoldingRegisters(_, _ uint16) ([]byte, error) { return a, nil }
func (a canned) ReadInputRegisters(_, _ uint16) ([]byte, error)   { return a, nil }

// TestPollCycleDoesNotAllocate: on the hot path, decoding a poll's answers
// and finding that no status flag changed allocate nothing (the readings
// slice, which the pipeline keeps, is the driver's one allocation per
// poll); the first read reports every flag.
func TestPollCycleDoesNotAllocate(t *testing.T) {
	// As the driver polls: keeping each point's raw registers too.
	c := fastConfig(TransportTCP, "127.0.0.1:1")
	drv, err := c.NewDriver(shouwang.DriverEnv{Name: "bus", Devices: []shouwang.Device{{ID: "gas-1", Address: "1", Profile: "p"}},
		Models: map[string]shouwang.ModelConfig{"p": gasModel()}})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	dv := drv.(*Driver).devices["gas-1"]
	var r Reader = canned{0x00, 0x7D, 0x00, 0b101} // gas 12.5 %LEL; low alarm and fault
	readings := make([]shouwang.Reading, 0, len(dv.points))
	events := make([]shouwang.Event, 0, 8)
	cycle := func() {
		var err error
		if readings, _, err = Poll(r, dv.plan, dv.points, dv.ID, pollT0, readings[:0], dv.keepRaw); err != nil {
			t.Fatal(err)
		}
		events = dv.statusEvents(readings, pollT0, events[:0])
	}
	cycle()
	if got, want := kinds(events), []string{"fault/fault", "high_clear/info", "low_alarm/warning"}; !slices.Equal(got, want) {
		t.Errorf("first read's events %v, want %v", got, want)
	}
	if n := testing.AllocsPerRun(100, cycle); n != 0 {
		t.Errorf("%v allocations per unchanged poll, want 0", n)
	}
	if len(events) != 0 || len(readings) != 2 {
		t.Errorf("unchanged poll: %d readings, events %v", len(readings), kinds(events))
	}
}

// BenchmarkPollCycle is one poll of a gas detector from canned answers,
// as the driver makes it (keeping the raw registers for the installer's
// page) and without: what the raw view costs every poll.
func BenchmarkPollCycle(b *testing.B) {
	c := fastConfig(TransportTCP, "127.0.0.1:1")
	drv, err := c.NewDriver(shouwang.DriverEnv{Name: "bus", Devices: []shouwang.Device{{ID: "gas-1", Address: "1", Profile: "p"}},
		Models: map[string]shouwang.ModelConfig{"p": gasModel()}})
	if err != nil {
		b.Fatal(err)
	}
	defer drv.Close()
	dv := drv.(*Driver).devices["gas-1"]
	var r Reader = canned{0x00, 0x7D, 0x00, 0b101}
	readings := make([]shouwang.Reading, 0, len(dv.points))
	for _, bc := range []struct {
		name string
		raw  RawWords
	}{{"raw", dv.keepRaw}, {"no-raw", nil}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				readings, _, _ = Poll(r, dv.plan, dv.points, dv.ID, pollT0, readings[:0], bc.raw)
			}
		})
	}
}
