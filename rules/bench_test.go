package rules

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// BenchmarkReading evaluates readings against 10,000 devices with three
// rules each (30,000 rules): a two-level gas threshold, a CO threshold with
// an on-delay, and a stale watch.
func BenchmarkReading(b *testing.B) {
	const n = 10_000
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
		b.Fatal(err)
	}
	readings := make([]shouwang.Reading, 4096)
	for i := range readings {
		readings[i] = shouwang.Reading{Device: devices[(i*7919)%n].ID, Point: []string{"gas", "co"}[i%2],
			Value: float64((i * 13) % 40), Time: t0}
	}
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
