package rules

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// heatRule is a rate-of-rise heat rule: 8 °C within a minute.
func heatRule() Rule {
	return Rule{ID: "heat", Type: TypeRate, Point: "temperature", Select: Selector{Devices: []string{"gas-1202"}},
		Rise: 8, Window: time.Minute}
}

// ramp reads from + perStep·k every step from at on, n readings, changing
// nothing.
func ramp(at, every time.Duration, n int, from, perStep float64) []step {
	s := make([]step, n)
	for k := range s {
		s[k] = val(at+time.Duration(k)*every, from+perStep*float64(k), "")
	}
	return s
}

func TestRate(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name   string
		modify func(*Rule)
		script []step
	}{
		{"a slow rise below Rise never alarms", nil, ramp(0, 10*s, 120, 20, 1)}, // 6 °C a minute for 20 min
		{"a fast rise alarms", nil, []step{
			val(0, 20, ""), val(5*s, 24, ""), val(10*s, 30, "alarm/rate"), val(15*s, 35, ""), val(20*s, 40, "")}},
		{"a step exactly at Rise alarms", nil, []step{val(0, 20, ""), val(30*s, 28, "alarm/rate")}},
		{"a step just short of Rise does not", nil, []step{val(0, 20, ""), val(30*s, 27.99, "")}},
		{"exactly at Rise despite rounding", func(r *Rule) { r.Rise = 0.2 }, []step{
			val(0, 0.1, ""), val(s, 0.3, "alarm/rate")}}, // 0.3-0.1 < 0.2 in float64
		{"the rise is from the lowest reading in the window", nil, []step{
			val(0, 25, ""), val(10*s, 18, ""), val(20*s, 24, ""), val(30*s, 26, "alarm/rate")}},
		{"a fall is no rise", nil, []step{val(0, 60, ""), val(10*s, 20, ""), val(20*s, 21, "")}},
		{"flapping at Rise raises and clears each time", nil, []step{
			val(0, 20, ""), val(s, 28, "alarm/rate"), val(2*s, 27.9, "normal"), val(3*s, 28, "alarm/rate")}},
		{"flapping at Rise with off_delay raises once", func(r *Rule) { r.OffDelay = 10 * s }, []step{
			val(0, 20, ""), val(s, 28, "alarm/rate"), val(2*s, 27.9, ""), val(3*s, 28, ""), val(4*s, 27.5, ""),
			val(5*s, 28.1, ""), val(6*s, 27, ""), tick(15*s, ""), tick(16*s, "normal")}},
		{"the low reading slides out of the window", nil, []step{
			val(0, 20, ""), val(10*s, 30, "alarm/rate"), val(30*s, 30, ""),
			val(60*s, 30, ""), // 20 at 0 is exactly a window old: it still counts
			val(61*s, 30, "normal")}},
		{"a silent device keeps its condition", nil, []step{
			val(0, 20, ""), val(10*s, 30, "alarm/rate"), tick(10*time.Minute, ""), val(11*time.Minute, 30, "normal")}},
		{"on_samples", func(r *Rule) { r.OnSamples = 2 }, []step{
			val(0, 20, ""), val(s, 30, ""), val(2*s, 31, "alarm/rate"), val(3*s, 20, "normal")}},
		{"severity from the rule", func(r *Rule) { r.Severity = "warning" }, []step{
			val(0, 20, ""), val(s, 40, "warning/rate")}},
		{"bad and NaN readings are no minimum", nil, []step{
			val(0, 20, ""), {at: s, v: f(5), bad: true}, val(2*s, math.NaN(), ""), val(3*s, 21, ""), val(4*s, 27, "")}},
		{"a step back in time starts the history over", nil, []step{
			val(0, 20, ""), val(10*s, 25, ""), val(5*s, 30, ""), val(6*s, 37, ""), val(7*s, 38, "alarm/rate")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := heatRule()
			if tc.modify != nil {
				tc.modify(&r)
			}
			run(t, r, "gas-1202", tc.script)
		})
	}
}

// playRate feeds value(k) every step, n readings, and returns the changes
// with their times after t0.
func playRate(t *testing.T, r Rule, every time.Duration, n int, value func(k int) float64) (*rate, []Change) {
	t.Helper()
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	e, err := New([]Rule{r}, testDevices)
	if err != nil {
		t.Fatal(err)
	}
	var out []Change
	for k := range n {
		now := t0.Add(time.Duration(k) * every)
		out = e.Reading(out, &shouwang.Reading{Device: "gas-1202", Point: r.Point, Value: value(k), Time: now}, now)
		if x := e.all[0].check.(*rate); x.n > rateRing {
			t.Fatalf("reading %d: %d buckets in a ring of %d", k, x.n, rateRing)
		}
	}
	return e.all[0].check.(*rate), out
}

func changeTimes(cs []Change) string {
	var s []string
	for _, c := range cs {
		state := "normal"
		if c.Active {
			state = c.Level
		}
		s = append(s, fmt.Sprintf("%s@%s", state, c.Time.Sub(t0)))
	}
	return strings.Join(s, " ")
}

// TestRateManySamples reads ten times a second, 600 readings a window, far
// more than the ring's 64 buckets.
func TestRateManySamples(t *testing.T) {
	const every = 100 * time.Millisecond
	span := heatRule().Window / (rateRing - 2)

	t.Run("a slow rise never alarms", func(t *testing.T) {
		x, cs := playRate(t, heatRule(), every, 6000, func(k int) float64 { return 20 + float64(k)/100 }) // 6 °C/min
		if len(cs) != 0 {
			t.Fatalf("changes %s, want none", changeTimes(cs))
		}
		if x.n < rateRing-4 {
			t.Fatalf("%d buckets in use: the readings were not decimated into the ring", x.n)
		}
	})

	t.Run("a fast rise alarms on time and clears once it levels off", func(t *testing.T) {
		// 12 °C/min for a minute and a half, then level at 38.
		_, cs := playRate(t, heatRule(), every, 3000, func(k int) float64 { return 20 + float64(min(k, 900))/50 })
		if len(cs) != 2 || !cs[0].Active || cs[1].Active {
			t.Fatalf("changes %s, want one alarm and one return", changeTimes(cs))
		}
		if got := cs[0].Time.Sub(t0); got != 40*time.Second { // 28 - 20 = 8
			t.Fatalf("alarm at %s, want 40s", got)
		}
		// Exactly, the rise over the window falls below 8 when the reading
		// a window back is above 30, at 110.1s; decimation may hold the old
		// minimum up to one bucket longer.
		if got := cs[1].Time.Sub(t0); got < 110*time.Second+every || got > 110*time.Second+every+span {
			t.Fatalf("return at %s, want between 110.1s and %s", got, 110*time.Second+every+span)
		}
	})

	t.Run("a one-reading dip is kept through decimation", func(t *testing.T) {
		_, cs := playRate(t, heatRule(), every, 2000, func(k int) float64 {
			if k == 300 {
				return 10
			}
			return 50
		})
		if len(cs) != 2 || !cs[0].Active || cs[1].Active || cs[0].Time.Sub(t0) != 30*time.Second+every {
			t.Fatalf("changes %s, want an alarm at 30.1s and a return", changeTimes(cs))
		}
		if got := cs[1].Time.Sub(t0); got < 90*time.Second+every || got > 90*time.Second+every+span {
			t.Fatalf("return at %s, want between 90.1s and %s", got, 90*time.Second+every+span)
		}
	})

	t.Run("a burst faster than the clock resolves", func(t *testing.T) {
		// 10,000 readings in the same instant all fall into one bucket.
		x, cs := playRate(t, heatRule(), 0, 10_000, func(k int) float64 { return float64(min(k, 9)) })
		if x.n != 1 || len(cs) != 1 || !cs[0].Active {
			t.Fatalf("%d buckets, changes %s; want 1 bucket and an alarm (0 to 9 in no time)", x.n, changeTimes(cs))
		}
	})
}

func TestValidateRate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Rule)
		want []string // empty: valid
	}{
		{"heat", nil, nil},
		{"nothing", func(r *Rule) { r.Point, r.Rise, r.Window = "", 0, 0 },
			[]string{"point: must name the point", "rise: 0 is not a rise (want a positive amount", "window: 0s is not a window (want a positive duration"}},
		{"negative", func(r *Rule) { r.Rise, r.Window = -2, -time.Minute },
			[]string{"rise: -2 is not a rise", "window: -1m0s is not a window"}},
		{"not a number", func(r *Rule) { r.Rise = math.NaN() }, []string{"rise: NaN is not a rise"}},
		{"infinite", func(r *Rule) { r.Rise = math.Inf(1) }, []string{"rise: +Inf is not a rise"}},
		{"fields of other types", func(r *Rule) { r.Curve, r.OnDelay = en50291, time.Second },
			[]string{"curve: does not apply", "on_delay: does not apply"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := heatRule()
			if tc.edit != nil {
				tc.edit(&r)
			}
			checkProblems(t, r, tc.want)
		})
	}
}

// TestRateDeterministic plays a noisy rising and falling signal twice.
func TestRateDeterministic(t *testing.T) {
	play := func() string {
		_, cs := playRate(t, heatRule(), 300*time.Millisecond, 20_000, func(k int) float64 {
			return 30 + 20*math.Sin(float64(k)/200) + float64((k*7919)%7)
		})
		return changeTimes(cs)
	}
	a, b := play(), play()
	if a != b || strings.Count(a, "@") < 4 {
		t.Fatalf("two plays differ or change too little:\n%s\n%s", a, b)
	}
}

// rateEngine builds n devices with a rate rule each.
func rateEngine(tb testing.TB, n int) (*Engine, []shouwang.Reading) {
	devices := make([]shouwang.Device, n)
	rules := make([]Rule, n)
	for i := range devices {
		id := fmt.Sprintf("heat-%05d", i)
		devices[i] = shouwang.Device{ID: id, Type: "heat"}
		r := heatRule()
		r.ID, r.Select = "heat-"+id, Selector{Devices: []string{id}}
		rules[i] = r
	}
	e, err := New(rules, devices)
	if err != nil {
		tb.Fatal(err)
	}
	readings := make([]shouwang.Reading, 4096)
	for i := range readings {
		readings[i] = shouwang.Reading{Device: devices[(i*7919)%n].ID, Point: "temperature", Value: float64(20 + (i*13)%15)}
	}
	return e, readings
}

// BenchmarkRateReading feeds readings to 10,000 devices with a rate rule
// each, the clock advancing a millisecond a reading, so each device reads
// about every 10 s and keeps six buckets.
func BenchmarkRateReading(b *testing.B) {
	benchRate(b, 10_000, time.Millisecond)
}

// BenchmarkRateReadingFullRing feeds 10 devices ten readings a second
// each: every ring is full and every reading is merged or decimated.
func BenchmarkRateReadingFullRing(b *testing.B) {
	benchRate(b, 10, 10*time.Millisecond)
}

func benchRate(b *testing.B, devices int, every time.Duration) {
	e, readings := rateEngine(b, devices)
	buf := make([]Change, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		now := t0.Add(time.Duration(i) * every)
		r := &readings[i%len(readings)]
		r.Time = now
		buf = e.Reading(buf[:0], r, now)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
}
