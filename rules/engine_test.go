package rules

import (
	"cmp"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

func f(v float64) *float64 { return &v }

// step is one line of a script: at a time after t0, a reading (v) of the
// rule's point or of point, an event (ev), or only a tick; want lists the
// changes it causes, as "normal" or "severity/level".
type step struct {
	at    time.Duration
	point string // the reading's point when it is not the rule's (an expression reads several)
	v     *float64
	ev    string
	evSv  shouwang.Severity
	bad   bool // the reading's quality is bad
	want  string
}

func val(at time.Duration, v float64, want string) step { return step{at: at, v: f(v), want: want} }
func tick(at time.Duration, want string) step           { return step{at: at, want: want} }

var testDevices = []shouwang.Device{
	{ID: "gas-1202", Type: "gas", Tags: map[string]string{"resident": "elderly"}, Location: shouwang.Location{Building: "3号楼", Floor: 12}},
	{ID: "smoke-1202", Type: "smoke", Location: shouwang.Location{Building: "3号楼", Floor: 12}},
}

// checkProblems validates r: with no want it must be valid, otherwise its
// error must name every want.
func checkProblems(t *testing.T, r Rule, want []string) {
	t.Helper()
	err := r.Validate()
	switch {
	case len(want) == 0:
		if err != nil {
			t.Errorf("rule %s: valid rule rejected: %v", r.ID, err)
		}
		return
	case err == nil:
		t.Errorf("rule %s (%s): invalid rule accepted, want %q", r.ID, r.Type, want)
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("rule %s:\n%v\nlacks %q", r.ID, err, w)
		}
	}
}

// run plays a script against one rule on the device it selects.
func run(t *testing.T, r Rule, device string, script []step) {
	t.Helper()
	if err := r.Validate(); err != nil {
		t.Fatalf("rule invalid: %v", err)
	}
	e, err := New([]Rule{r}, testDevices)
	if err != nil {
		t.Fatal(err)
	}
	var buf []Change
	for i, s := range script {
		now := t0.Add(s.at)
		buf = buf[:0]
		switch {
		case s.v != nil:
			q := shouwang.Good
			if s.bad {
				q = shouwang.Bad
			}
			buf = e.Reading(buf, &shouwang.Reading{Device: device, Point: cmp.Or(s.point, r.Point), Value: *s.v, Quality: q, Time: now}, now)
		case s.ev != "":
			buf = e.Event(buf, &shouwang.Event{Device: device, Kind: s.ev, Severity: s.evSv, Time: now}, now)
		}
		buf = e.Tick(buf, now)
		var got []string
		for _, c := range buf {
			if c.Active {
				got = append(got, c.Severity.String()+"/"+c.Level)
			} else {
				got = append(got, "normal")
			}
		}
		if g := strings.Join(got, ","); g != s.want {
			t.Fatalf("step %d (%s): changes %q, want %q", i, describe(s), g, s.want)
		}
	}
}

func describe(s step) string {
	switch {
	case s.v != nil && s.point != "":
		return fmt.Sprintf("t+%s %s %g", s.at, s.point, *s.v)
	case s.v != nil:
		return fmt.Sprintf("t+%s value %g", s.at, *s.v)
	case s.ev != "":
		return fmt.Sprintf("t+%s event %s", s.at, s.ev)
	}
	return fmt.Sprintf("t+%s tick", s.at)
}

func gasRule() Rule {
	return Rule{ID: "gas", Type: TypeThreshold, Point: "gas", Select: Selector{Types: []string{"gas"}}, Deadband: 2,
		Levels: []Level{{Name: "warning", Above: f(10), Severity: "warning"}, {Name: "alarm", Above: f(25), Severity: "alarm"}}}
}

func TestThreshold(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name   string
		modify func(*Rule)
		script []step
	}{
		{"levels up and down with deadband", nil, []step{
			val(0, 0.5, ""),
			val(1*s, 9.99, ""),
			val(2*s, 10, "warning/warning"), // exactly at the set-point raises
			val(3*s, 24.9, ""),
			val(4*s, 25, "alarm/alarm"),
			val(5*s, 23.5, ""), // inside the deadband: alarm holds
			val(6*s, 22.9, "warning/warning"),
			val(7*s, 8.5, ""), // within 2 of 10: warning holds
			val(8*s, 7.9, "normal"),
		}},
		{"flapping at the set-point raises once", nil, []step{
			val(0, 10, "warning/warning"), val(1*s, 9.5, ""), val(2*s, 10.2, ""), val(3*s, 8.1, ""), val(4*s, 10, ""), val(5*s, 7, "normal"),
		}},
		{"straight to alarm", nil, []step{val(0, 40, "alarm/alarm"), val(s, 0, "normal")}},
		{"bad quality, NaN and future readings change nothing", nil, []step{
			{at: 0, v: f(40), bad: true, want: ""},
			val(s, 40, "alarm/alarm"),
			{at: 2 * s, v: f(0), bad: true, want: ""},
			val(3*s, 40, ""),
		}},
		{"on_samples", func(r *Rule) { r.OnSamples = 3 }, []step{
			val(0, 30, ""), val(s, 30, ""), val(2*s, 30, "alarm/alarm"), val(3*s, 0, "normal"),
			val(4*s, 30, ""), val(5*s, 0, ""), val(6*s, 30, ""), // broken run: starts again
		}},
		{"on_delay runs out on a tick", func(r *Rule) { r.OnDelay = 5 * s }, []step{
			val(0, 30, ""), tick(4*s, ""), tick(5*s, "alarm/alarm"),
		}},
		{"on_delay cut short", func(r *Rule) { r.OnDelay = 5 * s }, []step{
			val(0, 30, ""), val(3*s, 0, ""), tick(6*s, ""), val(7*s, 30, ""), tick(11*s, ""), tick(12*s, "alarm/alarm"),
		}},
		{"off_delay", func(r *Rule) { r.OffDelay = 10 * s }, []step{
			val(0, 30, "alarm/alarm"), val(s, 0, ""), tick(10*s, ""), tick(11*s, "normal"),
		}},
		{"off_delay interrupted by a new rise", func(r *Rule) { r.OffDelay = 10 * s }, []step{
			val(0, 30, "alarm/alarm"), val(s, 0, ""), val(5*s, 30, ""), tick(20*s, ""),
		}},
		{"below", func(r *Rule) {
			r.Point, r.Deadband = "battery", 1
			r.Levels = []Level{{Name: "low", Below: f(20), Severity: "warning"}}
		}, []step{val(0, 50, ""), val(s, 20, "warning/low"), val(2*s, 20.5, ""), val(3*s, 21.5, "normal")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gasRule()
			if tc.modify != nil {
				tc.modify(&r)
			}
			run(t, r, "gas-1202", tc.script)
		})
	}
}

func TestEventRule(t *testing.T) {
	r := Rule{ID: "smoke", Type: TypeEvent, Kinds: []string{"smoke_alarm"}, Select: Selector{Types: []string{"smoke"}}}
	run(t, r, "smoke-1202", []step{
		{at: 0, ev: "low_battery", evSv: shouwang.Warning},
		{at: time.Second, ev: "smoke_alarm", evSv: shouwang.Fire, want: "fire/smoke_alarm"},
		{at: 2 * time.Second, ev: "smoke_alarm", evSv: shouwang.Fire},
		{at: 3 * time.Second, ev: "smoke_clear", want: "normal"},
	})
	r.Severity = "alarm"
	run(t, r, "smoke-1202", []step{{at: 0, ev: "smoke_alarm", evSv: shouwang.Fire, want: "alarm/smoke_alarm"}})
}

func TestStaleIsAFaultNeverMore(t *testing.T) {
	m := time.Minute
	r := Rule{ID: "silent", Type: TypeStale, After: 10 * m, Select: Selector{Types: []string{"gas"}}}
	run(t, r, "gas-1202", []step{
		tick(0, ""), val(m, 1, ""), tick(10*m, ""), tick(11*m, "fault/stale"), tick(12*m, ""),
		{at: 13 * m, v: f(1), bad: true}, // a bad reading is no sign of life
		val(14*m, 1, "normal"),
	})
	bad := Rule{ID: "silent", Type: TypeStale, After: m, Severity: "fire"}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "a stale device is a fault") {
		t.Fatalf("a stale rule with severity fire: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		rule Rule
		want []string
	}{
		{Rule{ID: "x", Type: "magic"}, []string{`type: "magic" is not a rule type`}},
		{Rule{ID: "", Type: TypeThreshold}, []string{"id:", "point: must name", "levels: at least one"}},
		{Rule{ID: "x", Type: TypeThreshold, Point: "gas", Kinds: []string{"a"}, Levels: []Level{{Name: "a", Severity: "loud"}}},
			[]string{"kinds: does not apply to rules of type threshold", "levels[0]: give exactly one of above or below", `levels[0].severity: "loud"`}},
		{Rule{ID: "x", Type: TypeThreshold, Point: "gas", OnDelay: time.Second, OnSamples: 2,
			Levels: []Level{{Name: "a", Above: f(2), Severity: "alarm"}, {Name: "b", Above: f(5), Severity: "warning"}}},
			[]string{"on_samples: give on_delay or on_samples", "levels[1].severity: warning is not above"}},
		{Rule{ID: "x", Type: TypeEvent, Kinds: []string{"smoke_clear"}}, []string{`kinds: "smoke_clear"`}},
	} {
		checkProblems(t, tc.rule, tc.want)
	}
}

func TestSelectorAndIndex(t *testing.T) {
	r := gasRule()
	r.Select = Selector{Tags: map[string]string{"resident": "elderly"}, Floors: []int{12}}
	e, err := New([]Rule{r}, testDevices)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.all) != 1 || e.all[0].device != "gas-1202" {
		t.Fatalf("instances: %+v", e.all)
	}
	r.Select = Selector{Devices: []string{"nobody"}}
	if _, err := New([]Rule{r}, testDevices); err == nil || !strings.Contains(err.Error(), "selects no device") {
		t.Fatalf("a rule selecting nothing: %v", err)
	}
}

// TestDeterministic: the same readings at the same times give the same
// changes.
func TestDeterministic(t *testing.T) {
	play := func() []string {
		e, _ := New([]Rule{gasRule()}, testDevices)
		var out []string
		var buf []Change
		for i := range 500 {
			now := t0.Add(time.Duration(i) * time.Second)
			v := float64((i*37)%60) - 10
			buf = e.Reading(buf[:0], &shouwang.Reading{Device: "gas-1202", Point: "gas", Value: v, Time: now}, now)
			for _, c := range buf {
				out = append(out, c.String())
			}
		}
		return out
	}
	a, b := play(), play()
	if strings.Join(a, "\n") != strings.Join(b, "\n") || len(a) == 0 {
		t.Fatalf("two plays differ or are empty: %d vs %d changes", len(a), len(b))
	}
}

// TestRestore: a condition that held before a restart clears on the first
// normal reading after it.
func TestRestore(t *testing.T) {
	e, _ := New([]Rule{gasRule()}, testDevices)
	e.Restore([]Change{{Rule: "gas", Device: "gas-1202", Active: true, Severity: shouwang.Alarm, Level: "alarm", Point: "gas", Value: 30}}, t0)
	if len(e.Active()) != 1 {
		t.Fatal("restored condition not active")
	}
	got := e.Reading(nil, &shouwang.Reading{Device: "gas-1202", Point: "gas", Value: 30, Time: t0}, t0)
	if len(got) != 0 {
		t.Fatalf("still alarming: %v", got)
	}
	got = e.Reading(nil, &shouwang.Reading{Device: "gas-1202", Point: "gas", Value: 1, Time: t0}, t0)
	if len(got) != 1 || got[0].Active {
		t.Fatalf("back to normal: %v", got)
	}
}
