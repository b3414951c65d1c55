package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

func TestAlarmFigures(t *testing.T) {
	const s, m, h = time.Second, time.Minute, time.Hour
	at := func(d time.Duration) time.Time { return alarmT0.Add(d) }
	closed := func(d time.Duration) Mark { return Mark{Operator: "li.wei", Time: at(d)} }
	alarms := []Alarm{
		{ID: 1, Device: "north-1", RaisedAt: at(0), FirstAck: at(30 * s), State: StateClosed, Closed: closed(10 * m), Escalation: 1},
		{ID: 2, Device: "north-2", RaisedAt: at(h), FirstAck: at(h + 3*m), State: StateClosed, Closed: closed(2 * h), Escalation: 2},
		{ID: 3, Device: "north-3", RaisedAt: at(2 * h), FirstAck: at(2*h + m), State: StateRaised, Reopened: 1, Escalation: 1},
		{ID: 4, Device: "north-4", RaisedAt: at(3 * h), State: StateRaised, Escalation: 4},
		{ID: 5, Device: "north-5", RaisedAt: at(-s), FirstAck: at(0), State: StateClosed, Closed: closed(m), Escalation: 1},
		{ID: 6, Device: "north-6", RaisedAt: at(24 * h), State: StateRaised, Escalation: 1},
		{ID: 7, Device: "south-1", RaisedAt: at(h), State: StateRaised, Escalation: 3},
	}
	north := func(a *Alarm) bool { return strings.HasPrefix(a.Device, "north-") }
	got := ComputeAlarmFigures(alarms, at(0), at(24*h), north)
	want := AlarmFigures{From: at(0), To: at(24 * h), Raised: 4, Acknowledged: 3, Closed: 2, Escalated: 2, Reopened: 1,
		ShareClosed:   0.5,
		ToAcknowledge: DurationStats{N: 3, Mean: 90 * s, Median: m, P90: 3 * m, Max: 3 * m},
		ToClose:       DurationStats{N: 2, Mean: 35 * m, Median: 10 * m, P90: h, Max: h}}
	if got != want {
		t.Errorf("north:\n got %+v\nwant %+v", got, want)
	}
	if got := ComputeAlarmFigures(alarms, at(0), at(24*h), nil); got.Raised != 5 || got.Escalated != 3 {
		t.Errorf("every grid: %+v", got)
	}
	if got := ComputeAlarmFigures(nil, at(0), at(h), nil); got != (AlarmFigures{From: at(0), To: at(h)}) {
		t.Errorf("nothing raised: %+v", got)
	}

	var d []time.Duration
	for i := 10; i >= 1; i-- {
		d = append(d, time.Duration(i)*s)
	}
	if got := durationStats(d); got != (DurationStats{N: 10, Mean: 5500 * time.Millisecond, Median: 5 * s, P90: 9 * s, Max: 10 * s}) {
		t.Errorf("1s..10s: %+v", got)
	}
}

// TestAlarmFiguresFromTheBook computes figures the way the gateway does:
// closed alarms taken from the book, open ones from it.
func TestAlarmFiguresFromTheBook(t *testing.T) {
	const m = time.Minute
	r := &alarmRunner{b: mustAlarmBook(t, nil)}
	for _, s := range []alarmStep{
		{0, "on alarm", "raised#1:raised!"},
		{1 * m, "ack", "acknowledged:acknowledged"},
		{2 * m, "on fire@gas-0301", "raised#2:raised!"},
		{3 * m, "off", "returned:acknowledged"},
		{4 * m, "resolve #1", "resolved:resolved"},
		{5 * m, "close #1", "closed:closed"},
	} {
		if _, got := r.step(t, s); got != s.want {
			t.Fatalf("t+%s %s: got %q, want %q", s.at, s.do, got, s.want)
		}
	}
	history := r.b.TakeClosed()
	all := append(history, r.b.Open()...)
	got := ComputeAlarmFigures(all, alarmT0, alarmT0.Add(24*time.Hour), nil)
	want := AlarmFigures{From: alarmT0, To: alarmT0.Add(24 * time.Hour), Raised: 2, Acknowledged: 1, Closed: 1, ShareClosed: 0.5,
		ToAcknowledge: DurationStats{N: 1, Mean: m, Median: m, P90: m, Max: m},
		ToClose:       DurationStats{N: 1, Mean: 5 * m, Median: 5 * m, P90: 5 * m, Max: 5 * m}}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	fires := ComputeAlarmFigures(all, alarmT0, alarmT0.Add(24*time.Hour), func(a *Alarm) bool { return a.Peak == shouwang.Fire })
	if fires.Raised != 1 || fires.Acknowledged != 0 || fires.ShareClosed != 0 {
		t.Errorf("fires: %+v", fires)
	}
}
