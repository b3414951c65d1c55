package grading

import (
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/rules"
)

// beijing is a fixed +08:00 zone, so the tests need no tzdata.
var beijing = time.FixedZone("CST", 8*60*60)

// nov is an instant of November 2026, Beijing time: nov(3, 14, 30) is
// 3 November 14:30. Day 31 is 1 December, day 0 is 31 October.
func nov(day, hour, min int) time.Time { return time.Date(2026, 11, day, hour, min, 0, 0, beijing) }

// The community the Compute tests grade: two buildings of "sunshine" and
// one of "moon" that shares building 1's id.
var (
	sunshine1 = Building{Site: "sunshine", ID: "1", Name: "1号楼"}
	sunshine2 = Building{Site: "sunshine", ID: "2", Name: "2号楼"}
	moon1     = Building{Site: "moon", ID: "1", Name: "1号楼"}
	buildings = []Building{sunshine1, sunshine2, moon1}
	devices   = []shouwang.Device{
		device("kitchen-1", "sunshine", "1"),
		device("smoke-1", "sunshine", "1"),
		device("kitchen-2", "sunshine", "2"),
		device("moon-kitchen-1", "moon", "1"),
		device("garage-9", "sunshine", "9"), // a building nobody grades
	}
)

func device(id, site, building string) shouwang.Device {
	return shouwang.Device{ID: id, Name: id, Type: "gas", Location: shouwang.Location{Community: site, Building: building}}
}

// raised is an alarm on dev raised at t, acknowledged a minute later.
func raised(dev string, sev shouwang.Severity, t time.Time) rules.Alarm {
	return rules.Alarm{Device: dev, Rule: "gas_high", Severity: sev, Peak: sev, RaisedAt: t, ActiveSince: t,
		State: rules.StateAcknowledged, FirstAck: t.Add(time.Minute)}
}

// ackedAfter is an alarm raised at t and first acknowledged d later.
func ackedAfter(dev string, t time.Time, d time.Duration) rules.Alarm {
	a := raised(dev, shouwang.Alarm, t)
	a.FirstAck = t.Add(d)
	return a
}

// waiting is an alarm raised at t that nobody has acknowledged yet.
func waiting(dev string, t time.Time) rules.Alarm {
	a := raised(dev, shouwang.Alarm, t)
	a.State, a.FirstAck = rules.StateRaised, time.Time{}
	return a
}

func event(dev, kind string, sev shouwang.Severity, t time.Time) shouwang.Event {
	return shouwang.Event{Device: dev, Kind: kind, Severity: sev, Time: t}
}

func offline(dev string, t time.Time) shouwang.Event {
	return event(dev, "offline", shouwang.Fault, t)
}

func online(dev string, t time.Time) shouwang.Event {
	return event(dev, "online", shouwang.Info, t)
}

// counts is a grade's counts by part, leaving out the zeros.
func counts(g Grade) map[string]float64 {
	out := map[string]float64{}
	for _, p := range g.Parts {
		if p.Count != 0 {
			out[p.What] = p.Count
		}
	}
	return out
}

func key(b Building) string { return b.Site + "/" + b.ID }
