package rules

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// Curves a CO rule could be given, each time inside the standard's window:
// EN 50291-1 50 ppm 60-90 min, 100 ppm 10-40 min, 300 ppm within 3 min
// (2m30s leaves half a minute for reporting); UL 2034 70 ppm 60-240 min,
// 150 ppm 10-50 min, 400 ppm 4-15 min.
var (
	en50291 = []CurvePoint{{Level: 50, Time: 75 * time.Minute}, {Level: 100, Time: 25 * time.Minute}, {Level: 300, Time: 150 * time.Second}}
	ul2034  = []CurvePoint{{Level: 70, Time: 120 * time.Minute}, {Level: 150, Time: 30 * time.Minute}, {Level: 400, Time: 8 * time.Minute}}
)

// coRule watches the co point of gas-1202; the device's type does not
// matter to an exposure rule.
func coRule(curve []CurvePoint) Rule {
	return Rule{ID: "co", Type: TypeExposure, Point: "co", Select: Selector{Devices: []string{"gas-1202"}}, Curve: curve}
}

// ticks are ticks every step from from to to, both included, that change
// nothing.
func ticks(from, to, every time.Duration) []step {
	var s []step
	for at := from; at <= to; at += every {
		s = append(s, tick(at, ""))
	}
	return s
}

func TestExposure(t *testing.T) {
	s, m, h := time.Second, time.Minute, time.Hour
	for _, tc := range []struct {
		name   string
		modify func(*Rule)
		script []step
	}{
		{"constant 300 ppm alarms at 2m30s, within EN 50291's 3 min", nil, slices.Concat(
			[]step{val(0, 300, "")}, ticks(s, 149*s, s),
			[]step{tick(150*s, "alarm/exposure"), tick(151*s, ""), val(3*m, 300, "")})},
		{"constant 30 ppm never alarms over 8 h", nil, slices.Concat(
			[]step{val(0, 30, "")}, ticks(s, 8*h, s))},
		{"just below the lowest point never alarms", nil, []step{val(0, 49.99, ""), tick(8*h, ""), val(8*h+s, 49.99, "")}},
		{"exactly at the lowest point alarms at its time", nil, []step{
			val(0, 50, ""), tick(74*m+59*s, ""), tick(75*m, "alarm/exposure")}},
		{"exactly at a middle point alarms at its time", nil, []step{
			val(0, 100, ""), tick(24*m+59*s, ""), tick(25*m, "alarm/exposure")}},
		{"many small steps add up to the curve time, not one tick later", nil, slices.Concat(
			[]step{val(0, 100, "")}, ticks(200*time.Millisecond, 25*m-200*time.Millisecond, 200*time.Millisecond),
			[]step{tick(25*m, "alarm/exposure")})}, // 7,500 fractions of 1/7500 add up to 0.99999999999993
		{"between two points the time is log-linear", nil, []step{
			// T(200) = 25m·(2m30s/25m)^½ = 474.34 s
			val(0, 200, ""), tick(7*m+54*s, ""), tick(7*m+55*s, "alarm/exposure")}},
		{"above the highest point its time holds", nil, []step{
			val(0, 1000, ""), tick(149*s, ""), tick(150*s, "alarm/exposure")}},
		{"100 ppm then 20 ppm restarts the dose", nil, []step{
			val(0, 100, ""), tick(20*m, ""), // 80 % of the dose
			val(20*m, 20, ""), val(21*m, 100, ""),
			tick(26*m, ""), // without the restart: alarm by 25m
			tick(45*m+59*s, ""), tick(46*m, "alarm/exposure")}},
		{"a varying concentration adds up its fractions", nil, []step{
			val(0, 100, ""), val(12*m+30*s, 300, ""), // half of 25m, then half of 2m30s
			tick(13*m+44*s, ""), tick(13*m+45*s, "alarm/exposure")}},
		{"the same fractions in the other order", nil, []step{
			val(0, 300, ""), val(75*s, 100, ""), tick(13*m+44*s, ""), tick(13*m+45*s, "alarm/exposure")}},
		{"a device silent between two readings alarms on ticks", nil, []step{
			val(0, 300, ""), tick(m, ""), tick(2*m+29*s, ""), tick(2*m+30*s, "alarm/exposure"),
			tick(10*m, ""), val(12*m, 20, "normal")}},
		{"a reading long after the last one counts the gap at the held level", nil, []step{
			val(0, 100, ""), val(30*m, 100, "alarm/exposure")}},
		{"holds at or above the lowest point, clears below it", nil, []step{
			val(0, 300, ""), tick(150*s, "alarm/exposure"), val(3*m, 60, ""), val(4*m, 50, ""), val(5*m, 49, "normal"),
			val(6*m, 300, ""), tick(8*m+29*s, ""), tick(8*m+30*s, "alarm/exposure")}},
		{"off_delay: a short dip neither clears nor restarts", func(r *Rule) { r.OffDelay = m }, []step{
			val(0, 300, ""), tick(150*s, "alarm/exposure"),
			val(3*m, 20, ""), val(3*m+30*s, 300, ""), tick(4*m+30*s, ""), // the dip was shorter than off_delay
			val(5*m, 20, ""), tick(5*m+59*s, ""), tick(6*m, "normal"), // this one was not
			val(6*m+10*s, 300, ""), tick(8*m+39*s, ""), tick(8*m+40*s, "alarm/exposure")}},
		{"severity from the rule", func(r *Rule) { r.Severity = "fire" }, []step{
			val(0, 300, ""), tick(150*s, "fire/exposure")}},
		{"bad and NaN readings neither restart nor feed the dose", nil, []step{
			val(0, 300, ""), {at: m, v: f(20), bad: true}, val(2*m, math.NaN(), ""), tick(150*s, "alarm/exposure")}},
		{"a bad reading before any good one starts nothing", nil, []step{
			{at: 0, v: f(300), bad: true}, tick(10*m, "")}},
		{"a step back in time adds nothing", nil, []step{
			val(0, 300, ""), tick(2*m, ""), tick(m, ""), // 80 % so far; the clock goes back a minute
			tick(m+29*s, ""), tick(m+30*s, "alarm/exposure")}},
		{"ticks before the first reading add nothing", nil, []step{
			tick(0, ""), tick(h, ""), val(h, 300, ""), tick(h+149*s, ""), tick(h+150*s, "alarm/exposure")}},
		{"a one-point curve", func(r *Rule) { r.Curve = []CurvePoint{{Level: 35, Time: 8 * h}} }, []step{
			val(0, 34, ""), tick(9*h, ""), val(9*h, 400, ""), tick(17*h-s, ""), tick(17*h, "alarm/exposure")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := coRule(en50291)
			if tc.modify != nil {
				tc.modify(&r)
			}
			run(t, r, "gas-1202", tc.script)
		})
	}
}

// firstAlarm holds a constant concentration from t0 on, ticking every
// step until limit, and returns when the rule first raised, or -1.
func firstAlarm(t *testing.T, curve []CurvePoint, ppm float64, every, limit time.Duration) time.Duration {
	t.Helper()
	r := coRule(curve)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	e, err := New([]Rule{r}, testDevices)
	if err != nil {
		t.Fatal(err)
	}
	buf := e.Reading(nil, &shouwang.Reading{Device: "gas-1202", Point: "co", Value: ppm, Time: t0}, t0)
	for at := time.Duration(0); at <= limit; at += every {
		buf = e.Tick(buf, t0.Add(at))
		for _, c := range buf {
			if c.Active {
				return at
			}
		}
	}
	return -1
}

// TestExposureStandards checks the two curves against the standards'
// windows: no alarm before the earliest time, an alarm by the latest.
func TestExposureStandards(t *testing.T) {
	m, day := time.Minute, 24*time.Hour
	for _, tc := range []struct {
		std            string
		curve          []CurvePoint
		ppm            float64
		earliest, by   time.Duration // by < 0: must never alarm
		every, horizon time.Duration
	}{
		{"EN 50291", en50291, 30, 0, -1, time.Second, 8 * time.Hour},
		{"EN 50291", en50291, 50, 60 * m, 90 * m, time.Second, 2 * time.Hour},
		{"EN 50291", en50291, 100, 10 * m, 40 * m, time.Second, time.Hour},
		{"EN 50291", en50291, 300, 0, 3 * m, time.Second, time.Hour},
		{"UL 2034", ul2034, 29, 0, -1, m, 30 * day},
		{"UL 2034", ul2034, 30, 0, -1, m, 30 * day},
		{"UL 2034", ul2034, 70, 60 * m, 240 * m, time.Second, 5 * time.Hour},
		{"UL 2034", ul2034, 150, 10 * m, 50 * m, time.Second, time.Hour},
		{"UL 2034", ul2034, 400, 4 * m, 15 * m, time.Second, time.Hour},
	} {
		t.Run(fmt.Sprintf("%s %gppm", tc.std, tc.ppm), func(t *testing.T) {
			got := firstAlarm(t, tc.curve, tc.ppm, tc.every, tc.horizon)
			switch {
			case tc.by < 0 && got >= 0:
				t.Fatalf("alarmed after %s; want no alarm within %s", got, tc.horizon)
			case tc.by >= 0 && (got < tc.earliest || got > tc.by):
				t.Fatalf("alarmed after %s; want between %s and %s", got, tc.earliest, tc.by)
			}
		})
	}
}

func TestValidateExposure(t *testing.T) {
	m := time.Minute
	for _, tc := range []struct {
		name  string
		curve []CurvePoint
		edit  func(*Rule)
		want  []string // empty: valid
	}{
		{"EN 50291", en50291, nil, nil},
		{"UL 2034", ul2034, nil, nil},
		{"one point", []CurvePoint{{Level: 35, Time: 8 * time.Hour}}, nil, nil},
		{"nothing", nil, func(r *Rule) { r.Point = "" },
			[]string{"point: must name the point", "curve: at least one point is needed"}},
		{"levels down, times up", []CurvePoint{{Level: 100, Time: 25 * m}, {Level: 50, Time: 75 * m}}, nil,
			[]string{"curve[1].level: 50 is not above the level before it, 100",
				"curve[1].time: 1h15m0s is not shorter than the time before it, 25m0s (a higher level must alarm sooner)"}},
		{"equal levels and times", []CurvePoint{{Level: 50, Time: 75 * m}, {Level: 50, Time: 25 * m}, {Level: 300, Time: 25 * m}}, nil,
			[]string{"curve[1].level: 50 is not above", "curve[2].time: 25m0s is not shorter"}},
		{"no time", []CurvePoint{{Level: 50}, {Level: 100, Time: -m}}, nil,
			[]string{"curve[0].time: 0s is not a time to alarm (want a positive duration", "curve[1].time: -1m0s is not a time to alarm"}},
		{"level not a number", []CurvePoint{{Level: math.NaN(), Time: m}, {Level: math.Inf(1), Time: time.Second}}, nil,
			[]string{"curve[0].level: NaN is not a level (want a finite number", "curve[1].level: +Inf is not a level"}},
		{"fields of other types", en50291, func(r *Rule) { r.OnDelay, r.Rise = m, 3 },
			[]string{"on_delay: does not apply", "rise: does not apply"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := coRule(tc.curve)
			if tc.edit != nil {
				tc.edit(&r)
			}
			checkProblems(t, r, tc.want)
		})
	}
}

// TestExposureDeterministic plays a varying concentration twice.
func TestExposureDeterministic(t *testing.T) {
	play := func() []string {
		e, _ := New([]Rule{coRule(en50291)}, testDevices)
		var out []string
		var buf []Change
		for i := range 20_000 {
			now := t0.Add(time.Duration(i) * 7 * time.Second)
			buf = buf[:0]
			if i%3 == 0 {
				// a slow swell from 0 to 350 ppm and back, with noise
				v := 150 + 200*math.Sin(float64(i)/500) + float64((i*7919)%40)
				buf = e.Reading(buf, &shouwang.Reading{Device: "gas-1202", Point: "co", Value: v, Time: now}, now)
			}
			buf = e.Tick(buf, now)
			for _, c := range buf {
				out = append(out, c.String())
			}
		}
		return out
	}
	a, b := play(), play()
	if strings.Join(a, "\n") != strings.Join(b, "\n") || len(a) < 4 {
		t.Fatalf("two plays differ or change too little: %d vs %d changes", len(a), len(b))
	}
}

// exposureEngine builds n devices with an EN 50291 exposure rule each.
func exposureEngine(tb testing.TB, n int) (*Engine, []shouwang.Reading) {
	devices := make([]shouwang.Device, n)
	rules := make([]Rule, n)
	for i := range devices {
		id := fmt.Sprintf("co-%05d", i)
		devices[i] = shouwang.Device{ID: id, Type: "co"}
		rules[i] = Rule{ID: "co-" + id, Type: TypeExposure, Point: "co", Select: Selector{Devices: []string{id}}, Curve: en50291}
	}
	e, err := New(rules, devices)
	if err != nil {
		tb.Fatal(err)
	}
	readings := make([]shouwang.Reading, 4096)
	for i := range readings {
		readings[i] = shouwang.Reading{Device: devices[(i*7919)%n].ID, Point: "co", Value: float64((i * 37) % 400)}
	}
	return e, readings
}

// BenchmarkExposureReading feeds readings of 0-400 ppm to 10,000 devices
// with an exposure rule each, the clock advancing a millisecond a reading.
func BenchmarkExposureReading(b *testing.B) {
	e, readings := exposureEngine(b, 10_000)
	buf := make([]Change, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		r := &readings[i%len(readings)]
		r.Time = now
		buf = e.Reading(buf[:0], r, now)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
}

// BenchmarkExposureTick ticks 10,000 exposure rules once a second.
func BenchmarkExposureTick(b *testing.B) {
	e, readings := exposureEngine(b, 10_000)
	buf := make([]Change, 0, 10_000)
	for i := range readings {
		readings[i].Time = t0
		buf = e.Reading(buf[:0], &readings[i], t0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		buf = e.Tick(buf[:0], t0.Add(time.Duration(i)*time.Second))
	}
}
