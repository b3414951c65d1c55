package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// A restart mid-episode: the gateway builds a new engine from the same
// config and calls Restore with the conditions the alarm journal holds
// open (gateway/alarms NewDesk). TestRestoreMidEpisode plays each case's
// script on one engine up to the middle of an episode, restarts into a
// second engine restored from what the first one reports active, then
// plays the rest of the script on both: the engine that never restarted is
// the reference, and the restarted one must report the same changes at
// the same steps unless the case says, and explains, otherwise.

// rstep is one line of a restart script: at a time after t0, a reading, an
// event or only a tick, on the case's device and point unless the step
// names others; the engine is ticked at the same time after the input.
// want is what the never-restarted engine reports; re, when set, is what
// the restarted engine reports instead.
type rstep struct {
	at    time.Duration
	dev   string
	point string
	v     *float64
	ev    string
	evSv  shouwang.Severity
	want  string
	re    *string
}

func rVal(at time.Duration, v float64, want string) rstep { return rstep{at: at, v: f(v), want: want} }
func rTick(at time.Duration, want string) rstep           { return rstep{at: at, want: want} }
func rPoint(at time.Duration, point string, v float64, want string) rstep {
	return rstep{at: at, point: point, v: f(v), want: want}
}
func rEv(at time.Duration, dev, kind string, sv shouwang.Severity, want string) rstep {
	return rstep{at: at, dev: dev, ev: kind, evSv: sv, want: want}
}

// restarted says what the restarted engine reports at this step, where it
// differs from the engine that never restarted.
func (s rstep) restarted(want string) rstep { s.re = &want; return s }

func (s rstep) String() string {
	switch {
	case s.v != nil:
		return fmt.Sprintf("t+%s %s %s=%g", s.at, s.dev, s.point, *s.v)
	case s.ev != "":
		return fmt.Sprintf("t+%s %s event %s", s.at, s.dev, s.ev)
	}
	return fmt.Sprintf("t+%s tick", s.at)
}

type restoreCase struct {
	name    string
	rules   []Rule
	devices []shouwang.Device // testDevices when nil
	dev     string            // the device and point of steps that name none
	point   string
	before  []rstep // the never-restarted engine alone, up to the restart
	// active is what that engine reports active at the restart, as
	// renderActive writes it: what the journal hands the new engine.
	active string
	// journal is appended to what the journal hands over: alarms the
	// book holds open whose condition is no longer active (latched).
	journal []Change
	after   []rstep // both engines
	// bug, when set, says why the restarted engine does not yet do what
	// the case wants: the case is skipped while it fails as described.
	bug string
}

func TestRestoreMidEpisode(t *testing.T) {
	s, m := time.Second, time.Minute
	latched := gasRule()
	latched.Latch = true
	onDelay := gasRule()
	onDelay.OnDelay = 5 * s
	onSamples := gasRule()
	onSamples.OnSamples = 3
	offDelay := gasRule()
	offDelay.OffDelay = 10 * s
	smoke := Rule{ID: "smoke", Type: TypeEvent, Kinds: []string{"smoke_alarm"}, Select: Selector{Types: []string{"smoke"}}}
	smokeOffDelay := smoke
	smokeOffDelay.OffDelay = 30 * s
	co := coRule(en50291) // 300 ppm alarms after 150 s
	coOffDelay := co
	coOffDelay.OffDelay = m
	silent := Rule{ID: "silent", Type: TypeStale, After: 10 * m, Select: Selector{Types: []string{"gas"}}}
	kitchen := exprRule("gas > 10 && co > 30")
	leak := exprRule("gas >= 10")
	leakOnDelay := leak
	leakOnDelay.OnDelay = 5 * s
	leakOffDelay := leak
	leakOffDelay.OffDelay = 10 * s

	cases := []restoreCase{
		// Threshold.
		{name: "threshold: restored alarm holds, steps down a level and clears with the old engine",
			rules: []Rule{gasRule()},
			before: []rstep{
				rVal(0, 5, ""),
				rVal(1*s, 30, "alarm/alarm"),
			},
			active: "gas@gas-1202 alarm/alarm gas=30",
			after: []rstep{
				rVal(2*s, 30, ""),
				rVal(3*s, 25, ""), // exactly at the set-point: still the alarm
				rVal(4*s, 40, ""),
				rVal(5*s, 15, "warning/warning"), // past the deadband in both engines
				rVal(6*s, 5, "normal"),
				rVal(7*s, 25, "alarm/alarm"), // a new episode after the restart raises once
			}},
		{name: "threshold: restored warning rises to alarm exactly at the set-point",
			rules:  []Rule{gasRule()},
			before: []rstep{rVal(0, 15, "warning/warning")},
			active: "gas@gas-1202 warning/warning gas=15",
			after: []rstep{
				rVal(1*s, 15, ""),
				rVal(2*s, 25, "alarm/alarm"),
				rVal(3*s, 25, ""),
				rVal(4*s, 7, "normal"),
			}},
		{name: "threshold: flapping around the set-point across a restart",
			rules:  []Rule{gasRule()},
			before: []rstep{rVal(0, 12, "warning/warning"), rVal(1*s, 10, "")},
			active: "gas@gas-1202 warning/warning gas=10",
			after: []rstep{
				rVal(2*s, 9.5, ""), // inside the deadband (8 to 10): the warning holds
				rVal(3*s, 10, ""),
				rVal(4*s, 8.5, ""),
				rVal(5*s, 10.2, ""),
				rVal(6*s, 7.9, "normal"),
			}},
		{name: "threshold: restored alarm inside the deadband of a higher level",
			rules:  []Rule{gasRule()},
			before: []rstep{rVal(0, 30, "alarm/alarm")},
			active: "gas@gas-1202 alarm/alarm gas=30",
			after: []rstep{
				rVal(1*s, 24, ""), // 25 less the deadband of 2: the alarm holds
				rVal(2*s, 23, ""),
				rVal(3*s, 22.9, "warning/warning"),
				rVal(4*s, 7.9, "normal"),
			}},
		{name: "threshold with latch: the clear after a restart still asks for a reset",
			rules:  []Rule{latched},
			before: []rstep{rVal(0, 30, "alarm/alarm latch")},
			active: "gas@gas-1202 alarm/alarm gas=30",
			after: []rstep{
				rVal(1*s, 30, ""),
				rVal(2*s, 0, "normal latch"),
			}},
		{name: "threshold with latch: a latched alarm whose condition had cleared is not restored as active",
			rules:  []Rule{latched},
			before: []rstep{rVal(0, 30, "alarm/alarm latch"), rVal(1*s, 0, "normal latch")},
			active: "",
			// The book still holds the alarm open, waiting for its reset;
			// NewDesk hands it over with Active false, and Restore skips it.
			journal: []Change{{Rule: "gas", Device: "gas-1202", Active: false, Severity: shouwang.Alarm, Level: "alarm", Point: "gas", Value: 0}},
			after: []rstep{
				rVal(2*s, 0, ""),
				rVal(3*s, 30, "alarm/alarm latch"),
			}},
		// A pending on_delay is no condition: Active does not report it, so
		// the journal does not hold it and the restarted engine starts the
		// delay over from the first reading after the restart. It raises
		// later than the old engine (here 11 s instead of 5 s), once.
		{name: "threshold: restart while an on_delay is pending",
			rules:  []Rule{onDelay},
			before: []rstep{rVal(0, 30, ""), rTick(2*s, "")},
			active: "",
			after: []rstep{
				rTick(4*s, ""),
				rTick(5*s, "alarm/alarm").restarted(""),
				rVal(6*s, 30, ""),
				rTick(10*s, ""),
				rTick(11*s, "").restarted("alarm/alarm"),
				rVal(12*s, 30, ""),
				rVal(13*s, 0, "normal"),
			}},
		// The same for on_samples: the count starts over after the restart.
		{name: "threshold: restart while on_samples are being counted",
			rules:  []Rule{onSamples},
			before: []rstep{rVal(0, 30, ""), rVal(1*s, 30, "")},
			active: "",
			after: []rstep{
				rVal(2*s, 30, "alarm/alarm").restarted(""),
				rVal(3*s, 30, ""),
				rVal(4*s, 30, "").restarted("alarm/alarm"),
				rVal(5*s, 0, "normal"),
			}},
		// A pending off_delay is not journaled either: the alarm is restored
		// active, and the restarted engine starts the off_delay over at the
		// first normal reading after the restart (ticks alone do not start
		// it: a threshold changes on readings only). It clears later than
		// the old engine (22 s instead of 11 s), once.
		{name: "threshold: restart while an off_delay is pending",
			rules:  []Rule{offDelay},
			before: []rstep{rVal(0, 30, "alarm/alarm"), rVal(1*s, 0, ""), rTick(5*s, "")},
			active: "gas@gas-1202 alarm/alarm gas=30",
			after: []rstep{
				rTick(10*s, ""),
				rTick(11*s, "normal").restarted(""),
				rVal(12*s, 0, ""),
				rTick(21*s, ""),
				rTick(22*s, "").restarted("normal"),
				rVal(23*s, 0, ""),
			}},
		{name: "threshold: restart while an off_delay is pending, then the value rises again",
			rules:  []Rule{offDelay},
			before: []rstep{rVal(0, 30, "alarm/alarm"), rVal(1*s, 0, "")},
			active: "gas@gas-1202 alarm/alarm gas=30",
			after: []rstep{
				rVal(5*s, 30, ""), // cancels the old engine's off_delay; the alarm holds in both
				rTick(20*s, ""),
				rVal(21*s, 0, ""),
				rTick(30*s, ""),
				rTick(31*s, "normal"),
			}},

		// Exposure.
		{name: "exposure: restored alarm while the concentration stays high",
			rules:  []Rule{co},
			point:  "co",
			before: []rstep{rVal(0, 300, ""), rTick(149*s, ""), rTick(150*s, "alarm/exposure")},
			active: "co@gas-1202 alarm/exposure co=300",
			after: []rstep{
				rTick(151*s, ""),
				rVal(160*s, 300, ""),
				rTick(5*m, ""),
				rTick(10*m, ""),
				rVal(11*m, 50, ""), // exactly at the lowest level: still exposed
				rVal(12*m, 20, "normal"),
			}},
		// The partial dose is not carried over (Restore: "a checker's own
		// history ... does not survive the restart"), and the restarted
		// engine doses nothing until it has a reading, however it is
		// ticked: it alarms a full T(c) after the first reading after the
		// restart (301 s, not 150 s).
		{name: "exposure: restart with a partial dose",
			rules:  []Rule{co},
			point:  "co",
			before: []rstep{rVal(0, 300, ""), rTick(60*s, "")},
			active: "",
			after: []rstep{
				rTick(149*s, ""),
				rTick(150*s, "alarm/exposure").restarted(""),
				rVal(151*s, 300, ""),
				rTick(300*s, ""),
				rTick(301*s, "").restarted("alarm/exposure"),
				rVal(400*s, 20, "normal"),
			}},
		// Restarted during an off_delay dip: the dip's off_delay is not
		// journaled. The restored alarm holds through the ticks, and the
		// restarted engine starts the off_delay over at the first reading
		// below the lowest level after the restart, so it clears a full
		// off_delay after that reading (270 s instead of 220 s), once.
		{name: "exposure: restart while an off_delay dip is pending",
			rules:  []Rule{coOffDelay},
			point:  "co",
			before: []rstep{rVal(0, 300, ""), rTick(150*s, "alarm/exposure"), rVal(160*s, 20, ""), rTick(190*s, "")},
			active: "co@gas-1202 alarm/exposure co=300", // the reported condition keeps the raising value during the dip
			after: []rstep{
				rTick(200*s, ""),
				rVal(210*s, 20, ""),
				rTick(220*s, "normal").restarted(""),
				rTick(260*s, ""),
				rVal(270*s, 20, "").restarted("normal"),
				rTick(280*s, ""),
			}},

		// Rate. The window is not carried over, so the restored alarm holds
		// until the readings since the restart span a full window; from
		// then on the restarted engine's window holds what the old one's
		// does. On a plateau it clears later than the old engine, a window
		// after the first reading after the restart (100 s instead of
		// 70 s), once.
		{name: "rate: restored alarm on a plateau",
			rules:  []Rule{heatRule()},
			point:  "temperature",
			before: []rstep{rVal(0, 20, ""), rVal(10*s, 24, ""), rVal(20*s, 28, "alarm/rate"), rVal(30*s, 29, "")},
			active: "heat@gas-1202 alarm/rate temperature=29",
			after: []rstep{
				rVal(40*s, 29, ""),
				rVal(50*s, 29, ""),
				rVal(60*s, 29, ""), // the reading at 0 s is exactly a window old: still counts
				rVal(70*s, 29, "normal").restarted(""),
				rVal(90*s, 29, ""),
				rVal(100*s, 29, "").restarted("normal"), // a full window since the reading at 40 s
			}},
		{name: "rate: restored alarm while the value keeps rising",
			rules:  []Rule{heatRule()},
			point:  "temperature",
			before: []rstep{rVal(0, 20, ""), rVal(10*s, 24, ""), rVal(20*s, 28, "alarm/rate")},
			active: "heat@gas-1202 alarm/rate temperature=28",
			after: []rstep{
				rVal(30*s, 32, ""),
				rVal(40*s, 36, ""),
				rVal(50*s, 40, ""),
				rVal(60*s, 44, ""),
				rVal(90*s, 44, ""),
				rVal(130*s, 44, "normal"),
			}},

		// Readings further apart than the window: the restored alarm holds
		// at the first reading after the restart, and the next one, a full
		// window later, is judged as the old engine judged the first.
		{name: "rate: restored alarm on a device reporting less often than the window",
			rules:  []Rule{heatRule()},
			point:  "temperature",
			before: []rstep{rVal(0, 20, ""), rVal(30*s, 30, "alarm/rate")},
			active: "heat@gas-1202 alarm/rate temperature=30",
			after: []rstep{
				rVal(100*s, 30, "normal").restarted(""),
				rVal(200*s, 30, "").restarted("normal"),
				rVal(230*s, 40, "alarm/rate"),
			}},

		// Event.
		{name: "event: restored alarm holds on a repeat and clears on the clear event",
			rules:  []Rule{smoke},
			dev:    "smoke-1202",
			before: []rstep{rEv(0, "", "smoke_alarm", shouwang.Fire, "fire/smoke_alarm")},
			active: "smoke@smoke-1202 fire/smoke_alarm",
			after: []rstep{
				rEv(1*s, "", "smoke_alarm", shouwang.Fire, ""),
				rEv(2*s, "", "low_battery", shouwang.Warning, ""),
				rTick(3*s, ""),
				rEv(4*s, "", "smoke_clear", 0, "normal"),
				rEv(5*s, "", "smoke_alarm", shouwang.Fire, "fire/smoke_alarm"),
			}},
		{name: "event: restart while an off_delay is pending",
			rules:  []Rule{smokeOffDelay},
			dev:    "smoke-1202",
			before: []rstep{rEv(0, "", "smoke_alarm", shouwang.Fire, "fire/smoke_alarm"), rEv(10*s, "", "smoke_clear", 0, ""), rTick(20*s, "")},
			active: "smoke@smoke-1202 fire/smoke_alarm",
			after: []rstep{
				rTick(39*s, ""),
				rTick(40*s, "normal"),
				rTick(10*m, ""),
			}},

		// Stale.
		{name: "stale: restored fault while the device stays silent",
			rules:  []Rule{silent},
			point:  "gas",
			before: []rstep{rTick(0, ""), rVal(1*m, 1, ""), rTick(11*m, "fault/stale")},
			active: "silent@gas-1202 fault/stale",
			after: []rstep{
				rTick(12*m, ""),
				rTick(22*m, ""),
				rVal(23*m, 1, "normal"),
			}},
		{name: "stale: restored fault clears on the first reading",
			rules:  []Rule{silent},
			point:  "gas",
			before: []rstep{rTick(0, ""), rVal(1*m, 1, ""), rTick(11*m, "fault/stale")},
			active: "silent@gas-1202 fault/stale",
			after: []rstep{
				rVal(12*m, 1, "normal"),
				rTick(21*m, ""),
				rTick(22*m, "fault/stale"),
			}},

		// Confirm.
		{name: "confirm: restored confirmation clears when fewer than k devices alarm",
			rules:   append(confirmInputs(), confirmRule()),
			devices: confirmDevices,
			before: []rstep{
				rEv(0, "s1", "smoke_alarm", shouwang.Alarm, "smoke@s1 alarm/smoke_alarm"),
				rEv(30*s, "s2", "smoke_alarm", shouwang.Alarm, "smoke@s2 alarm/smoke_alarm,fire@"+grpFloor12+" fire/confirm"),
			},
			active: "fire@" + grpFloor12 + " fire/confirm, smoke@s1 alarm/smoke_alarm, smoke@s2 alarm/smoke_alarm",
			after: []rstep{
				rEv(40*s, "s2", "smoke_alarm", shouwang.Alarm, ""),
				rEv(1*m, "s1", "smoke_clear", 0, "smoke@s1 normal,fire@"+grpFloor12+" normal"),
				rEv(2*m, "s2", "smoke_clear", 0, "smoke@s2 normal"),
			}},

		// The journal does not say when a member started alarming: the
		// restarted group takes it to have started at the restart, so it
		// combines with an alarm that starts within the window after the
		// restart. That is what the old engine does when the member started
		// shortly before the restart...
		{name: "confirm: a restored member confirms with a new alarm within the window",
			rules:   append(confirmInputs(), confirmRule()),
			devices: confirmDevices,
			before: []rstep{
				rEv(0, "s1", "smoke_alarm", shouwang.Alarm, "smoke@s1 alarm/smoke_alarm"),
				rTick(90*s, ""),
			},
			active: "smoke@s1 alarm/smoke_alarm",
			after: []rstep{
				rEv(100*s, "s2", "smoke_alarm", shouwang.Alarm, "smoke@s2 alarm/smoke_alarm,fire@"+grpFloor12+" fire/confirm"),
				rEv(3*m, "s2", "smoke_clear", 0, "smoke@s2 normal,fire@"+grpFloor12+" normal"),
			}},
		// ... and more than it does when the member started longer than the
		// window before the new alarm: erring towards the confirmation.
		{name: "confirm: a member restored long after it started still confirms within the window",
			rules:   append(confirmInputs(), confirmRule()),
			devices: confirmDevices,
			before: []rstep{
				rEv(0, "s1", "smoke_alarm", shouwang.Alarm, "smoke@s1 alarm/smoke_alarm"),
				rTick(3*m, ""),
			},
			active: "smoke@s1 alarm/smoke_alarm",
			after: []rstep{
				rEv(4*m, "s2", "smoke_alarm", shouwang.Alarm, "smoke@s2 alarm/smoke_alarm").
					restarted("smoke@s2 alarm/smoke_alarm,fire@" + grpFloor12 + " fire/confirm"),
				rEv(5*m, "s1", "smoke_clear", 0, "smoke@s1 normal").
					restarted("smoke@s1 normal,fire@" + grpFloor12 + " normal"),
			}},

		// Expression.
		{name: "expression: restored alarm over one point holds and clears",
			rules:  []Rule{leak},
			point:  "gas",
			before: []rstep{rVal(0, 12, "alarm/expression")},
			active: "kitchen@gas-1202 alarm/expression gas=12",
			after: []rstep{
				rVal(1*s, 10, ""), // exactly at the set-point
				rVal(2*s, 9.9, "normal"),
			}},
		{name: "expression: restored alarm over two points",
			rules: []Rule{kitchen},
			before: []rstep{
				rPoint(0, "gas", 20, ""),
				rPoint(1*s, "co", 40, "alarm/expression"),
			},
			active: "kitchen@gas-1202 alarm/expression co=40",
			after: []rstep{
				rPoint(2*s, "gas", 21, ""),
				rPoint(3*s, "co", 41, ""),
				rPoint(4*s, "co", 5, "normal"),
			}},
		// Pending delays of an expression rule behave as a threshold's.
		{name: "expression: restart while an on_delay is pending",
			rules:  []Rule{leakOnDelay},
			point:  "gas",
			before: []rstep{rVal(0, 12, ""), rTick(2*s, "")},
			active: "",
			after: []rstep{
				rTick(5*s, "alarm/expression").restarted(""),
				rVal(6*s, 12, ""),
				rTick(11*s, "").restarted("alarm/expression"),
				rVal(12*s, 5, "normal"),
			}},
		{name: "expression: restart while an off_delay is pending",
			rules:  []Rule{leakOffDelay},
			point:  "gas",
			before: []rstep{rVal(0, 12, "alarm/expression"), rVal(1*s, 5, "")},
			active: "kitchen@gas-1202 alarm/expression gas=12",
			after: []rstep{
				rTick(11*s, "normal").restarted(""),
				rVal(12*s, 5, ""),
				rTick(22*s, "").restarted("normal"),
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			problems := checkRestore(t, tc)
			switch {
			case tc.bug != "" && len(problems) == 0:
				t.Fatalf("marked as a bug, but the restarted engine now does what the case wants: remove the mark (%s)", tc.bug)
			case tc.bug != "":
				t.Skipf("BUG: %s\nthe restarted engine:\n\t%s", tc.bug, strings.Join(problems, "\n\t"))
			}
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}

// checkRestore plays tc and returns where the restarted engine differs
// from what the case wants. A script the never-restarted engine does not
// follow is a mistake in the case, and fails the test at once.
func checkRestore(t *testing.T, tc restoreCase) []string {
	t.Helper()
	for _, r := range tc.rules {
		if err := r.Validate(); err != nil {
			t.Fatalf("rule %s invalid: %v", r.ID, err)
		}
	}
	devices := tc.devices
	if devices == nil {
		devices = testDevices
	}
	if tc.dev == "" {
		tc.dev = "gas-1202"
	}
	if tc.point == "" && len(tc.rules) > 0 {
		tc.point = tc.rules[0].Point
	}
	tc.before, tc.after = tc.resolve(tc.before), tc.resolve(tc.after)
	multi := len(tc.rules) > 1
	old, err := New(tc.rules, devices)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range tc.before {
		if got := playRestoreStep(old, s, multi); got != s.want {
			t.Fatalf("before the restart, step %d (%s): changes %q, want %q", i, s, got, s.want)
		}
	}
	active := old.Active()
	if got := renderActive(active); got != tc.active {
		t.Fatalf("active at the restart: %q, want %q", got, tc.active)
	}

	// What NewDesk hands over: the book's open alarms, with the fields
	// the journal keeps.
	var journal []Change
	for _, c := range active {
		journal = append(journal, Change{Rule: c.Rule, Device: c.Device, Active: c.Active,
			Severity: c.Severity, Level: c.Level, Point: c.Point, Value: c.Value})
	}
	journal = append(journal, tc.journal...)
	restarted, err := New(tc.rules, devices)
	if err != nil {
		t.Fatal(err)
	}
	var restart time.Time // the time of the last step before the restart
	if n := len(tc.before); n > 0 {
		restart = t0.Add(tc.before[n-1].at)
	}
	var problems []string
	restarted.Restore(journal, restart)
	// The desk replays each restored condition's events from the history
	// store, as the before script reported them.
	var evs []shouwang.Event
	for _, st := range tc.before {
		if st.ev != "" {
			dev := cmp.Or(st.dev, tc.dev)
			evs = append(evs, shouwang.Event{Device: dev, Kind: st.ev, Severity: st.evSv, Time: t0.Add(st.at)})
		}
	}
	for _, c := range journal {
		if c.Active {
			var mine []shouwang.Event
			for _, ev := range evs {
				if ev.Device == c.Device {
					mine = append(mine, ev)
				}
			}
			if got := restarted.ReplayEvents(nil, c.Rule, c.Device, mine); len(got) != 0 {
				problems = append(problems, fmt.Sprintf("replaying the events of %s@%s: changes %v, want none (the off_delay runs out at a Tick)", c.Rule, c.Device, got))
			}
		}
	}

	if got := renderActive(restarted.Active()); got != tc.active {
		problems = append(problems, fmt.Sprintf("after Restore: active %q, want %q", got, tc.active))
	}
	for i, s := range tc.after {
		if got := playRestoreStep(old, s, multi); got != s.want {
			t.Fatalf("never restarted, step %d (%s): changes %q, want %q", i, s, got, s.want)
		}
		want := s.want
		if s.re != nil {
			want = *s.re
		}
		if got := playRestoreStep(restarted, s, multi); got != want {
			problems = append(problems, fmt.Sprintf("step %d (%s): changes %q, want %q", i, s, got, want))
		}
	}
	return problems
}

// resolve returns a copy of steps with the case's device and point in the
// steps that name none.
func (tc *restoreCase) resolve(steps []rstep) []rstep {
	out := slices.Clone(steps)
	for i := range out {
		if out[i].dev == "" {
			out[i].dev = tc.dev
		}
		if out[i].point == "" {
			out[i].point = tc.point
		}
	}
	return out
}

// playRestoreStep feeds one step to e, ticks it and renders the changes:
// "severity/level" or "normal", with " latch" for a latching rule, and led
// by rule@device when the case has several rules.
func playRestoreStep(e *Engine, s rstep, multi bool) string {
	now := t0.Add(s.at)
	var buf []Change
	switch {
	case s.v != nil:
		buf = e.Reading(buf, &shouwang.Reading{Device: s.dev, Point: s.point, Value: *s.v, Quality: shouwang.Good, Time: now}, now)
	case s.ev != "":
		buf = e.Event(buf, &shouwang.Event{Device: s.dev, Kind: s.ev, Severity: s.evSv, Time: now}, now)
	}
	buf = e.Tick(buf, now)
	got := make([]string, len(buf))
	for i, c := range buf {
		state := "normal"
		if c.Active {
			state = c.Severity.String() + "/" + c.Level
		}
		if c.Latch {
			state += " latch"
		}
		if multi {
			state = c.Rule + "@" + c.Device + " " + state
		}
		got[i] = state
	}
	return strings.Join(got, ",")
}

// renderActive writes conditions as "rule@device severity/level
// point=value", sorted, the point left out when there is none.
func renderActive(cs []Change) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s@%s %s/%s", c.Rule, c.Device, c.Severity, c.Level)
		if c.Point != "" {
			out[i] += fmt.Sprintf(" %s=%g", c.Point, c.Value)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
