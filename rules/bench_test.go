package rules

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// thresholdEngine builds n devices with three rules each: a two-level gas
// threshold, a CO threshold with an on-delay, and a stale watch; its
// readings alternate gas and co.
func thresholdEngine(tb testing.TB, n int) (*Engine, []shouwang.Reading) {
	devices := make([]shouwang.Device, n)
	var rules []Rule
	for i := range devices {
		id := fmt.Sprintf("dev-%05d", i)
		devices[i] = shouwang.Device{ID: id, Type: "gas"}
		sel := Selector{Devices: []string{id}}
		rules = append(rules,
			Rule{ID: "gas-" + id, Type: TypeThreshold, Point: "gas", Select: sel, Deadband: 2,
				Levels: []Level{{Name: "warning", Above: f(10), Severity: "warning"}, {Name: "alarm", Above: f(25), Severity: "alarm"}}},
			Rule{ID: "co-" + id, Type: TypeThreshold, Point: "co", Select: sel, OnDelay: 30 * time.Second,
				Levels: []Level{{Name: "alarm", Above: f(50), Severity: "alarm"}}},
			Rule{ID: "stale-" + id, Type: TypeStale, Point: "gas", Select: sel, After: 10 * time.Minute},
		)
	}
	e, err := New(rules, devices)
	if err != nil {
		tb.Fatal(err)
	}
	readings := make([]shouwang.Reading, 4096)
	for i := range readings {
		readings[i] = shouwang.Reading{Device: devices[(i*7919)%n].ID, Point: []string{"gas", "co"}[i%2],
			Value: float64((i * 13) % 40), Time: t0}
	}
	return e, readings
}

// BenchmarkReading evaluates readings against 10,000 devices with three
// rules each (30,000 rules; see thresholdEngine).
func BenchmarkReading(b *testing.B) {
	e, readings := thresholdEngine(b, 10_000)
	buf := make([]Change, 0, 64)
	b.ReportAllocs()
	runtime.GC() // the setup's garbage is not this loop's to collect
	b.ResetTimer()
	for i := range b.N {
		r := &readings[i%len(readings)]
		buf = e.Reading(buf[:0], r, t0)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
}

// TestReadingDoesNotAllocate holds Engine.Reading (and Tick) to the zero
// allocations the benchmarks report, as a test that fails, for every
// per-device rule type on the hot path but expression, whose changing
// values are boxed for expr-lang (see BenchmarkExpression).
func TestReadingDoesNotAllocate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(testing.TB, int) (*Engine, []shouwang.Reading)
		n     int
		every time.Duration // the clock's step per reading
	}{
		{"threshold, on_delay and stale", thresholdEngine, 100, time.Second},
		{"exposure", exposureEngine, 100, time.Second},
		{"rate", rateEngine, 10, 10 * time.Millisecond}, // every device's ring fills and decimates
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, readings := tc.build(t, tc.n)
			buf := make([]Change, 0, 64)
			i := 0
			allocs := testing.AllocsPerRun(10_000, func() {
				now := t0.Add(time.Duration(i) * tc.every)
				r := &readings[i%len(readings)]
				r.Time = now
				buf = e.Tick(e.Reading(buf[:0], r, now), now)
				i++
			})
			if allocs != 0 {
				t.Fatalf("%g allocations per reading and tick, want 0", allocs)
			}
		})
	}
}
