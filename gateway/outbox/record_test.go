package outbox

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

func sampleBatch(n int, t0 time.Time) shouwang.Batch {
	var b shouwang.Batch
	for i := range n {
		b.Readings = append(b.Readings, shouwang.Reading{
			Device: "gas-1-1-1202", Point: "gas", Value: float64(i) + 0.25, Unit: "%LEL",
			Quality: shouwang.Quality(i % 3), Time: t0.Add(time.Duration(i) * time.Millisecond),
		})
	}
	return b
}

func TestRecordRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 8, 0, 0, 123456789, time.Local)
	b := sampleBatch(3, t0)
	b.Readings[1].Value = math.Inf(-1)
	b.Events = []shouwang.Event{
		{Device: "smoke-2-3", Kind: "smoke_alarm", Severity: shouwang.Fire, Message: "烟感报警", Time: t0,
			Attrs: map[string]string{"loop": "1", "address": "023"}},
		{Device: "gw", Kind: "offline", Severity: shouwang.Fault, Time: t0},
	}
	p := appendRecord(nil, b, t0)
	got, appended, err := decodeRecord(p)
	if err != nil {
		t.Fatal(err)
	}
	if !appended.Equal(t0.Truncate(time.Millisecond)) {
		t.Errorf("appended %v, want %v", appended, t0)
	}
	for i := range b.Readings {
		if !got.Readings[i].Time.Equal(b.Readings[i].Time) {
			t.Errorf("reading %d time %v, want %v", i, got.Readings[i].Time, b.Readings[i].Time)
		}
		got.Readings[i].Time = b.Readings[i].Time
	}
	for i := range b.Events {
		got.Events[i].Time = b.Events[i].Time
	}
	if !reflect.DeepEqual(got, b) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, b)
	}
}

func TestDecodeRecordMalformed(t *testing.T) {
	good := appendRecord(nil, sampleBatch(2, time.Unix(1700000000, 0)), time.Unix(1700000000, 0))
	for _, tc := range []struct {
		name string
		p    []byte
		want string
	}{
		{"empty", nil, "ends early"},
		{"future version", append([]byte{9}, good[1:]...), "version 9"},
		{"cut in a reading", good[:len(good)-5], "ends early"},
		{"trailing bytes", append(append([]byte{}, good...), 1, 2, 3), "after the last event"},
		{"huge count", []byte{recordVersion, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, "does not fit"},
		{"string past end", append([]byte{recordVersion, 0, 1, 0x7f}, []byte(strings.Repeat("a", 15))...), "ends early"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decodeRecord(tc.p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, sampleBatch(2, time.Unix(1700000000, 0)), time.Unix(1700000000, 0)))
	f.Add([]byte{recordVersion, 0, 0, 1, 1, 'd', 1, 'k', 4, 0, 0, 1, 1, 'a', 1, 'b'})
	f.Fuzz(func(t *testing.T, p []byte) {
		b, appended, err := decodeRecord(p)
		if err != nil {
			return
		}
		// Whatever decodes must survive a round trip unchanged (varints
		// may come back shorter, so compare values, not bytes).
		b2, appended2, err := decodeRecord(appendRecord(nil, b, appended))
		if err != nil || !appended2.Equal(appended) || !reflect.DeepEqual(b2, b) {
			t.Fatalf("round trip of %x: %v\n got %+v\nwant %+v", p, err, b2, b)
		}
	})
}
