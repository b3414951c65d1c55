package grading

import (
	"encoding/json"
	"maps"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/rules"
)

func TestComputeCounts(t *testing.T) {
	const s, m, h = time.Second, time.Minute, time.Hour
	lastOfOctober := time.Date(2026, 10, 31, 23, 59, 59, 999999999, beijing)
	lastOfNovember := time.Date(2026, 11, 30, 23, 59, 59, 999999999, beijing)
	for _, tc := range []struct {
		name   string
		now    time.Time // zero: the month is long over
		alarms []rules.Alarm
		events []shouwang.Event
		want   map[string]map[string]float64 // counts by building, then part; missing: all zero
	}{
		{name: "nothing against anyone"},
		{
			name: "alarms at the month's edges, Beijing time",
			alarms: []rules.Alarm{
				raised("kitchen-1", shouwang.Alarm, lastOfOctober),                                  // October
				raised("kitchen-1", shouwang.Alarm, nov(1, 0, 0)),                                   // the month's first instant
				raised("kitchen-1", shouwang.Alarm, lastOfNovember),                                 // its last
				raised("kitchen-1", shouwang.Alarm, nov(31, 0, 0)),                                  // 1 December
				raised("kitchen-1", shouwang.Alarm, nov(1, 0, 30).UTC()),                            // 31 Oct 16:30 UTC is November here
				raised("kitchen-1", shouwang.Alarm, time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)), // 1 Dec 04:00 here
			},
			want: map[string]map[string]float64{"sunshine/1": {PartAlarms: 3}},
		},
		{
			name: "severities",
			alarms: []rules.Alarm{
				raised("kitchen-1", shouwang.Warning, nov(2, 10, 0)),
				raised("kitchen-1", shouwang.Alarm, nov(2, 11, 0)),
				raised("smoke-1", shouwang.Fire, nov(3, 4, 0)),
				func() rules.Alarm { // rose to fire, back to alarm since
					a := raised("smoke-1", shouwang.Alarm, nov(4, 4, 0))
					a.Peak = shouwang.Fire
					return a
				}(),
				raised("kitchen-1", shouwang.Fault, nov(5, 9, 0)), // counted from its event, if at all
				raised("kitchen-1", shouwang.Info, nov(5, 9, 0)),
			},
			want: map[string]map[string]float64{"sunshine/1": {PartAlarms: 4, PartFires: 2}},
		},
		{
			name: "unhandled",
			now:  nov(20, 12, 0),
			alarms: []rules.Alarm{
				waiting("kitchen-1", nov(3, 8, 0)),             // never acknowledged
				ackedAfter("kitchen-1", nov(3, 9, 0), 5*m+s),   // late
				ackedAfter("kitchen-1", nov(3, 10, 0), 5*m),    // at the deadline: in time
				ackedAfter("kitchen-1", nov(3, 11, 0), 30*s),   // in time
				waiting("kitchen-1", nov(20, 11, 58)),          // open and young
				waiting("kitchen-1", nov(20, 11, 55)),          // open, its deadline just now
				ackedAfter("kitchen-1", nov(20, 11, 50), 11*m), // acknowledged late, though "after" Now
				func() rules.Alarm { // a fault alarm is not an alarm here, answered or not
					a := waiting("kitchen-1", nov(4, 0, 0))
					a.Severity, a.Peak = shouwang.Fault, shouwang.Fault
					return a
				}(),
				func() rules.Alarm { // shelving is not an answer
					a := waiting("smoke-1", nov(5, 0, 0))
					a.Shelf = rules.Shelving{Operator: "li.wei", Since: nov(5, 0, 1), Until: nov(5, 8, 0)}
					return a
				}(),
			},
			want: map[string]map[string]float64{"sunshine/1": {PartAlarms: 8, PartUnhandled: 4}},
		},
		{
			name: "the month long over, an alarm left waiting at its end",
			alarms: []rules.Alarm{
				waiting("kitchen-1", lastOfNovember),
			},
			want: map[string]map[string]float64{"sunshine/1": {PartAlarms: 1, PartUnhandled: 1}},
		},
		{
			name: "the month running, Now before an alarm's deadline",
			now:  nov(30, 23, 58),
			alarms: []rules.Alarm{
				waiting("kitchen-1", nov(30, 23, 57)),
			},
			want: map[string]map[string]float64{"sunshine/1": {PartAlarms: 1}},
		},
		{
			name: "faults and clears",
			events: []shouwang.Event{
				event("kitchen-1", "fault", shouwang.Fault, nov(2, 3, 0)),
				event("kitchen-1", "fault_clear", shouwang.Fault, nov(2, 4, 0)),
				event("smoke-1", "low_battery", shouwang.Fault, nov(6, 0, 0)),
				event("smoke-1", "low_battery_clear", shouwang.Info, nov(7, 0, 0)),
				event("smoke-1", "smoke_alarm", shouwang.Fire, nov(8, 0, 0)), // an alarm, not a fault
				event("smoke-1", "tamper", shouwang.Warning, nov(8, 0, 0)),
				event("smoke-1", "self_test", shouwang.Info, nov(8, 0, 0)),
				event("kitchen-1", "fault", shouwang.Fault, lastOfOctober),
				event("kitchen-1", "fault", shouwang.Fault, nov(31, 0, 0)),
				// offline is weighed by the hour, not as a fault
				offline("kitchen-1", nov(10, 0, 0)), online("kitchen-1", nov(10, 1, 30)),
			},
			want: map[string]map[string]float64{"sunshine/1": {PartFaults: 2, PartOfflineHours: 1.5}},
		},
		{
			name: "offline across the month's start, and at its end",
			events: []shouwang.Event{
				offline("kitchen-1", nov(0, 20, 0)), online("kitchen-1", nov(1, 2, 0)), // 2h of November
				offline("smoke-1", time.Date(2026, 10, 20, 0, 0, 0, 0, beijing)), // all October
				online("smoke-1", time.Date(2026, 10, 21, 0, 0, 0, 0, beijing)),
				offline("smoke-1", nov(30, 22, 0)), online("smoke-1", nov(31, 3, 0)), // 2h of November
			},
			want: map[string]map[string]float64{"sunshine/1": {PartOfflineHours: 4}},
		},
		{
			name: "offline since before the month and still at Now",
			now:  nov(3, 6, 0),
			events: []shouwang.Event{
				offline("kitchen-1", nov(0, 12, 0)), // 2 days 6h of November by Now
				offline("smoke-1", nov(3, 3, 45)),   // 2.25h
				online("smoke-1", nov(3, 7, 0)),     // after Now: not yet known, and no matter
				offline("kitchen-1", nov(2, 0, 0)),  // already offline
			},
			want: map[string]map[string]float64{"sunshine/1": {PartOfflineHours: 54 + 2.25}},
		},
		{
			name: "offline events out of order, repeated, and an online with no offline",
			events: []shouwang.Event{
				online("kitchen-1", nov(5, 2, 0)),
				offline("kitchen-1", nov(5, 1, 0)),
				offline("kitchen-1", nov(5, 1, 30)),
				online("kitchen-1", nov(5, 2, 0)),
				online("kitchen-1", nov(6, 0, 0)),
				offline("kitchen-1", nov(7, 0, 0)),
				online("kitchen-1", nov(7, 0, 20)), // a third of an hour: 0.33
			},
			want: map[string]map[string]float64{"sunshine/1": {PartOfflineHours: 1.33}},
		},
		{
			name: "a month not begun by Now",
			now:  nov(0, 12, 0),
			events: []shouwang.Event{
				offline("kitchen-1", nov(0, 10, 0)),
			},
		},
		{
			name: "other buildings, another site's building 1, unknown devices",
			alarms: []rules.Alarm{
				raised("kitchen-2", shouwang.Alarm, nov(2, 0, 0)),
				raised("moon-kitchen-1", shouwang.Fire, nov(2, 0, 0)),
				raised("garage-9", shouwang.Alarm, nov(2, 0, 0)),
				raised("nobody-knows", shouwang.Alarm, nov(2, 0, 0)),
			},
			events: []shouwang.Event{
				event("kitchen-2", "fault", shouwang.Fault, nov(2, 0, 0)),
				event("garage-9", "fault", shouwang.Fault, nov(2, 0, 0)),
				offline("moon-kitchen-1", nov(9, 0, 0)), online("moon-kitchen-1", nov(9, 3, 0)),
				offline("nobody-knows", nov(9, 0, 0)),
			},
			want: map[string]map[string]float64{
				"sunshine/2": {PartAlarms: 1, PartFaults: 1},
				"moon/1":     {PartAlarms: 1, PartFires: 1, PartOfflineHours: 3},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Month: nov(15, 0, 0), Now: tc.now, Buildings: buildings, Devices: devices, Alarms: tc.alarms, Events: tc.events}
			grades := Compute(DefaultConfig(), in)
			if len(grades) != len(buildings) {
				t.Fatalf("got %d grades, want one per building (%d)", len(grades), len(buildings))
			}
			for i, g := range grades {
				b := buildings[i]
				if g.Site != b.Site || g.Building != b.ID || g.Name != b.Name {
					t.Errorf("grade %d is for %s/%s %q, want %s %q", i, g.Site, g.Building, g.Name, key(b), b.Name)
				}
				want := tc.want[key(b)]
				if want == nil {
					want = map[string]float64{}
				}
				if got := counts(g); !maps.Equal(got, want) {
					t.Errorf("%s: counts %v, want %v", key(b), got, want)
				}
			}
		})
	}
}

func TestComputeEmptyBuilding(t *testing.T) {
	got := Compute(DefaultConfig(), Input{Month: nov(1, 0, 0), Buildings: []Building{sunshine1}})
	want := []Grade{{
		Site: "sunshine", Building: "1", Name: "1号楼", Grade: Green, Score: 0,
		Parts: []Part{
			{What: PartAlarms, Count: 0, Weight: 2, Points: 0, Explain: "0 alarms raised × 2 = 0"},
			{What: PartFires, Count: 0, Weight: 5, Points: 0, Explain: "0 fire alarms (extra) × 5 = 0"},
			{What: PartFaults, Count: 0, Weight: 1, Points: 0, Explain: "0 faults reported × 1 = 0"},
			{What: PartUnhandled, Count: 0, Weight: 5, Points: 0, Explain: "0 alarms not acknowledged within 5m × 5 = 0"},
			{What: PartOfflineHours, Count: 0, Weight: 0.2, Points: 0, Explain: "0 device-hours offline × 0.2 = 0"},
		},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

// TestComputeExplains checks a whole grade: the points, their sum, the
// colour and the words, rounded to 2 decimals.
func TestComputeExplains(t *testing.T) {
	in := Input{
		Month:     nov(1, 0, 0),
		Now:       nov(31, 0, 0),
		Buildings: []Building{sunshine1},
		Devices:   devices,
		Alarms: []rules.Alarm{
			raised("kitchen-1", shouwang.Alarm, nov(2, 0, 0)),
			raised("smoke-1", shouwang.Fire, nov(3, 0, 0)),
			waiting("kitchen-1", nov(4, 0, 0)),
		},
		Events: []shouwang.Event{
			event("kitchen-1", "fault", shouwang.Fault, nov(5, 0, 0)),
			offline("smoke-1", nov(6, 0, 0)), online("smoke-1", nov(6, 1, 20)), // 1.33h
			offline("kitchen-1", nov(7, 0, 0)), online("kitchen-1", nov(7, 2, 0)), // 2h
		},
	}
	got := Compute(DefaultConfig(), in)[0]
	want := Grade{
		Site: "sunshine", Building: "1", Name: "1号楼", Grade: Yellow, Score: 17.67,
		Parts: []Part{
			{What: PartAlarms, Count: 3, Weight: 2, Points: 6, Explain: "3 alarms raised × 2 = 6"},
			{What: PartFires, Count: 1, Weight: 5, Points: 5, Explain: "1 fire alarm (extra) × 5 = 5"},
			{What: PartFaults, Count: 1, Weight: 1, Points: 1, Explain: "1 fault reported × 1 = 1"},
			{What: PartUnhandled, Count: 1, Weight: 5, Points: 5, Explain: "1 alarm not acknowledged within 5m × 5 = 5"},
			{What: PartOfflineHours, Count: 3.33, Weight: 0.2, Points: 0.67, Explain: "3.33 device-hours offline × 0.2 = 0.67"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	b, err := json.Marshal(got.Parts[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"what":"alarms","count":3,"weight":2,"points":6,"explain":"3 alarms raised × 2 = 6"}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
}

func TestComputeColours(t *testing.T) {
	c := DefaultConfig()
	c.Weights = Weights{OfflineHour: 1} // the score is the offline hours
	for _, tc := range []struct {
		minutes int
		score   float64
		grade   string
	}{
		{0, 0, Green},
		{599, 9.98, Green},
		{600, 10, Yellow},
		{1499, 24.98, Yellow},
		{1500, 25, Red},
		{3000, 50, Red},
	} {
		in := Input{
			Month: nov(1, 0, 0), Buildings: []Building{sunshine1}, Devices: devices,
			Events: []shouwang.Event{offline("kitchen-1", nov(2, 0, 0)), online("kitchen-1", nov(2, 0, tc.minutes))},
		}
		g := Compute(c, in)[0]
		if g.Score != tc.score || g.Grade != tc.grade {
			t.Errorf("%d minutes offline: score %v %s, want %v %s", tc.minutes, g.Score, g.Grade, tc.score, tc.grade)
		}
	}
}

func TestComputeScoreIsSumOfShownPoints(t *testing.T) {
	c := DefaultConfig()
	c.Weights = Weights{Alarm: 0.1, Fire: 0.2, Fault: 0.7, Unhandled: 1.3, OfflineHour: 0.333}
	in := Input{
		Month: nov(1, 0, 0), Buildings: []Building{sunshine1}, Devices: devices,
		Alarms: []rules.Alarm{raised("smoke-1", shouwang.Fire, nov(2, 0, 0)), waiting("kitchen-1", nov(3, 0, 0))},
		Events: []shouwang.Event{
			event("kitchen-1", "fault", shouwang.Fault, nov(5, 0, 0)),
			offline("smoke-1", nov(6, 0, 0)), online("smoke-1", nov(6, 0, 7)),
		},
	}
	g := Compute(c, in)[0]
	var sum float64
	for _, p := range g.Parts {
		if p.Points != math.Round(p.Points*100)/100 {
			t.Errorf("%s: points %v not rounded to 2 decimals", p.What, p.Points)
		}
		sum += p.Points
	}
	if math.Abs(g.Score-sum) > 1e-9 || g.Score != math.Round(g.Score*100)/100 {
		t.Errorf("score %v, want the parts' %v rounded to 2 decimals", g.Score, sum)
	}
}

func TestComputeKeepsBuildingsOrder(t *testing.T) {
	order := []Building{moon1, sunshine2, sunshine1, {Site: "empty", ID: "x", Name: "空楼"}}
	grades := Compute(DefaultConfig(), Input{Month: nov(1, 0, 0), Buildings: order, Devices: devices,
		Alarms: []rules.Alarm{raised("kitchen-1", shouwang.Alarm, nov(2, 0, 0))}})
	for i, g := range grades {
		if g.Site != order[i].Site || g.Building != order[i].ID {
			t.Errorf("grade %d is %s/%s, want %s", i, g.Site, g.Building, key(order[i]))
		}
	}
	if grades[2].Score != 2 {
		t.Errorf("sunshine/1 scored %v, want 2", grades[2].Score)
	}
}
