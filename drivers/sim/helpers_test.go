package sim

import (
	"math"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

const (
	gasID   = "1202-kitchen-gas"
	coID    = "1202-kitchen-co"
	smokeID = "1202-hall-smoke"
)

// t0 is when every test model starts.
var t0 = time.Date(2026, 3, 1, 18, 0, 0, 0, time.FixedZone("CST", 8*3600))

func testDevices() []shouwang.Device {
	return []shouwang.Device{
		{ID: gasID, Name: "1202 厨房燃气探测器", Type: TypeGas, Driver: "sim"},
		{ID: coID, Name: "1202 厨房一氧化碳报警器", Type: TypeCO, Driver: "sim"},
		{ID: smokeID, Name: "1202 客厅烟感", Type: TypeSmoke, Driver: "sim"},
	}
}

// MustModel builds a model of testDevices with the incidents, starting at t0.
func MustModel(tb testing.TB, seed int64, incidents ...Incident) *Model {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Seed = seed
	cfg.Incidents = incidents
	m, err := NewModel(cfg, testDevices(), t0)
	if err != nil {
		tb.Fatalf("NewModel: %v", err)
	}
	return m
}

// run steps m every step from t0 up to and including t0+until, checks every
// batch's invariants and hands it to fn with the time since start.
func run(tb testing.TB, m *Model, step, until time.Duration, fn func(el time.Duration, b shouwang.Batch)) {
	tb.Helper()
	for el := time.Duration(0); el <= until; el += step {
		now := t0.Add(el)
		b := m.Step(now)
		checkBatch(tb, b, now)
		fn(el, b)
	}
}

// checkBatch checks what holds for every batch: times are the step time,
// values are finite and never negative (nor -0), points have their unit.
func checkBatch(tb testing.TB, b shouwang.Batch, now time.Time) {
	tb.Helper()
	units := map[string]string{"gas": "%LEL", "co": "ppm", "smoke_density": "dB/m", "battery": "%"}
	for _, r := range b.Readings {
		if !r.Time.Equal(now) {
			tb.Fatalf("%s %s: time %v, want %v", r.Device, r.Point, r.Time, now)
		}
		if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || r.Value < 0 || math.Signbit(r.Value) {
			tb.Fatalf("%s %s at %v: value %v, want finite and >= 0", r.Device, r.Point, now.Sub(t0), r.Value)
		}
		if u, ok := units[r.Point]; !ok || u != r.Unit {
			tb.Fatalf("%s: point %q unit %q, want one of %v", r.Device, r.Point, r.Unit, units)
		}
	}
	for _, e := range b.Events {
		if !e.Time.Equal(now) {
			tb.Fatalf("%s %s: time %v, want %v", e.Device, e.Kind, e.Time, now)
		}
	}
}

// reading finds a device's reading of a point in b.
func reading(b shouwang.Batch, device, point string) (shouwang.Reading, bool) {
	for _, r := range b.Readings {
		if r.Device == device && r.Point == point {
			return r, true
		}
	}
	return shouwang.Reading{}, false
}

// mustReading is reading that fails the test when the reading is missing.
func mustReading(tb testing.TB, b shouwang.Batch, el time.Duration, device, point string) shouwang.Reading {
	tb.Helper()
	r, ok := reading(b, device, point)
	if !ok {
		tb.Fatalf("at %v: no %s reading from %s in %+v", el, point, device, b)
	}
	return r
}

// eventsOf returns the device's events in b.
func eventsOf(b shouwang.Batch, device string) []shouwang.Event {
	var evs []shouwang.Event
	for _, e := range b.Events {
		if e.Device == device {
			evs = append(evs, e)
		}
	}
	return evs
}
