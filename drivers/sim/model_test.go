package sim

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

func TestIdleStaysInRange(t *testing.T) {
	m := MustModel(t, 1)
	var co []float64
	battery := map[string]float64{}
	run(t, m, time.Second, 2*time.Hour, func(el time.Duration, b shouwang.Batch) {
		if len(b.Readings) != 6 || len(b.Events) != 0 {
			t.Fatalf("at %v: %d readings and %d events, want 6 and 0", el, len(b.Readings), len(b.Events))
		}
		for _, r := range b.Readings {
			if r.Quality != shouwang.Good {
				t.Fatalf("at %v: %s %s quality %v, want good", el, r.Device, r.Point, r.Quality)
			}
		}
		if v := mustReading(t, b, el, gasID, "gas").Value; v > 1 {
			t.Fatalf("at %v: idle gas %v %%LEL, want 0-1", el, v)
		}
		if v := mustReading(t, b, el, smokeID, "smoke_density").Value; v < 0.01 || v > 0.03 {
			t.Fatalf("at %v: idle smoke density %v dB/m, want 0.01-0.03", el, v)
		}
		co = append(co, mustReading(t, b, el, coID, "co").Value)
		for _, id := range []string{gasID, coID, smokeID} {
			v := mustReading(t, b, el, id, "battery").Value
			if want, seen := battery[id]; seen && v != want {
				t.Fatalf("at %v: %s battery %v, was %v", el, id, v, want)
			}
			if v < 70 || v > 100 {
				t.Fatalf("%s battery %v %%, want 70-100", id, v)
			}
			battery[id] = v
		}
	})
	// CO idles at 0-5 ppm with occasional cooking spikes that stay below
	// 30 ppm, the level EN 50291 says must not alarm.
	quiet := 0
	for _, v := range co {
		if v <= 5 {
			quiet++
		}
	}
	if peak := slices.Max(co); peak >= 30 || peak <= 5 {
		t.Errorf("CO peaked at %v ppm in 2 h, want a cooking spike above 5 and below 30", peak)
	}
	if share := float64(quiet) / float64(len(co)); share < 0.8 {
		t.Errorf("CO was within 0-5 ppm %.0f%% of the time, want most of it", share*100)
	}
}

// TestCurves checks how each hazard develops: nothing before it starts, 90 %
// of its peak within the expected time but not at once, never much above
// the peak, and back down after it ends.
func TestCurves(t *testing.T) {
	const at, lasts = 2 * time.Minute, 20 * time.Minute
	tests := []struct {
		name       string
		kind       string
		device     string
		point      string
		peak       float64 // 0 = default
		rise       time.Duration
		wantPeak   float64
		idleMax    float64 // including CO cooking spikes
		reach90    [2]time.Duration
		settleTime time.Duration // after the end, below 20 % of peak
	}{
		{"gas leak", KindGasLeak, gasID, "gas", 0, 0, 40, 1, [2]time.Duration{5 * time.Minute, 8 * time.Minute}, 16 * time.Minute},
		{"small gas leak", KindGasLeak, gasID, "gas", 15, 0, 15, 1, [2]time.Duration{5 * time.Minute, 8 * time.Minute}, 16 * time.Minute},
		{"fast gas leak", KindGasLeak, gasID, "gas", 0, 20 * time.Second, 40, 1, [2]time.Duration{40 * time.Second, 55 * time.Second}, 16 * time.Minute},
		{"CO build-up", KindCOBuildup, coID, "co", 0, 0, 300, 30, [2]time.Duration{7 * time.Minute, 11 * time.Minute}, 24 * time.Minute},
		{"smoke", KindSmoke, smokeID, "smoke_density", 0, 0, 0.5, 0.03, [2]time.Duration{90 * time.Second, 3 * time.Minute}, 6 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := MustModel(t, 7, Incident{Kind: tt.kind, Device: tt.device, At: at, For: lasts, Peak: tt.peak, Rise: tt.rise})
			reached := time.Duration(-1)
			run(t, m, time.Second, at+lasts+tt.settleTime, func(el time.Duration, b shouwang.Batch) {
				v := mustReading(t, b, el, tt.device, tt.point).Value
				switch {
				case el < at && v > tt.idleMax:
					t.Fatalf("at %v, before the incident: %v, want idle (<= %v)", el, v, tt.idleMax)
				case v > tt.wantPeak+tt.idleMax:
					t.Fatalf("at %v: %v, want at most peak %v + idle %v", el, v, tt.wantPeak, tt.idleMax)
				case reached < 0 && v >= 0.9*tt.wantPeak:
					reached = el - at
				}
			})
			if reached < tt.reach90[0] || reached > tt.reach90[1] {
				t.Errorf("reached 90%% of %v after %v, want within %v-%v", tt.wantPeak, reached, tt.reach90[0], tt.reach90[1])
			}
			b := m.Step(t0.Add(at + lasts + tt.settleTime))
			if v := mustReading(t, b, 0, tt.device, tt.point).Value; v >= 0.2*tt.wantPeak {
				t.Errorf("%v after the incident ended: %v, want below %v", tt.settleTime, v, 0.2*tt.wantPeak)
			}
		})
	}
}

// A leak given its own fall clears as fast as it says: below a fifth of
// its peak by ln 5 fall times after it ends, not the kind's minutes.
func TestOwnFall(t *testing.T) {
	const at, lasts, fall = time.Minute, 5 * time.Minute, 20 * time.Second
	m := MustModel(t, 7, Incident{Kind: KindGasLeak, Device: gasID, At: at, For: lasts, Rise: 10 * time.Second, Fall: fall})
	run(t, m, time.Second, at+lasts, func(time.Duration, shouwang.Batch) {})
	if v := mustReading(t, m.Step(t0.Add(at+lasts)), 0, gasID, "gas").Value; v < 35 {
		t.Fatalf("at the end of the leak: %v %%LEL, want near the peak 40", v)
	}
	if v := mustReading(t, m.Step(t0.Add(at+lasts+2*fall)), 0, gasID, "gas").Value; v >= 8 {
		t.Errorf("two fall times after the leak: %v %%LEL, want below a fifth of 40", v)
	}
}

func TestCurveDoesNotDependOnStepRate(t *testing.T) {
	leak := Incident{Kind: KindGasLeak, Device: gasID, At: time.Minute}
	fine, coarse := MustModel(t, 1, leak), MustModel(t, 1, leak)
	var a, b float64
	run(t, fine, time.Second, 5*time.Minute, func(_ time.Duration, bt shouwang.Batch) { a = mustReading(t, bt, 0, gasID, "gas").Value })
	run(t, coarse, time.Minute, 5*time.Minute, func(_ time.Duration, bt shouwang.Batch) { b = mustReading(t, bt, 0, gasID, "gas").Value })
	if math.Abs(a-b) > 1 {
		t.Errorf("at 5m: %v %%LEL stepping every second, %v stepping every minute; want the same curve", a, b)
	}
}

func TestGasSaturatesAtFullScale(t *testing.T) {
	m := MustModel(t, 1, Incident{Kind: KindGasLeak, Device: gasID, Peak: 100})
	top := 0.0
	run(t, m, 10*time.Second, time.Hour, func(el time.Duration, b shouwang.Batch) {
		top = max(top, mustReading(t, b, el, gasID, "gas").Value)
	})
	if top != 100 {
		t.Errorf("a 100 %%LEL leak peaked at %v, want the full scale 100", top)
	}
}

func TestLatchHysteresis(t *testing.T) {
	l := latch{on: SmokeAlarmDensity, off: SmokeClearDensity}
	steps := []struct {
		v          float64
		rose, fell bool
	}{
		{0.02, false, false},
		{0.149, false, false},
		{0.15, true, false}, // reaching the alarm level crosses it
		{0.30, false, false},
		{0.14, false, false}, // below the alarm level, above the clear level
		{0.16, false, false}, // no second alarm without clearing first
		{0.10, false, false}, // the clear level itself does not clear
		{0.099, false, true},
		{0.12, false, false},
		{0.149, false, false},
		{0.151, true, false},
	}
	for i, s := range steps {
		rose, fell := l.update(s.v)
		if rose != s.rose || fell != s.fell {
			t.Errorf("step %d (%v): rose %v fell %v, want %v %v", i, s.v, rose, fell, s.rose, s.fell)
		}
	}
}

func TestSmokeAlarmOncePerCrossing(t *testing.T) {
	m := MustModel(t, 3,
		Incident{Kind: KindSmoke, Device: smokeID, At: time.Minute, For: 3 * time.Minute},
		Incident{Kind: KindSmoke, Device: smokeID, At: 20 * time.Minute, For: 2 * time.Minute, Peak: 0.3},
		Incident{Kind: KindSmoke, Device: smokeID, At: 40 * time.Minute, For: 5 * time.Minute, Peak: 0.12}, // stays below the alarm level
	)
	var kinds []string
	between := 0 // readings within the hysteresis band while the alarm was on
	on := false
	prev := 0.0
	run(t, m, time.Second, time.Hour, func(el time.Duration, b shouwang.Batch) {
		v := mustReading(t, b, el, smokeID, "smoke_density").Value
		if on && v < SmokeAlarmDensity && v >= SmokeClearDensity {
			between++
		}
		for _, e := range eventsOf(b, smokeID) {
			kinds = append(kinds, e.Kind)
			switch e.Kind {
			case "smoke_alarm":
				if e.Severity != shouwang.Fire || v < SmokeAlarmDensity || prev >= SmokeAlarmDensity {
					t.Errorf("at %v: %s %v with density %v (before %v)", el, e.Kind, e.Severity, v, prev)
				}
				if e.Attrs["unit"] != "dB/m" || e.Attrs["value"] == "" {
					t.Errorf("at %v: smoke_alarm attrs %v, want value and unit", el, e.Attrs)
				}
				on = true
			case "smoke_clear":
				if e.Severity != shouwang.Info || v >= SmokeClearDensity {
					t.Errorf("at %v: %s %v with density %v", el, e.Kind, e.Severity, v)
				}
				on = false
			default:
				t.Errorf("at %v: unexpected event %+v", el, e)
			}
		}
		prev = v
	})
	want := []string{"smoke_alarm", "smoke_clear", "smoke_alarm", "smoke_clear"}
	if !slices.Equal(kinds, want) {
		t.Errorf("events %v, want %v", kinds, want)
	}
	if between == 0 {
		t.Error("the density never sat between the clear and alarm levels, so hysteresis was not exercised")
	}
}

func TestFaultMarksReadingsBad(t *testing.T) {
	m := MustModel(t, 1,
		Incident{Kind: KindFault, Device: gasID, At: time.Minute, For: 2 * time.Minute},
		// A smoke detector in fault does not alarm from its bad readings.
		Incident{Kind: KindFault, Device: smokeID, At: time.Minute, For: 5 * time.Minute},
		Incident{Kind: KindSmoke, Device: smokeID, At: time.Minute, For: 10 * time.Minute},
	)
	var faults, clears []shouwang.Event
	var alarmAt time.Duration
	run(t, m, time.Second, 8*time.Minute, func(el time.Duration, b shouwang.Batch) {
		for _, r := range b.Readings {
			inFault := el >= time.Minute && (r.Device == gasID && el < 3*time.Minute || r.Device == smokeID && el < 6*time.Minute)
			if want := map[bool]shouwang.Quality{true: shouwang.Bad, false: shouwang.Good}[inFault]; r.Quality != want {
				t.Fatalf("at %v: %s %s quality %v, want %v", el, r.Device, r.Point, r.Quality, want)
			}
		}
		for _, e := range b.Events {
			switch e.Kind {
			case "fault":
				faults = append(faults, e)
			case "fault_clear":
				clears = append(clears, e)
			case "smoke_alarm":
				alarmAt = el
			}
		}
	})
	if len(faults) != 2 {
		t.Fatalf("fault events %+v, want one per fault incident", faults)
	}
	for i, dev := range []string{gasID, smokeID} {
		if e := faults[i]; e.Device != dev || e.Severity != shouwang.Fault || !e.Time.Equal(t0.Add(time.Minute)) {
			t.Errorf("fault event %+v, want %s with severity fault at 1m", e, dev)
		}
	}
	if len(clears) != 2 || clears[0].Device != gasID || !clears[0].Time.Equal(t0.Add(3*time.Minute)) ||
		clears[1].Device != smokeID || !clears[1].Time.Equal(t0.Add(6*time.Minute)) {
		t.Errorf("fault_clear events %+v, want gas at 3m and smoke at 6m", clears)
	}
	if alarmAt != 6*time.Minute {
		t.Errorf("smoke_alarm at %v, want at 6m when the fault cleared", alarmAt)
	}
}

func TestOfflinePublishesNothing(t *testing.T) {
	m := MustModel(t, 1,
		Incident{Kind: KindOffline, Device: gasID, At: time.Minute, For: time.Minute},
		Incident{Kind: KindFault, Device: gasID, At: 70 * time.Second, For: 10 * time.Second}, // over before it is back
		Incident{Kind: KindLowBattery, Device: gasID, At: 90 * time.Second},                   // still on when it is back
		Incident{Kind: KindOffline, Device: coID, At: 30 * time.Second},                       // until stop
	)
	var events []shouwang.Event
	run(t, m, time.Second, 5*time.Minute, func(el time.Duration, b shouwang.Batch) {
		gasOff := el >= time.Minute && el < 2*time.Minute
		coOff := el >= 30*time.Second
		want := 6
		if gasOff {
			want -= 2
		}
		if coOff {
			want -= 2
		}
		if len(b.Readings) != want {
			t.Fatalf("at %v: %d readings, want %d", el, len(b.Readings), want)
		}
		for _, r := range b.Readings {
			if r.Device == gasID && gasOff || r.Device == coID && coOff {
				t.Fatalf("at %v: offline %s reported %+v", el, r.Device, r)
			}
		}
		events = append(events, b.Events...)
	})
	if len(events) != 1 || events[0].Kind != "low_battery" || !events[0].Time.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("events %+v, want only low_battery when the device came back at 2m", events)
	}
}

func TestEverythingOfflineIsAnEmptyBatch(t *testing.T) {
	var incidents []Incident
	for _, d := range testDevices() {
		incidents = append(incidents, Incident{Kind: KindOffline, Device: d.ID})
	}
	if b := MustModel(t, 1, incidents...).Step(t0); b.Len() != 0 {
		t.Errorf("batch %+v, want empty", b)
	}
}

func TestLowBattery(t *testing.T) {
	m := MustModel(t, 1, Incident{Kind: KindLowBattery, Device: smokeID, At: time.Minute, For: 2 * time.Minute})
	var events []shouwang.Event
	normal := 0.0
	run(t, m, time.Second, 5*time.Minute, func(el time.Duration, b shouwang.Batch) {
		v := mustReading(t, b, el, smokeID, "battery").Value
		switch {
		case el == 0:
			normal = v
		case el >= time.Minute && el < 3*time.Minute:
			if v != 10 {
				t.Fatalf("at %v: battery %v %%, want the default low level 10", el, v)
			}
		case v != normal:
			t.Fatalf("at %v: battery %v %%, want %v outside the incident", el, v, normal)
		}
		events = append(events, b.Events...)
	})
	if len(events) != 1 {
		t.Fatalf("events %+v, want one low_battery", events)
	}
	e := events[0]
	if e.Device != smokeID || e.Kind != "low_battery" || e.Severity != shouwang.Warning ||
		e.Attrs["battery"] != "10" || !e.Time.Equal(t0.Add(time.Minute)) {
		t.Errorf("event %+v, want a low_battery warning from %s at 1m with battery 10", e, smokeID)
	}
}

func TestDeterministic(t *testing.T) {
	incidents := []Incident{
		{Kind: KindGasLeak, Device: gasID, At: time.Minute, For: 10 * time.Minute},
		{Kind: KindCOBuildup, Device: coID, At: 5 * time.Minute},
		{Kind: KindSmoke, Device: smokeID, At: 2 * time.Minute, For: 3 * time.Minute},
		{Kind: KindFault, Device: coID, At: 20 * time.Minute, For: time.Minute},
		{Kind: KindOffline, Device: gasID, At: 15 * time.Minute, For: time.Minute},
		{Kind: KindLowBattery, Device: smokeID, At: 25 * time.Minute},
	}
	// Irregular steps, as when Publish blocks and ticks are skipped.
	var times []time.Time
	for el := time.Duration(0); el < 40*time.Minute; el += time.Second + time.Duration(len(times)%7)*300*time.Millisecond {
		times = append(times, t0.Add(el))
	}
	steps := func(seed int64) []shouwang.Batch {
		m := MustModel(t, seed, incidents...)
		bs := make([]shouwang.Batch, len(times))
		for i, now := range times {
			bs[i] = m.Step(now)
		}
		return bs
	}
	a, b := steps(42), steps(42)
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			t.Fatalf("step %d at %v differs with the same seed:\n%+v\n%+v", i, times[i].Sub(t0), a[i], b[i])
		}
	}
	if reflect.DeepEqual(a, steps(43)) {
		t.Error("seed 43 gave the same batches as seed 42")
	}
}

func TestBeforeStartCountsAsStart(t *testing.T) {
	m := MustModel(t, 1, Incident{Kind: KindFault, Device: gasID})
	b := m.Step(t0.Add(-time.Hour))
	if len(b.Readings) != 6 || len(eventsOf(b, gasID)) != 1 {
		t.Errorf("step before start: %+v, want the state at start", b)
	}
}

// BenchmarkStep steps a building of 300 detectors, one batch per op.
func BenchmarkStep(b *testing.B) {
	var devices []shouwang.Device
	var incidents []Incident
	for i := range 100 {
		for _, typ := range deviceTypes {
			id := fmt.Sprintf("%d-%s", i, typ)
			devices = append(devices, shouwang.Device{ID: id, Type: typ})
			incidents = append(incidents, Incident{Kind: hazardFor(typ), Device: id, At: time.Duration(i) * time.Second})
		}
	}
	cfg := DefaultConfig()
	cfg.Incidents = incidents
	m, err := NewModel(cfg, devices, t0)
	if err != nil {
		b.Fatal(err)
	}
	now := t0
	for b.Loop() {
		now = now.Add(time.Second)
		if bt := m.Step(now); len(bt.Readings) != 600 {
			b.Fatalf("%d readings, want 600", len(bt.Readings))
		}
	}
}
