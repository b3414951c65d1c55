package mqtt

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/stamp"
)

// Models like the shipped profiles' (firmware-configs/*wireless*, *kv*).
func jsonModel() *Model {
	m := &Model{Format: FormatJSON, Time: "ts",
		Points: []PointMap{{Name: "gas", Field: "lel"}, {Name: "battery", Field: "bat"}},
		Flags:  []FlagMap{{Field: "alarm", Event: "gas_alarm"}, {Field: "state.fault", Event: "fault", On: []string{"fault"}}},
		Event:  &EventMap{Field: "event", Kinds: map[string]string{"tamper": "tamper"}}}
	return provisioned(m)
}

func kvModel() *Model {
	return provisioned(&Model{Format: FormatKV, Time: "t", TimeUnit: stamp.Seconds,
		Points: []PointMap{{Name: "battery", Field: "bat"}}, Flags: []FlagMap{{Field: "alm", Event: "smoke_alarm"}}})
}

func numberModel() *Model {
	return provisioned(&Model{Format: FormatNumber, Points: []PointMap{{Name: "gas"}, {Name: "co", Scale: 0.1}}})
}

func provisioned(m *Model) *Model {
	if err := m.Validate(); err != nil {
		panic(err)
	}
	m.Provision(map[string]string{"gas": "%LEL", "battery": "%", "co": "ppm"}, map[string]shouwang.Severity{
		"gas_alarm": shouwang.Alarm, "gas_clear": shouwang.Info, "fault": shouwang.Fault, "fault_clear": shouwang.Info,
		"tamper": shouwang.Warning, "smoke_alarm": shouwang.Fire, "smoke_clear": shouwang.Info})
	return m
}

func state(m *Model) *deviceState {
	d := &deviceState{dev: shouwang.Device{ID: "d1"}, model: m, flags: make([]int8, len(m.Flags))}
	for i := range d.flags {
		d.flags[i] = -1
	}
	return d
}

var recv = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

func TestDecodeForms(t *testing.T) {
	for _, tc := range []struct {
		name     string
		model    *Model
		point    string
		payload  string
		readings string // "point=value@unixms ..."
		events   string // "kind ..."
	}{
		{"json ms", jsonModel(), "", `{"ts":1790000000123,"lel":3.5,"bat":97,"alarm":0}`, "gas=3.5@1790000000123 battery=97@1790000000123", "gas_clear"},
		{"json s fraction", jsonModel(), "", `{"ts":1790000000.5,"lel":1}`, "gas=1@1790000000500", ""},
		{"json rfc3339", jsonModel(), "", `{"ts":"2026-11-24T08:00:00.250+08:00","lel":2}`, "gas=2@1795478400250", ""},
		{"json numeric strings", jsonModel(), "", `{"ts":"1790000000123","lel":"4.25"}`, "gas=4.25@1790000000123", ""},
		{"json no time", jsonModel(), "", `{"lel":5}`, "gas=5@" + itoa(recv.UnixMilli()), ""},
		{"json bool flag", jsonModel(), "", `{"alarm":true,"state":{"fault":"fault"}}`, "", "gas_alarm fault"},
		{"json event", jsonModel(), "", `{"event":"tamper"}`, "", "tamper"},
		{"on list ignores case and spaces", jsonModel(), "", `{"state":{"fault":" FAULT "}}`, "", "fault"},
		{"kv", kvModel(), "", "t=1790000000;alm=1;bat=76;csq=21", "battery=76@1790000000000", "smoke_alarm"},
		{"kv spaces and commas", kvModel(), "", "bat=50, alm=0\n", "battery=50@" + itoa(recv.UnixMilli()), "smoke_clear"},
		{"number", numberModel(), "gas", " 12.5\n", "gas=12.5@" + itoa(recv.UnixMilli()), ""},
		{"number scaled", numberModel(), "co", "355", "co=35.5@" + itoa(recv.UnixMilli()), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b shouwang.Batch
			if p := state(tc.model).decode([]byte(tc.payload), tc.point, recv, &b); p != nil {
				t.Fatalf("problem: %v", p)
			}
			if got := readingsString(b.Readings); got != tc.readings {
				t.Errorf("readings %q, want %q", got, tc.readings)
			}
			if got := eventsString(b.Events); got != tc.events {
				t.Errorf("events %q, want %q", got, tc.events)
			}
		})
	}
}

// TestReceiveTimesApart: readings without a time of their own that come
// in one burst (a backlog after an outage) get times a millisecond apart,
// since a store keeps one point per series and millisecond.
func TestReceiveTimesApart(t *testing.T) {
	d := state(numberModel())
	var b shouwang.Batch
	for _, p := range []string{"1", "2", "3"} {
		if pr := d.decode([]byte(p), "gas", recv, &b); pr != nil {
			t.Fatal(pr)
		}
	}
	for i, r := range b.Readings {
		if want := recv.Add(time.Duration(i) * time.Millisecond); !r.Time.Equal(want) {
			t.Errorf("reading %d at %v, want %v", i, r.Time, want)
		}
	}
}

func TestFlagsReportChanges(t *testing.T) {
	d := state(jsonModel())
	var kinds []string
	for _, p := range []string{`{"alarm":0}`, `{"alarm":0}`, `{"alarm":1}`, `{"alarm":1,"lel":30}`, `{"lel":2}`, `{"alarm":0}`} {
		var b shouwang.Batch
		if pr := d.decode([]byte(p), "", recv, &b); pr != nil {
			t.Fatal(pr)
		}
		kinds = append(kinds, eventsString(b.Events))
	}
	if got, want := strings.Join(kinds, "|"), "gas_clear||gas_alarm|||gas_clear"; got != want {
		t.Errorf("events per message %q, want %q (the first message reports, then changes only)", got, want)
	}
}

func TestDecodeMalformed(t *testing.T) {
	garbage := bytes.Repeat([]byte{0xff, '{', '"'}, 1<<20/3)
	for _, tc := range []struct {
		name     string
		model    *Model
		point    string
		payload  []byte
		reason   string
		readings int // what is still taken from the message
	}{
		{"not json", jsonModel(), "", []byte(`lel=3`), reasonMalformed, 0},
		{"truncated json", jsonModel(), "", []byte(`{"lel":3`), reasonMalformed, 0},
		{"json array", jsonModel(), "", []byte(`[1,2]`), reasonMalformed, 0},
		{"json string", jsonModel(), "", []byte(`"hi"`), reasonMalformed, 0},
		{"empty", jsonModel(), "", nil, reasonMalformed, 0},
		{"1 MB garbage", jsonModel(), "", garbage, reasonMalformed, 0},
		{"no fields", jsonModel(), "", []byte(`{"temperature":20}`), reasonNoFields, 0},
		{"null field", jsonModel(), "", []byte(`{"lel":null}`), reasonNoFields, 0},
		{"wrong type keeps the rest", jsonModel(), "", []byte(`{"lel":"high","bat":90}`), reasonBadValue, 1},
		{"object value", jsonModel(), "", []byte(`{"lel":{"v":1}}`), reasonBadValue, 0},
		{"huge number", jsonModel(), "", []byte(`{"lel":1e999}`), reasonBadValue, 0},
		{"flag neither", jsonModel(), "", []byte(`{"alarm":"maybe","lel":1}`), reasonBadValue, 1},
		{"unknown event", jsonModel(), "", []byte(`{"event":"party"}`), reasonBadValue, 0},
		{"event not text", jsonModel(), "", []byte(`{"event":3}`), reasonBadValue, 0},
		{"bad time keeps reading", jsonModel(), "", []byte(`{"ts":"yesterday","lel":1}`), reasonBadTime, 1},
		{"time before 2000", jsonModel(), "", []byte(`{"ts":0,"lel":1}`), reasonBadTime, 1},
		{"time as bool", jsonModel(), "", []byte(`{"ts":true,"lel":1}`), reasonBadTime, 1},
		{"time out of range", jsonModel(), "", []byte(`{"ts":1e300,"lel":1}`), reasonBadTime, 1},
		{"time years ahead (ms since boot as s)", jsonModel(), "", []byte(`{"ts":2000000000,"lel":1}`), reasonBadTime, 1},
		{"kv no equals", kvModel(), "", []byte("bat76"), reasonMalformed, 0},
		{"kv bad token keeps the rest", kvModel(), "", []byte("t=1790000000;garbage;bat=76"), reasonMalformed, 1},
		{"kv empty key", kvModel(), "", []byte("=5"), reasonMalformed, 0},
		{"kv only separators", kvModel(), "", []byte(" ;,&"), reasonMalformed, 0},
		{"kv bad number", kvModel(), "", []byte("bat=lots"), reasonBadValue, 0},
		{"kv time rfc text", kvModel(), "", []byte("t=now;bat=1"), reasonBadTime, 1},
		{"number text", numberModel(), "gas", []byte("abc"), reasonMalformed, 0},
		{"number NaN", numberModel(), "gas", []byte("NaN"), reasonMalformed, 0},
		{"number unknown point", numberModel(), "temp", []byte("1"), reasonBadValue, 0},
		{"number several points, none named", numberModel(), "", []byte("1"), reasonBadValue, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b shouwang.Batch
			p := state(tc.model).decode(tc.payload, tc.point, recv, &b)
			if p == nil || p.reason != tc.reason {
				t.Fatalf("problem %v, want reason %s", p, tc.reason)
			}
			if len(b.Readings) != tc.readings {
				t.Errorf("%d readings taken, want %d", len(b.Readings), tc.readings)
			}
			if len(p.Error()) > 400 {
				t.Errorf("problem too long to log: %d bytes", len(p.Error()))
			}
		})
	}
}

func FuzzDecodeJSON(f *testing.F) {
	fuzzDecode(f, jsonModel, `{"ts":1790000000123,"lel":3.5,"alarm":1,"state":{"fault":"fault"}}`)
}
func FuzzDecodeKV(f *testing.F) { fuzzDecode(f, kvModel, "t=1790000000;alm=1;bat=76") }
func FuzzDecodeNumber(f *testing.F) {
	fuzzDecode(f, func() *Model { return provisioned(&Model{Format: FormatNumber, Points: []PointMap{{Name: "gas"}}}) }, "12.5")
}

// fuzzDecode checks that any payload decodes or says why not, and that
// whatever it yields is a finite value at a sane time.
func fuzzDecode(f *testing.F, model func() *Model, seed string) {
	f.Add([]byte(seed))
	f.Add([]byte(`{"lel":"1e400","ts":"2026-13-01T00:00:00Z"}`))
	f.Add([]byte("a=b=c;;"))
	m := model()
	f.Fuzz(func(t *testing.T, payload []byte) {
		var b shouwang.Batch
		p := state(m).decode(payload, "", recv, &b)
		if p != nil && (p.reason == "" || p.detail == "") {
			t.Fatalf("problem without a reason or detail: %#v", p)
		}
		for _, r := range b.Readings {
			if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
				t.Fatalf("non-finite reading %v", r)
			}
			if r.Time.Year() < 2000 {
				t.Fatalf("reading at %v", r.Time)
			}
		}
	})
}

func readingsString(rs []shouwang.Reading) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, r.Point+"="+ftoa(r.Value)+"@"+itoa(r.Time.UnixMilli()))
	}
	return strings.Join(parts, " ")
}

func eventsString(es []shouwang.Event) string {
	var parts []string
	for _, e := range es {
		parts = append(parts, e.Kind)
	}
	return strings.Join(parts, " ")
}

func itoa(v int64) string   { return strconv.FormatInt(v, 10) }
func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
