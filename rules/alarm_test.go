package rules

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

var alarmT0 = time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)

// alarmStep is one line of an alarm script: at a time after alarmT0, do
// one thing and get what it returns, rendered by renderAlarm.
//
// What to do:
//
//	on SEV[@DEV] [latch]   the gas rule's condition goes to SEV (warning, alarm, fire)
//	off[@DEV] [latch]      it returns to normal
//	tick
//	ack, dispatch, resolve, close, reset, unshelve [#ID]
//	shelve DUR [#ID]       for DUR from now
//	take                   TakeClosed
//
// Operator steps act on the last alarm raised unless #ID says otherwise.
type alarmStep struct {
	at   time.Duration
	do   string
	want string
}

type alarmCase struct {
	name   string
	cfg    func(*AlarmConfig)
	script []alarmStep
}

func mustAlarmBook(tb testing.TB, mod func(*AlarmConfig)) *AlarmBook {
	tb.Helper()
	cfg := DefaultAlarmConfig()
	if mod != nil {
		mod(&cfg)
	}
	b, err := NewAlarmBook(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// alarmRunner plays a script against a book.
type alarmRunner struct {
	b   *AlarmBook
	cur uint64 // the alarm operator steps act on
}

var alarmValues = map[string]float64{"warning": 12, "alarm": 30, "fire": 60}

func (r *alarmRunner) step(tb testing.TB, s alarmStep) ([]Transition, string) {
	tb.Helper()
	now := alarmT0.Add(s.at)
	f := strings.Fields(s.do)
	id := r.cur
	if n := len(f); n > 1 && strings.HasPrefix(f[n-1], "#") {
		v, err := strconv.ParseUint(f[n-1][1:], 10, 64)
		if err != nil {
			tb.Fatalf("%q: %v", s.do, err)
		}
		id, f = v, f[:n-1]
	}
	latch := len(f) > 1 && f[len(f)-1] == "latch"
	dev := "gas-1202"
	for i, w := range f {
		if v, d, ok := strings.Cut(w, "@"); ok {
			f[i], dev = v, d
		}
	}
	verb := f[0]
	var (
		ts  []Transition
		t   Transition
		err error
	)
	one := func(tr Transition, e error) {
		t, err = tr, e
		if e == nil {
			ts = []Transition{tr}
		}
	}
	const op = "li.wei"
	switch verb {
	case "on":
		sev, ok := shouwang.ParseSeverity(f[1])
		if !ok {
			tb.Fatalf("%q: no severity", s.do)
		}
		ts = r.b.Apply(nil, Change{Rule: "gas", Device: dev, Active: true, Severity: sev, Level: f[1], Point: "gas",
			Value: alarmValues[f[1]], Latch: latch, Time: now}, now)
	case "off":
		ts = r.b.Apply(nil, Change{Rule: "gas", Device: dev, Point: "gas", Value: 1, Latch: latch, Time: now}, now)
	case "tick":
		ts = r.b.Tick(nil, now)
	case "ack":
		one(r.b.Acknowledge(id, op, "", now))
	case "dispatch":
		one(r.b.Dispatch(id, op, "patrol 2 sent", now))
	case "resolve":
		one(r.b.Resolve(id, op, "valve closed, flat aired", now))
	case "close":
		one(r.b.Close(id, op, "", now))
	case "reset":
		one(r.b.Reset(id, op, "", now))
	case "shelve":
		d, perr := time.ParseDuration(f[1])
		if perr != nil {
			tb.Fatalf("%q: %v", s.do, perr)
		}
		one(r.b.Shelve(id, op, "detector fault, technician called", now.Add(d), now))
	case "unshelve":
		one(r.b.Unshelve(id, op, "", now))
	case "take":
		var ids []string
		for _, a := range r.b.TakeClosed() {
			ids = append(ids, fmt.Sprintf("#%d", a.ID))
		}
		return nil, "took " + strings.Join(ids, ",")
	default:
		tb.Fatalf("%q: unknown step", s.do)
	}
	_ = t
	if err != nil {
		return nil, fmt.Sprintf("%d %s", alarmStatus(err), err)
	}
	var out []string
	for _, t := range ts {
		if t.Kind == KindRaised {
			r.cur = t.AlarmID
		}
		out = append(out, renderAlarm(t))
	}
	return ts, strings.Join(out, ", ")
}

// alarmStatus is the HTTP status the gateway maps err to.
func alarmStatus(err error) int {
	switch {
	case errors.Is(err, ErrNoAlarm):
		return 404
	case errors.Is(err, ErrInvalidStep):
		return 409
	case errors.Is(err, ErrInvalidInput):
		return 400
	}
	return 500
}

// renderAlarm writes a transition as kind:state, with the new alarm's id,
// an update's severity, the escalation level past 1 and "!" when
// announced: "raised#1:raised!", "updated(fire):acknowledged!",
// "escalated:raised/L2!".
func renderAlarm(t Transition) string {
	s := t.Kind.String()
	switch t.Kind {
	case KindRaised:
		s += fmt.Sprintf("#%d", t.AlarmID)
	case KindUpdated:
		s += "(" + t.Severity.String() + ")"
	}
	s += ":" + t.State.String()
	if t.Escalation > 1 {
		s += fmt.Sprintf("/L%d", t.Escalation)
	}
	if t.Announce {
		s += "!"
	}
	return s
}

func runAlarmCases(t *testing.T, cases []alarmCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &alarmRunner{b: mustAlarmBook(t, tc.cfg)}
			for i, s := range tc.script {
				if _, got := r.step(t, s); got != s.want {
					t.Fatalf("step %d (t+%s %s):\n got %q\nwant %q", i, s.at, s.do, got, s.want)
				}
			}
		})
	}
}

func TestAlarmWorkflow(t *testing.T) {
	const s, m = time.Second, time.Minute
	runAlarmCases(t, []alarmCase{
		{name: "the whole loop", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{10 * s, "ack", "acknowledged:acknowledged"},
			{20 * s, "dispatch", "dispatched:dispatched"},
			{10 * m, "resolve", "resolved:resolved"}, // the flat is still being aired
			{11 * m, "off", "returned:resolved"},
			{12 * m, "close", "closed:closed"},
			{13 * m, "off", ""},
			{14 * m, "tick", ""},
		}},
		{name: "resolved without dispatch (a resident's call settled it)", script: []alarmStep{
			{0, "on warning", "raised#1:raised!"},
			{5 * s, "ack", "acknowledged:acknowledged"},
			{60 * s, "off", "returned:acknowledged"},
			{90 * s, "resolve", "resolved:resolved"},
			{91 * s, "close", "closed:closed"},
		}},
		{name: "returned to normal unacknowledged must still be acknowledged", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{30 * s, "off", "returned:raised"},
			{40 * s, "close", "409 cannot close: alarm 1 is raised; it can be acknowledged"},
			{41 * s, "resolve", "409 cannot resolve: alarm 1 is raised; it can be acknowledged"},
			{50 * s, "ack", "acknowledged:acknowledged"},
			{51 * s, "close", "409 cannot close: alarm 1 is acknowledged; it can be dispatched or resolved"},
			{60 * s, "resolve", "resolved:resolved"},
			{70 * s, "close", "closed:closed"},
		}},
		{name: "every refused step says what can be done", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{1 * s, "dispatch", "409 cannot dispatch: alarm 1 is raised; it can be acknowledged"},
			{2 * s, "resolve", "409 cannot resolve: alarm 1 is raised; it can be acknowledged"},
			{3 * s, "close", "409 cannot close: alarm 1 is raised; it can be acknowledged"},
			{4 * s, "reset", "409 cannot reset: alarm 1 is raised, but its rule does not latch; it can be acknowledged"},
			{5 * s, "unshelve", "409 cannot unshelve: alarm 1 is raised, but it is not shelved; it can be acknowledged"},
			{6 * s, "ack", "acknowledged:acknowledged"},
			{7 * s, "ack", "409 cannot acknowledge: alarm 1 is acknowledged; it can be dispatched or resolved"},
			{8 * s, "close", "409 cannot close: alarm 1 is acknowledged; it can be dispatched or resolved"},
			{9 * s, "dispatch", "dispatched:dispatched"},
			{10 * s, "ack", "409 cannot acknowledge: alarm 1 is dispatched; it can be resolved"},
			{11 * s, "dispatch", "409 cannot dispatch: alarm 1 is dispatched; it can be resolved"},
			{12 * s, "close", "409 cannot close: alarm 1 is dispatched; it can be resolved"},
			{13 * s, "resolve", "resolved:resolved"},
			{14 * s, "resolve", "409 cannot resolve: alarm 1 is resolved; it can be closed once its condition returns to normal"},
			{15 * s, "close", "409 cannot close: alarm 1 is resolved, but its condition is still active; it can be closed once its condition returns to normal"},
			{16 * s, "reset", "409 cannot reset: alarm 1 is resolved, but its rule does not latch; it can be closed once its condition returns to normal"},
			{17 * s, "off", "returned:resolved"},
			{18 * s, "dispatch", "409 cannot dispatch: alarm 1 is resolved; it can be closed"},
			{19 * s, "close", "closed:closed"},
			{20 * s, "ack", "409 cannot acknowledge: alarm 1 is closed; the next activation of its rule raises a new alarm"},
			{21 * s, "shelve 1h", "409 cannot shelve: alarm 1 is closed; the next activation of its rule raises a new alarm"},
			{22 * s, "take", "took #1"},
			{23 * s, "ack", "404 alarm 1 does not exist or is closed and archived"},
			{24 * s, "ack #9", "404 alarm 9 does not exist or is closed and archived"},
		}},
		{name: "a latched alarm is closed only after its condition returns and it is reset", script: []alarmStep{
			{0, "on alarm latch", "raised#1:raised!"},
			{10 * s, "ack", "acknowledged:acknowledged"},
			{20 * s, "reset", "409 cannot reset: alarm 1 is acknowledged, but its condition is still active; it can be dispatched or resolved"},
			{30 * s, "off latch", "returned:acknowledged"},
			{40 * s, "resolve", "resolved:resolved"},
			{50 * s, "close", "409 cannot close: alarm 1 is resolved, but it is latched and needs a reset; it can be reset"},
			{60 * s, "reset", "reset:resolved"},
			{61 * s, "reset", "409 cannot reset: alarm 1 is resolved, but it has already been reset; it can be closed"},
			{70 * s, "close", "closed:closed"},
		}},
		{name: "a latched alarm returned unacknowledged is acknowledged before its reset", script: []alarmStep{
			{0, "on alarm latch", "raised#1:raised!"},
			{10 * s, "off latch", "returned:raised"},
			{20 * s, "reset", "409 cannot reset: alarm 1 is raised; it can be acknowledged"},
			{30 * s, "ack", "acknowledged:acknowledged"},
			{40 * s, "reset", "reset:acknowledged"},
			{50 * s, "resolve", "resolved:resolved"},
			{60 * s, "close", "closed:closed"},
		}},
		{name: "a reset alarm that goes active again latches again", script: []alarmStep{
			{0, "on alarm latch", "raised#1:raised!"},
			{10 * s, "ack", "acknowledged:acknowledged"},
			{20 * s, "off latch", "returned:acknowledged"},
			{30 * s, "reset", "reset:acknowledged"},
			{40 * s, "on alarm latch", "reactivated:acknowledged!"},
			{50 * s, "off latch", "returned:acknowledged"},
			{60 * s, "resolve", "resolved:resolved"},
			{70 * s, "close", "409 cannot close: alarm 1 is resolved, but it is latched and needs a reset; it can be reset"},
			{80 * s, "reset", "reset:resolved"},
			{90 * s, "close", "closed:closed"},
		}},
		{name: "severity goes up and down in one episode; only a rise is announced", script: []alarmStep{
			{0, "on warning", "raised#1:raised!"},
			{10 * s, "on alarm", "updated(alarm):raised!"},
			{20 * s, "on warning", "updated(warning):raised"},
			{30 * s, "ack", "acknowledged:acknowledged"},
			{40 * s, "on fire", "updated(fire):acknowledged!"},
			{50 * s, "on fire", ""}, // no change
			{60 * s, "off", "returned:acknowledged"},
			{70 * s, "off", ""},
		}},
		{name: "the condition coming back is announced; the workflow stays", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{10 * s, "ack", "acknowledged:acknowledged"},
			{20 * s, "dispatch", "dispatched:dispatched"},
			{2 * m, "off", "returned:dispatched"},
			{4 * m, "on warning", "reactivated:dispatched!"},
		}},
		{name: "a resolved alarm whose condition comes back is reopened", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{10 * s, "ack", "acknowledged:acknowledged"},
			{20 * s, "off", "returned:acknowledged"},
			{30 * s, "resolve", "resolved:resolved"},
			{40 * s, "on alarm", "reactivated:raised!"},
			{50 * s, "close", "409 cannot close: alarm 1 is raised; it can be acknowledged"},
			{60 * s, "ack", "acknowledged:acknowledged"},
		}},
		{name: "a resolved alarm that worsens is reopened", script: []alarmStep{
			{0, "on warning", "raised#1:raised!"},
			{10 * s, "ack", "acknowledged:acknowledged"},
			{20 * s, "resolve", "resolved:resolved"},
			{30 * s, "on warning", ""},
			{40 * s, "on fire", "updated(fire):raised!"},
		}},
		{name: "after close the next activation is a new alarm", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{10 * s, "ack", "acknowledged:acknowledged"},
			{20 * s, "off", "returned:acknowledged"},
			{30 * s, "resolve", "resolved:resolved"},
			{40 * s, "close", "closed:closed"},
			{50 * s, "on alarm", "raised#2:raised!"},
			{51 * s, "ack #1", "409 cannot acknowledge: alarm 1 is closed; the next activation of its rule raises a new alarm"},
			{52 * s, "ack #2", "acknowledged:acknowledged"},
		}},
		{name: "one alarm per rule and device", script: []alarmStep{
			{0, "on alarm@gas-1202", "raised#1:raised!"},
			{1 * s, "on alarm@gas-1203", "raised#2:raised!"},
			{2 * s, "on fire@gas-1202", "updated(fire):raised!"},
			{3 * s, "off@gas-1203", "returned:raised"},
			{4 * s, "ack #1", "acknowledged:acknowledged"},
			{5 * s, "off@gas-1204", ""},
		}},
	})
}

func TestAlarmShelving(t *testing.T) {
	const s, m = time.Second, time.Minute
	runAlarmCases(t, []alarmCase{
		{name: "changes while shelved are recorded, not announced; expiry announces an active alarm", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{10 * s, "shelve 30m", "shelved:raised"},
			{1 * m, "off", "returned:raised"},
			{2 * m, "on alarm", "reactivated:raised"},
			{3 * m, "on fire", "updated(fire):raised"},
			{10*s + 30*m - time.Nanosecond, "tick", ""},
			{10*s + 30*m, "tick", "unshelved:raised!"},
			{31 * m, "tick", ""},
		}},
		{name: "expiry while the condition is normal is not announced", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{10 * s, "ack", "acknowledged:acknowledged"},
			{20 * s, "shelve 1h", "shelved:acknowledged"},
			{30 * s, "off", "returned:acknowledged"},
			{20*s + time.Hour, "tick", "unshelved:acknowledged"},
		}},
		{name: "an operator unshelves early", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{10 * s, "shelve 1h", "shelved:raised"},
			{20 * s, "shelve 2h", "409 cannot shelve: alarm 1 is raised, but it is already shelved until 2026-11-24 21:00:10; it can be acknowledged"},
			{30 * s, "unshelve", "unshelved:raised!"},
			{2 * time.Hour, "tick", "escalated:raised/L2!, escalated:raised/L3!, escalated:raised/L4!"},
		}},
		{name: "shelving is bounded", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{1 * s, "shelve 8h1s", "400 cannot shelve alarm 1 for 8h0m1s: the most is 8h0m0s (until 2026-11-25 04:00:01)"},
			{2 * s, "shelve 0s", "400 cannot shelve alarm 1 until 2026-11-24 20:00:02: that is not after now (2026-11-24 20:00:02)"},
			{3 * s, "shelve 8h", "shelved:raised"},
			{3*s + 8*time.Hour, "tick", "unshelved:raised!"},
		}},
		{name: "a shelved alarm can still be worked and closed", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{1 * s, "shelve 1h", "shelved:raised"},
			{2 * s, "ack", "acknowledged:acknowledged"},
			{3 * s, "off", "returned:acknowledged"},
			{4 * s, "resolve", "resolved:resolved"},
			{5 * s, "close", "closed:closed"},
			{2 * time.Hour, "tick", ""},
		}},
	})
}

func TestAlarmEscalation(t *testing.T) {
	const s, m = time.Second, time.Minute
	const ns = time.Nanosecond
	runAlarmCases(t, []alarmCase{
		{name: "levels at the exact delays: 2m, then 5m more, then 10m more", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{2*m - ns, "tick", ""},
			{2 * m, "tick", "escalated:raised/L2!"},
			{7*m - ns, "tick", ""},
			{7 * m, "tick", "escalated:raised/L3!"},
			{17*m - ns, "tick", ""},
			{17 * m, "tick", "escalated:raised/L4!"},
			{24 * time.Hour, "tick", ""},
			{25 * time.Hour, "ack", "acknowledged:acknowledged/L4"},
		}},
		{name: "acknowledge stops escalation", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{2 * m, "tick", "escalated:raised/L2!"},
			{3 * m, "ack", "acknowledged:acknowledged/L2"},
			{7 * m, "tick", ""},
			{time.Hour, "tick", ""},
		}},
		{name: "a late tick escalates through every level due, anchored to the raise", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{3 * m, "tick", "escalated:raised/L2!"},
			{7 * m, "tick", "escalated:raised/L3!"},
			{40 * m, "tick", "escalated:raised/L4!"},
		}},
		{name: "a tick long after the raise catches up in order", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{20 * m, "tick", "escalated:raised/L2!, escalated:raised/L3!, escalated:raised/L4!"},
		}},
		{name: "returned to normal unacknowledged still escalates: nobody has looked", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{30 * s, "off", "returned:raised"},
			{2 * m, "tick", "escalated:raised/L2!"},
		}},
		{name: "shelving holds escalation; unshelving gives the level its full delay again", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{1 * m, "shelve 10m", "shelved:raised"},
			{5 * m, "tick", ""},
			{11 * m, "tick", "unshelved:raised!"},
			{13*m - ns, "tick", ""},
			{13 * m, "tick", "escalated:raised/L2!"},
		}},
		{name: "a reopened alarm escalates again from level 1", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{2 * m, "tick", "escalated:raised/L2!"},
			{3 * m, "ack", "acknowledged:acknowledged/L2"},
			{4 * m, "resolve", "resolved:resolved/L2"},
			{5 * m, "off", "returned:resolved/L2"},
			{6 * m, "on alarm", "reactivated:raised!"},
			{8*m - ns, "tick", ""},
			{8 * m, "tick", "escalated:raised/L2!"},
		}},
		{name: "no escalation configured", cfg: func(c *AlarmConfig) { c.Escalation = nil }, script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{24 * time.Hour, "tick", ""},
		}},
	})
}

func TestAlarmChattering(t *testing.T) {
	const s, m = time.Second, time.Minute
	runAlarmCases(t, []alarmCase{
		{name: "exactly 3 activations within 60s", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{5 * s, "ack", "acknowledged:acknowledged"},
			{10 * s, "off", "returned:acknowledged"},
			{30 * s, "on alarm", "reactivated:acknowledged!"},
			{40 * s, "off", "returned:acknowledged"},
			{60 * s, "on alarm", "reactivated:acknowledged!, chattering:acknowledged!"},
			{61 * s, "off", "returned:acknowledged"},
			{70 * s, "on alarm", "reactivated:acknowledged"}, // chattering: not announced again
			{75 * s, "off", "returned:acknowledged"},
			{70*s + 60*s - time.Nanosecond, "tick", ""},
			{70*s + 60*s, "tick", "chatter_ended:acknowledged"},
			{3 * m, "on alarm", "reactivated:acknowledged!"},
		}},
		{name: "3 activations spread wider than 60s", script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{5 * s, "ack", "acknowledged:acknowledged"},
			{10 * s, "off", "returned:acknowledged"},
			{30 * s, "on alarm", "reactivated:acknowledged!"},
			{40 * s, "off", "returned:acknowledged"},
			{60*s + time.Nanosecond, "on alarm", "reactivated:acknowledged!"},
			{80 * s, "off", "returned:acknowledged"},
			// 30s, 60s+1ns and 90s are within 60s.
			{90 * s, "on alarm", "reactivated:acknowledged!, chattering:acknowledged!"},
		}},
		{name: "severity changes are not activations", script: []alarmStep{
			{0, "on warning", "raised#1:raised!"},
			{1 * s, "on alarm", "updated(alarm):raised!"},
			{2 * s, "on warning", "updated(warning):raised"},
			{3 * s, "on alarm", "updated(alarm):raised!"},
		}},
		{name: "a severity rise is announced while chattering", script: []alarmStep{
			{0, "on warning", "raised#1:raised!"},
			{1 * s, "off", "returned:raised"},
			{2 * s, "on warning", "reactivated:raised!"},
			{3 * s, "off", "returned:raised"},
			{4 * s, "on warning", "reactivated:raised!, chattering:raised!"},
			{5 * s, "on fire", "updated(fire):raised!"},
			{6 * s, "off", "returned:raised"},
			{7 * s, "on fire", "reactivated:raised"},
		}},
		{name: "chattering while shelved is recorded, not announced", script: []alarmStep{
			{0, "on warning", "raised#1:raised!"},
			{1 * s, "shelve 1h", "shelved:raised"},
			{2 * s, "off", "returned:raised"},
			{3 * s, "on warning", "reactivated:raised"},
			{4 * s, "off", "returned:raised"},
			{5 * s, "on warning", "reactivated:raised, chattering:raised"},
		}},
		{name: "turned off", cfg: func(c *AlarmConfig) { c.ChatterCount = 0 }, script: []alarmStep{
			{0, "on alarm", "raised#1:raised!"},
			{1 * s, "off", "returned:raised"},
			{2 * s, "on alarm", "reactivated:raised!"},
			{3 * s, "off", "returned:raised"},
			{4 * s, "on alarm", "reactivated:raised!"},
		}},
	})
}

// TestAlarmTransitionFields checks every field a transition carries, and
// the alarm's record of the steps.
func TestAlarmTransitionFields(t *testing.T) {
	const s = time.Second
	b := mustAlarmBook(t, nil)
	ts := b.Apply(nil, Change{Rule: "gas", Device: "gas-1202", Active: true, Severity: shouwang.Warning,
		Level: "warning", Point: "gas", Value: 12.5, Time: alarmT0}, alarmT0)
	want := Transition{AlarmID: 1, Seq: 1, Kind: KindRaised, Time: alarmT0, Rule: "gas", Device: "gas-1202",
		Severity: shouwang.Warning, Peak: shouwang.Warning, Level: "warning", Point: "gas", Value: 12.5, Active: true,
		State: StateRaised, Escalation: 1, Reached: 1, Announce: true}
	if len(ts) != 1 || !reflect.DeepEqual(ts[0], want) {
		t.Fatalf("raise:\n got %+v\nwant %+v", ts, want)
	}

	t1 := alarmT0.Add(10 * s)
	ts = b.Apply(ts[:0], Change{Rule: "gas", Device: "gas-1202", Active: true, Severity: shouwang.Fire,
		Level: "fire", Point: "gas", Value: 61, Time: t1}, t1)
	want = Transition{AlarmID: 1, Seq: 2, Kind: KindUpdated, Time: t1, Rule: "gas", Device: "gas-1202",
		Severity: shouwang.Fire, Peak: shouwang.Fire, Level: "fire", Point: "gas", Value: 61, Active: true,
		State: StateRaised, Escalation: 1, Reached: 1, Announce: true}
	if len(ts) != 1 || !reflect.DeepEqual(ts[0], want) {
		t.Fatalf("update:\n got %+v\nwant %+v", ts, want)
	}

	t2 := alarmT0.Add(20 * s)
	ts = b.Apply(ts[:0], Change{Rule: "gas", Device: "gas-1202", Active: true, Severity: shouwang.Alarm,
		Level: "alarm", Point: "gas", Value: 40, Time: t2}, t2)
	if len(ts) != 1 || ts[0].Severity != shouwang.Alarm || ts[0].Peak != shouwang.Fire || ts[0].Announce {
		t.Fatalf("severity down: %+v (want alarm, peak fire, not announced)", ts)
	}

	t3 := alarmT0.Add(30 * s)
	tr, err := b.Acknowledge(1, "li.wei", "calling the resident", t3)
	if err != nil {
		t.Fatal(err)
	}
	want = Transition{AlarmID: 1, Seq: 4, Kind: KindAcknowledged, Time: t3, Rule: "gas", Device: "gas-1202",
		Severity: shouwang.Alarm, Peak: shouwang.Fire, Level: "alarm", Point: "gas", Value: 40, Active: true,
		State: StateAcknowledged, Escalation: 1, Reached: 1, Operator: "li.wei", Note: "calling the resident"}
	if !reflect.DeepEqual(tr, want) {
		t.Fatalf("acknowledge:\n got %+v\nwant %+v", tr, want)
	}

	t4 := alarmT0.Add(40 * s)
	until := t4.Add(time.Hour)
	tr, err = b.Shelve(1, "li.wei", "technician on site", until, t4)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Kind != KindShelved || tr.Note != "technician on site" || !tr.ShelvedUntil.Equal(until) || tr.Seq != 5 {
		t.Fatalf("shelve: %+v", tr)
	}

	a, err := b.Get(1)
	if err != nil {
		t.Fatal(err)
	}
	wantA := Alarm{ID: 1, Rule: "gas", Device: "gas-1202", Active: true, Severity: shouwang.Alarm, Peak: shouwang.Fire,
		Level: "alarm", Point: "gas", Value: 40, RaisedAt: alarmT0, ActiveSince: alarmT0, Activations: []time.Time{alarmT0},
		State: StateAcknowledged, Acknowledged: Mark{"li.wei", "calling the resident", t3}, FirstAck: t3,
		Shelf: Shelving{Operator: "li.wei", Reason: "technician on site", Since: t4, Until: until}, Escalation: 1, Reached: 1, Seq: 5}
	if !reflect.DeepEqual(a, wantA) {
		t.Fatalf("alarm:\n got %+v\nwant %+v", a, wantA)
	}
	if got := fmt.Sprint(a.Actions()); got != "[dispatch resolve unshelve]" {
		t.Errorf("actions %s", got)
	}

	// Copies share nothing with the book.
	a.Activations[0] = time.Time{}
	l := b.List(nil)
	l[0].Activations[0] = time.Time{}
	if again, _ := b.Get(1); !again.Activations[0].Equal(alarmT0) {
		t.Error("a copy from Get or List shares the activations with the book")
	}
}

func TestAlarmActions(t *testing.T) {
	for _, tc := range []struct {
		a    Alarm
		want string
	}{
		{Alarm{State: StateRaised, Active: true}, "[acknowledge shelve]"},
		{Alarm{State: StateAcknowledged, Latch: true, Latched: true}, "[dispatch resolve reset shelve]"},
		{Alarm{State: StateDispatched, Shelf: Shelving{Until: alarmT0}}, "[resolve unshelve]"},
		{Alarm{State: StateResolved, Active: true}, "[shelve]"},
		{Alarm{State: StateResolved}, "[close shelve]"},
		{Alarm{State: StateResolved, Latch: true, Latched: true}, "[reset shelve]"},
		{Alarm{State: StateClosed}, "[]"},
	} {
		if got := fmt.Sprint(tc.a.Actions()); got != tc.want {
			t.Errorf("%+v: actions %s, want %s", tc.a, got, tc.want)
		}
	}
}

// TestAlarmInputErrors covers what an operator's request can get wrong,
// and that callers can branch on every error.
func TestAlarmInputErrors(t *testing.T) {
	const s = time.Second
	b := mustAlarmBook(t, nil)
	b.Apply(nil, Change{Rule: "gas", Device: "gas-1202", Active: true, Severity: shouwang.Alarm, Level: "alarm"}, alarmT0)
	now := alarmT0.Add(s)
	check := func(name string, err error, status int, msg string) {
		t.Helper()
		if err == nil || alarmStatus(err) != status || err.Error() != msg {
			t.Errorf("%s: got %v (status %d), want %d %q", name, err, alarmStatus(err), status, msg)
		}
	}
	_, err := b.Acknowledge(1, "", "", now)
	check("no operator", err, 400, "cannot acknowledge alarm 1: the operator's name is missing")
	_, err = b.Shelve(1, "li.wei", "", now.Add(time.Hour), now)
	check("no reason", err, 400, "cannot shelve alarm 1: a reason is required")
	_, err = b.Acknowledge(2, "li.wei", "", now)
	check("no alarm", err, 404, "alarm 2 does not exist or is closed and archived")
	_, err = b.Get(2)
	check("get", err, 404, "alarm 2 does not exist or is closed and archived")
	_, err = b.Dispatch(1, "li.wei", "", now)
	check("dispatch", err, 409, "cannot dispatch: alarm 1 is raised; it can be acknowledged")
	var se *StepError
	if !errors.As(err, &se) || se.AlarmID != 1 || se.Action != ActionDispatch || se.State != StateRaised ||
		fmt.Sprint(se.Allowed) != "[acknowledge]" {
		t.Errorf("step error %+v", se)
	}
	if _, err := b.Acknowledge(1, "li.wei", "", now); err != nil {
		t.Fatal(err)
	}
	_, err = b.Resolve(1, "li.wei", "", now)
	check("resolve without a note", err, 400, "cannot resolve alarm 1: say in the note what was found and done")
	if a, _ := b.Get(1); a.State != StateAcknowledged || a.Seq != 2 {
		t.Errorf("a refused step changed the alarm: %+v", a)
	}
}

func TestAlarmConfigValidate(t *testing.T) {
	cfg := AlarmConfig{Escalation: []time.Duration{time.Minute, 0}, ChatterCount: 1}
	err := cfg.Validate()
	want := "max_shelve: must be a positive duration (e.g. 8h); escalation[1]: must be a positive duration (e.g. 2m); " +
		"chatter_count: 1: must be 2 or more, or 0 to turn chattering detection off (ISA-18.2 uses 3)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if _, err := NewAlarmBook(cfg); err == nil {
		t.Error("NewAlarmBook took an invalid config")
	}
	cfg = AlarmConfig{MaxShelve: time.Hour, ChatterCount: 3}
	if err := cfg.Validate(); err == nil || err.Error() != "chatter_window: must be a positive duration when chatter_count is set (e.g. 60s)" {
		t.Errorf("got %v", err)
	}
	def := DefaultAlarmConfig()
	if err := def.Validate(); err != nil {
		t.Errorf("default: %v", err)
	}
}
