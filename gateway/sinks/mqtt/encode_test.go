package mqtt

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

func testEncoder(t *testing.T, readings, events string) *encoder {
	t.Helper()
	rt, problem := parseTemplate(readings, readingNames, "")
	if problem != "" {
		t.Fatal(problem)
	}
	et, problem := parseTemplate(events, eventNames, "")
	if problem != "" {
		t.Fatal(problem)
	}
	return newEncoder(rt, et, "sunshine", testDevices)
}

func TestTopics(t *testing.T) {
	const all = "x/{gateway}/{site}/{building}/{unit}/{floor}/{room}/{device}/{type}"
	def := testEncoder(t, defaultReadings, defaultEvents)
	full := testEncoder(t, all+"/{point}", all+"/{kind}")
	for _, tc := range []struct {
		e            *encoder
		event        bool
		device, name string
		want         string
	}{
		{def, false, "gas-1202", "gas", "shouwang/sunshine/3号楼/gas-1202/gas"},
		{def, true, "gas-1202", "gas_alarm", "shouwang/sunshine/3号楼/gas-1202/events/gas_alarm"},
		// A slash or a wildcard in a name becomes _, so it can neither add
		// a level nor make a topic the broker refuses.
		{def, false, "smoke-b1", "smoke_density", "shouwang/sunshine/C_地下__车库/smoke-b1/smoke_density"},
		// A device the gateway does not know: _ for where it is.
		{def, false, "ghost", "co", "shouwang/sunshine/_/ghost/co"},
		{def, false, "a/b+c#", "", "shouwang/sunshine/_/a_b_c_/_"},
		{def, true, "ghost", "bad\xffkind\x00", "shouwang/sunshine/_/ghost/events/bad_kind_"},
		{full, false, "gas-1202", "gas", "x/sunshine/阳光花园/3号楼/2/12/1202/gas-1202/gas/gas"},
		{full, false, "smoke-b1", "smoke_density", "x/sunshine/阳光花园/C_地下__车库/_/-1/storage_room/smoke-b1/smoke/smoke_density"},
		{full, true, "ghost", "offline", "x/sunshine/_/_/_/_/_/ghost/_/offline"},
		// A value at the start never makes a $ topic.
		{testEncoder(t, "{device}/{point}", "{device}"), false, "$SYS", "p", "_SYS/p"},
		{testEncoder(t, "community/{site}-{building}/dev-{device}", "e"), false, "gas-1202", "gas", "community/阳光花园-3号楼/dev-gas-1202"},
		{testEncoder(t, "r", "district/events"), true, "gas-1202", "gas_alarm", "district/events"},
	} {
		// Twice: the second comes from the cache.
		for range 2 {
			if got := tc.e.topic(tc.event, tc.device, tc.name); got != tc.want {
				t.Errorf("topic(%v, %q, %q) = %q, want %q", tc.event, tc.device, tc.name, got, tc.want)
			}
		}
	}
}

func TestTopicCacheIsBounded(t *testing.T) {
	e := testEncoder(t, defaultReadings, defaultEvents)
	for i := range maxTopics + 10 {
		e.topic(false, "ghost", strconv.Itoa(i))
	}
	if n := len(e.topics); n > maxTopics {
		t.Errorf("%d topics cached, want at most %d", n, maxTopics)
	}
}

func TestLevel(t *testing.T) {
	for in, want := range map[string]string{
		"": "_", "3号楼": "3号楼", "a/b": "a_b", "+": "_", "#": "_", "x\x00y": "x_y", "tab\there": "tab_here",
		"\u0085": "_", "\xff\xfe": "__", "\uFFFF": "_", "\uFDD0ok": "_ok", "emoji😀": "emoji😀",
	} {
		if got := level(in); got != want {
			t.Errorf("level(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPayloads(t *testing.T) {
	e := testEncoder(t, defaultReadings, defaultEvents)
	b := testBatch()
	b.Readings = append(b.Readings,
		shouwang.Reading{Device: "ghost", Point: "co", Value: math.NaN(), Unit: "ppm", Quality: shouwang.Bad, Time: t0})
	b.Events = append(b.Events, shouwang.Event{Device: "ghost", Kind: "offline", Severity: shouwang.Fault, Time: t0.Add(time.Second)})
	msgs, err := e.encode(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"device":"gas-1202","point":"gas","value":12.5,"unit":"%LEL","quality":"good","time":"2025-11-24T12:00:00.123Z","location":{"community":"阳光花园","building":"3号楼","unit":"2","floor":12,"room":"1202","grid":"GX-03"}}`,
		`{"device":"smoke-b1","point":"smoke_density","value":0.02,"unit":"dB/m","quality":"stale","time":"2025-11-24T12:00:00.124Z","location":{"community":"阳光花园","building":"C/地下+#车库","floor":-1,"room":"storage\nroom"}}`,
		`{"device":"ghost","point":"co","value":null,"unit":"ppm","quality":"bad","time":"2025-11-24T12:00:00.123Z","location":{}}`,
		`{"device":"gas-1202","kind":"gas_alarm","severity":"alarm","message":"燃气浓度超限","time":"2025-11-24T12:00:00.123Z","attrs":{"threshold":"25%LEL"},"location":{"community":"阳光花园","building":"3号楼","unit":"2","floor":12,"room":"1202","grid":"GX-03"}}`,
		`{"device":"ghost","kind":"offline","severity":"fault","message":"","time":"2025-11-24T12:00:01.123Z","attrs":{},"location":{}}`,
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		if string(m.payload) != want[i] {
			t.Errorf("message %d:\n%s\nwant\n%s", i, m.payload, want[i])
		}
		if !json.Valid(m.payload) {
			t.Errorf("message %d is not JSON", i)
		}
	}
}

func TestPayloadTimeIsUTC(t *testing.T) {
	e := testEncoder(t, defaultReadings, defaultEvents)
	shanghai := time.FixedZone("CST", 8*3600)
	msgs, _ := e.encode(nil, shouwang.Batch{Readings: []shouwang.Reading{{Device: "d", Point: "p", Time: t0.In(shanghai)}}})
	if !bytes.Contains(msgs[0].payload, []byte(`"time":"2025-11-24T12:00:00.123Z"`)) {
		t.Errorf("payload %s", msgs[0].payload)
	}
}

func TestAttrsSorted(t *testing.T) {
	e := testEncoder(t, defaultReadings, defaultEvents)
	ev := shouwang.Event{Device: "d", Kind: "k", Attrs: map[string]string{}}
	for _, k := range []string{"z", "b", "y", "a", "m", "c", "x"} {
		ev.Attrs[k] = strings.ToUpper(k)
	}
	// Sent again after a failure, the message is the same bytes.
	once := func() string {
		msgs, _ := e.encode(nil, shouwang.Batch{Events: []shouwang.Event{ev}})
		return string(msgs[0].payload)
	}
	first := once()
	for range 20 {
		if again := once(); again != first {
			t.Fatalf("%s\nthen\n%s", first, again)
		}
	}
	if !strings.Contains(first, `"attrs":{"a":"A","b":"B","c":"C","m":"M","x":"X","y":"Y","z":"Z"}`) {
		t.Errorf("attrs not sorted: %s", first)
	}
}

func BenchmarkEncode(b *testing.B) {
	rt, _ := parseTemplate(defaultReadings, readingNames, "")
	et, _ := parseTemplate(defaultEvents, eventNames, "")
	batch, devices := benchBatch(5000)
	e := newEncoder(rt, et, "sunshine", devices)
	var msgs []message
	b.ReportAllocs()
	for b.Loop() {
		msgs, _ = e.encode(msgs[:0], batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/5000, "ns/msg")
}

// benchBatch is n readings of 100 located devices, 5 points each.
func benchBatch(n int) (shouwang.Batch, map[string]shouwang.Device) {
	devices := map[string]shouwang.Device{}
	for i := range 100 {
		id := "dev-" + string(rune('a'+i%26)) + string(rune('0'+i/26))
		devices[id] = shouwang.Device{ID: id, Type: "gas", Location: shouwang.Location{
			Community: "阳光花园", Building: "3号楼", Unit: "2", Floor: 1 + i%18, Room: "1202"}}
	}
	ids := make([]string, 0, len(devices))
	for id := range devices {
		ids = append(ids, id)
	}
	var b shouwang.Batch
	for i := range n {
		b.Readings = append(b.Readings, shouwang.Reading{Device: ids[i%len(ids)], Point: []string{"gas", "co", "temperature", "humidity", "battery"}[i%5],
			Value: float64(i) * 0.25, Unit: "%LEL", Time: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	return b, devices
}
