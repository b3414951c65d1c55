package rules

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzAlarmSnapshot reads arbitrary bytes as the journal's saved book: a
// snapshot that does not decode or does not hold together is refused with
// an error, one that is accepted survives a tick, an operator step and a
// snapshot round trip.
func FuzzAlarmSnapshot(f *testing.F) {
	book := mustAlarmBook(f, nil)
	book.Apply(nil, Change{Rule: "gas", Device: "gas-1202", Active: true, Severity: 3, Level: "alarm", Point: "gas", Value: 30}, alarmT0)
	good, _ := json.Marshal(book.Snapshot())
	f.Add(good)
	f.Add([]byte(`{"next_id":1,"alarms":[]}`))
	f.Add([]byte(`{"next_id":1,"alarms":[{"id":5}]}`))
	f.Add([]byte(`{"alarms":[{"id":1,"state":"closed"},{"id":1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var snap AlarmSnapshot
		if json.Unmarshal(data, &snap) != nil {
			return
		}
		b := mustAlarmBook(t, nil)
		if err := b.Restore(snap); err != nil {
			return
		}
		now := alarmT0.Add(time.Hour)
		b.Tick(nil, now)
		for _, a := range b.Open() {
			b.Acknowledge(a.ID, "fuzz", "", now)
		}
		again := mustAlarmBook(t, nil)
		if err := again.Restore(b.Snapshot()); err != nil {
			t.Fatalf("a restored book's own snapshot does not restore: %v", err)
		}
	})
}
