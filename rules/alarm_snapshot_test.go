package rules

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// alarmStory exercises everything at once over three devices; the
// snapshot test restarts the book between every two of its steps.
func alarmStory() []alarmStep {
	const s, m = time.Second, time.Minute
	return []alarmStep{
		{0, "on warning", "raised#1:raised!"},
		{10 * s, "on alarm@gas-0301 latch", "raised#2:raised!"},
		{20 * s, "on alarm", "updated(alarm):raised!"},
		{30 * s, "off@gas-0301 latch", "returned:raised"},
		{40 * s, "on alarm@gas-0301 latch", "reactivated:raised!"},
		{50 * s, "off@gas-0301 latch", "returned:raised"},
		{60 * s, "on alarm@gas-0301 latch", "reactivated:raised!, chattering:raised!"},
		{70 * s, "ack #2", "acknowledged:acknowledged"},
		{80 * s, "shelve 5m #1", "shelved:raised"},
		{90 * s, "on fire@gas-0502", "raised#3:raised!"},
		{2 * m, "tick", "chatter_ended:acknowledged"}, // #1 is shelved: no escalation
		{130 * s, "off@gas-0301 latch", "returned:acknowledged"},
		{140 * s, "tick", ""},
		{3 * m, "off", "returned:raised"},
		{3*m + 30*s, "tick", "escalated:raised/L2!"},
		{4 * m, "reset #2", "reset:acknowledged"},
		{250 * s, "resolve #2", "resolved:resolved"},
		{260 * s, "close #2", "closed:closed"},
		{5 * m, "ack #3", "acknowledged:acknowledged/L2"},
		{6 * m, "on alarm", "reactivated:raised"},
		{6*m + 20*s, "tick", "unshelved:raised!"},
		{7 * m, "take", "took #2"},
		{8 * m, "on alarm@gas-0301 latch", "raised#4:raised!"},
		{8*m + 20*s, "tick", "escalated:raised/L2!"},
		{9 * m, "ack #1", "acknowledged:acknowledged/L2"},
		{10 * m, "dispatch #3", "dispatched:dispatched/L2"},
		{10*m + 20*s, "tick", "escalated:raised/L2!"},
		{11 * m, "resolve #3", "resolved:resolved/L2"},
		{12 * m, "on alarm@gas-0502", "updated(alarm):resolved/L2"},
		{13 * m, "on fire@gas-0502", "updated(fire):raised!"},
		{14 * m, "off@gas-0502", "returned:raised"},
		{15 * m, "tick", "escalated:raised/L2!, escalated:raised/L3!"},
		{20 * m, "tick", "escalated:raised/L3!"},
		{30 * m, "tick", "escalated:raised/L4!, escalated:raised/L4!"},
		{31 * m, "ack #3", "acknowledged:acknowledged/L4"},
		{32 * m, "resolve #3", "resolved:resolved/L4"},
		{33 * m, "close #3", "closed:closed/L4"},
		{34 * m, "on alarm@gas-0502", "raised#5:raised!"},
	}
}

// TestAlarmSnapshotRestore restarts the book after every step of the
// story, through JSON as the gateway stores it, and checks that it goes on
// exactly as the book that never stopped.
func TestAlarmSnapshotRestore(t *testing.T) {
	play := func(r *alarmRunner, steps []alarmStep) (all []Transition) {
		for i, s := range steps {
			ts, got := r.step(t, s)
			if got != s.want {
				t.Fatalf("step %d (t+%s %s):\n got %q\nwant %q", i, s.at, s.do, got, s.want)
			}
			all = append(all, ts...)
		}
		return all
	}
	story := alarmStory()
	whole := &alarmRunner{b: mustAlarmBook(t, nil)}
	want := play(whole, story)
	wantSnap := whole.b.Snapshot()
	again := &alarmRunner{b: mustAlarmBook(t, nil)}
	if got := play(again, story); !reflect.DeepEqual(got, want) {
		t.Fatal("the same story gave other transitions the second time")
	}

	for k := range len(story) + 1 {
		first := &alarmRunner{b: mustAlarmBook(t, nil)}
		got := play(first, story[:k])
		js, err := json.Marshal(first.b.Snapshot())
		if err != nil {
			t.Fatal(err)
		}
		var snap AlarmSnapshot
		if err := json.Unmarshal(js, &snap); err != nil {
			t.Fatal(err)
		}
		second := &alarmRunner{b: mustAlarmBook(t, nil), cur: first.cur}
		if err := second.b.Restore(snap); err != nil {
			t.Fatalf("restart after step %d: %v", k, err)
		}
		got = append(got, play(second, story[k:])...)
		if !reflect.DeepEqual(got, want) {
			for i := range min(len(got), len(want)) {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("restart after step %d: transition %d\n got %v\nwant %v", k, i, got[i], want[i])
				}
			}
			t.Fatalf("restart after step %d: %d transitions, want %d", k, len(got), len(want))
		}
		if snap := second.b.Snapshot(); !reflect.DeepEqual(snap, wantSnap) {
			t.Fatalf("restart after step %d: final state\n got %+v\nwant %+v", k, snap, wantSnap)
		}
	}
}

func TestAlarmRestoreRefusesInconsistentSnapshots(t *testing.T) {
	b := mustAlarmBook(t, nil)
	b.Apply(nil, Change{Rule: "gas", Device: "gas-1202", Active: true, Severity: shouwang.Alarm}, alarmT0)
	before := b.Snapshot()
	open := func(id uint64, dev string) Alarm {
		return Alarm{ID: id, Rule: "gas", Device: dev, State: StateRaised, Escalation: 1}
	}
	err := b.Restore(AlarmSnapshot{NextID: 3, Alarms: []Alarm{
		open(1, "a"), open(1, "b"), open(3, "c"), open(2, "a"), {ID: 2, State: 9, Escalation: 1}, {ID: 2, Device: "d"},
	}})
	want := "alarm snapshot: alarm 1: listed twice\nalarm 3: id not below the next id 3\n" +
		"alarm 2: rule \"gas\" on device \"a\" already has alarm 1 open\nalarm 2: workflow state 9 is not defined\nalarm 2: escalation level 0 is below 1"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if !reflect.DeepEqual(b.Snapshot(), before) {
		t.Error("a refused Restore changed the book")
	}
	// Restored out of order, the book keeps ids in order.
	if err := b.Restore(AlarmSnapshot{NextID: 10, Alarms: []Alarm{open(7, "b"), open(4, "a")}}); err != nil {
		t.Fatal(err)
	}
	if l := b.Open(); len(l) != 2 || l[0].ID != 4 || l[1].ID != 7 {
		t.Errorf("open after restore: %+v", l)
	}
	ts := b.Apply(nil, Change{Rule: "gas", Device: "c", Active: true, Severity: shouwang.Alarm}, alarmT0)
	if len(ts) != 1 || ts[0].AlarmID != 10 {
		t.Errorf("the next alarm after restore: %+v, want id 10", ts)
	}
}

// TestAlarmJSON checks what the journal stores: names, not numbers, and a
// round trip that loses nothing.
func TestAlarmJSON(t *testing.T) {
	b := mustAlarmBook(t, nil)
	b.Apply(nil, Change{Rule: "gas", Device: "gas-1202", Active: true, Severity: shouwang.Fire, Level: "fire",
		Point: "gas", Value: 60}, alarmT0)
	for i := range 5 { // chatter: the activations kept stay at ChatterCount
		now := alarmT0.Add(time.Duration(2*i+1) * time.Second)
		b.Apply(nil, Change{Rule: "gas", Device: "gas-1202"}, now)
		b.Apply(nil, Change{Rule: "gas", Device: "gas-1202", Active: true, Severity: shouwang.Fire, Level: "fire"}, now.Add(time.Second))
	}
	if a, _ := b.Get(1); len(a.Activations) != 3 || !a.Activations[0].Equal(alarmT0.Add(6*time.Second)) {
		t.Errorf("activations kept: %v", a.Activations)
	}
	ts := b.Tick(nil, alarmT0.Add(2*time.Minute))
	if len(ts) != 2 || ts[0].Kind != KindEscalated || ts[1].Kind != KindChatterEnded {
		t.Fatalf("tick: %v", ts)
	}
	js, err := json.Marshal(ts[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"alarm":1,"seq":13,"kind":"escalated","time":"2026-11-24T20:02:00Z","rule":"gas","device":"gas-1202",` +
		`"severity":"fire","peak":"fire","level":"fire","value":0,"active":true,"state":"raised","escalation":2,"reached":2,"chattering":true,"announce":true}`
	if string(js) != want {
		t.Errorf("JSON\n got %s\nwant %s", js, want)
	}
	var back Transition
	if err := json.Unmarshal(js, &back); err != nil || !reflect.DeepEqual(back, ts[0]) {
		t.Errorf("round trip: %v, %+v", err, back)
	}
	if got := ts[0].String(); got != "alarm 1 #13 escalated gas@gas-1202 fire/fire state=raised L2 at 2026-11-24 20:02:00 announce" {
		t.Errorf("String: %s", got)
	}
	err = json.Unmarshal([]byte(`{"kind":"exploded"}`), &back)
	if err == nil || !strings.Contains(err.Error(), `"exploded" is not an alarm kind (want one of raised, reactivated,`) {
		t.Errorf("unknown kind: %v", err)
	}
	var act Action
	if err := act.UnmarshalText([]byte("close")); err != nil || act != ActionClose {
		t.Errorf("action: %v %v", act, err)
	}
	if _, err := json.Marshal(Transition{Kind: 99}); err == nil {
		t.Error("an undefined kind marshalled")
	}
}

// BenchmarkAlarmApply moves the severity of an open alarm up and down
// among 1,000 open alarms: the path every level change of an active gas
// alarm takes.
func BenchmarkAlarmApply(b *testing.B) {
	book := mustAlarmBook(b, nil)
	for i := range 1000 {
		book.Apply(nil, Change{Rule: "gas", Device: fmt.Sprintf("gas-%04d", i), Active: true,
			Severity: shouwang.Warning, Level: "warning"}, alarmT0)
	}
	changes := [2]Change{
		{Rule: "gas", Device: "gas-0500", Active: true, Severity: shouwang.Alarm, Level: "alarm", Point: "gas", Value: 30},
		{Rule: "gas", Device: "gas-0500", Active: true, Severity: shouwang.Warning, Level: "warning", Point: "gas", Value: 12},
	}
	buf := make([]Transition, 0, 8)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = book.Apply(buf[:0], changes[i%2], alarmT0)
		if len(buf) != 1 {
			b.Fatalf("%d transitions", len(buf))
		}
	}
}
