package influxdb

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// t0 has sub-millisecond digits, to show they are cut (precision ms).
var t0 = time.Date(2025, 11, 24, 12, 0, 0, 123_456_789, time.UTC)

const t0ms = "1763985600123"

var testDevices = map[string]shouwang.Device{
	"gas-1202": {
		ID: "gas-1202", Type: "gas",
		Location: shouwang.Location{Community: "sunshine", Building: "3号楼", Unit: "2单元", Floor: 12, Room: "1202", Grid: "G7"},
	},
	"smoke-b1": {
		ID: "smoke-b1", Type: "smoke",
		Location: shouwang.Location{Community: "sunshine", Floor: -1},
	},
	"odd": {
		ID: "odd", Type: "co",
		Location: shouwang.Location{Community: "a,b=c d\\e\"f", Room: "line1\nline2\r\t\f", Grid: "bad\xffutf8\x00nul\x7fdel"},
	},
}

func encodeOne(t *testing.T, b shouwang.Batch) (string, int) {
	t.Helper()
	e := encoder{devices: testDevices}
	lines, skipped := e.encode(b)
	out := string(e.buf)
	if got := strings.Count(out, "\n") + 1; out != "" && got != lines {
		t.Errorf("encode said %d lines, wrote %d", lines, got)
	}
	return out, skipped
}

func TestEncode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		batch   shouwang.Batch
		want    string // lines joined by "\n"
		skipped int
	}{{
		name:  "reading with full location: tags sorted, unit vs uom, floor as number",
		batch: shouwang.Batch{Readings: []shouwang.Reading{{Device: "gas-1202", Point: "gas", Value: 12.5, Unit: "%LEL", Quality: shouwang.Good, Time: t0}}},
		want:  `gas,building=3号楼,community=sunshine,device=gas-1202,floor=12,grid=G7,room=1202,type=gas,unit=2单元,uom=%LEL value=12.5,quality=0i ` + t0ms,
	}, {
		name:  "missing location parts and a basement floor",
		batch: shouwang.Batch{Readings: []shouwang.Reading{{Device: "smoke-b1", Point: "smoke_density", Value: 0.02, Unit: "dB/m", Quality: shouwang.Stale, Time: t0}}},
		want:  `smoke_density,community=sunshine,device=smoke-b1,floor=-1,type=smoke,uom=dB/m value=0.02,quality=2i ` + t0ms,
	}, {
		name:  "unknown device: only the device tag, no unit of measure",
		batch: shouwang.Batch{Readings: []shouwang.Reading{{Device: "ghost", Point: "co", Value: -3, Quality: shouwang.Bad, Time: t0}}},
		want:  `co,device=ghost value=-3,quality=1i ` + t0ms,
	}, {
		name:  "no device id at all: no tags",
		batch: shouwang.Batch{Readings: []shouwang.Reading{{Point: "co", Value: 1, Time: t0}}},
		want:  `co value=1,quality=0i ` + t0ms,
	}, {
		name:  "large and tiny values use exponents",
		batch: shouwang.Batch{Readings: []shouwang.Reading{{Device: "x", Point: "p", Value: 1e300, Time: t0}, {Device: "x", Point: "p", Value: -5e-324, Time: t0}}},
		want:  "p,device=x value=1e+300,quality=0i " + t0ms + "\np,device=x value=-5e-324,quality=0i " + t0ms,
	}, {
		name: "escaping in measurement, tags, uom",
		batch: shouwang.Batch{Readings: []shouwang.Reading{{
			Device: "dev 1,a=b\\", Point: "gas level,x=y\\", Value: 1, Unit: "m=s, x\\", Time: t0,
		}}},
		// measurement: comma, space, backslash (not '='); tags: comma, '=', space, backslash.
		want: `gas\ level\,x=y\\,device=dev\ 1\,a\=b\\,uom=m\=s\,\ x\\ value=1,quality=0i ` + t0ms,
	}, {
		name:  "newline, CR, tab, form feed become \\n \\r \\t \\f; other controls and bad UTF-8 become U+FFFD",
		batch: shouwang.Batch{Readings: []shouwang.Reading{{Device: "odd", Point: "co\nx", Value: 1, Time: t0}}},
		want:  `co\nx,community=a\,b\=c\ d\\e"f,device=odd,grid=bad�utf8�nul�del,room=line1\nline2\r\t\f,type=co value=1,quality=0i ` + t0ms,
	}, {
		name: "event with location and attrs sorted, string escaping",
		batch: shouwang.Batch{Events: []shouwang.Event{{
			Device: "gas-1202", Kind: "gas_alarm", Severity: shouwang.Alarm, Time: t0,
			Message: "say \"hi\" C:\\ \nnext",
			Attrs:   map[string]string{"zone": "kitchen", "loop": "1", "evidence url": "http://x/a b?c=\"d\""},
		}}},
		want: `event,building=3号楼,community=sunshine,device=gas-1202,floor=12,grid=G7,kind=gas_alarm,room=1202,severity=alarm,unit=2单元 ` +
			`severity=3i,message="say \"hi\" C:\\ \nnext",attr_evidence\ url="http://x/a b?c=\"d\"",attr_loop="1",attr_zone="kitchen" ` + t0ms,
	}, {
		name:  "event of an unknown device, no kind, no message",
		batch: shouwang.Batch{Events: []shouwang.Event{{Device: "ghost", Severity: shouwang.Fire, Time: t0}}},
		want:  `event,device=ghost,severity=fire severity=4i,message="" ` + t0ms,
	}, {
		name:  "unknown severity number",
		batch: shouwang.Batch{Events: []shouwang.Event{{Device: "ghost", Kind: "x", Severity: 9, Time: t0}}},
		want:  `event,device=ghost,kind=x,severity=unknown severity=9i,message="" ` + t0ms,
	}, {
		name: "NaN, Inf, no point, comment point, zero and far times are skipped and counted",
		batch: shouwang.Batch{
			Readings: []shouwang.Reading{
				{Device: "x", Point: "p", Value: math.NaN(), Time: t0},
				{Device: "x", Point: "p", Value: 2, Time: t0},
				{Device: "x", Point: "p", Value: math.Inf(1), Time: t0},
				{Device: "x", Point: "p", Value: math.Inf(-1), Time: t0},
				{Device: "x", Point: "", Value: 1, Time: t0},
				{Device: "x", Point: "#p", Value: 1, Time: t0},
				{Device: "x", Point: "p", Value: 1},
				{Device: "x", Point: "p", Value: 1, Time: time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC)},
				{Device: "x", Point: "p", Value: 1, Time: time.Date(1677, 1, 1, 0, 0, 0, 0, time.UTC)},
			},
			Events: []shouwang.Event{{Device: "x", Kind: "k"}, {Device: "x", Kind: "k", Time: t0}},
		},
		want:    "p,device=x value=2,quality=0i " + t0ms + "\nevent,device=x,kind=k,severity=info severity=0i,message=\"\" " + t0ms,
		skipped: 9,
	}, {
		name:    "everything skipped: empty output",
		batch:   shouwang.Batch{Readings: []shouwang.Reading{{Device: "x", Point: "p", Value: math.NaN(), Time: t0}}},
		want:    "",
		skipped: 1,
	}, {
		name: "times at the edges of what InfluxDB stores, and before 1970",
		batch: shouwang.Batch{Readings: []shouwang.Reading{
			{Point: "p", Value: 1, Time: time.UnixMilli(maxMillis)},
			{Point: "p", Value: 1, Time: time.UnixMilli(minMillis)},
			{Point: "p", Value: 1, Time: time.Unix(-1, 999_999_999)}, // -1 ns: floors to -1 ms
			{Point: "p", Value: 1, Time: time.UnixMilli(maxMillis + 1)},
			{Point: "p", Value: 1, Time: time.UnixMilli(minMillis - 1)},
		}},
		want:    "p value=1,quality=0i 9223372036854\np value=1,quality=0i -9223372036854\np value=1,quality=0i -1",
		skipped: 2,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, skipped := encodeOne(t, tc.batch)
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
			if skipped != tc.skipped {
				t.Errorf("skipped %d, want %d", skipped, tc.skipped)
			}
			// Every line must also parse, with tags in key order.
			if got == "" {
				return
			}
			for _, line := range strings.Split(got, "\n") {
				p, err := parseLine(line)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.IsSortedFunc(p.Tags, func(a, b lpTag) int { return strings.Compare(a.Key, b.Key) }) {
					t.Errorf("tags not sorted: %v", p.Tags)
				}
			}
		})
	}
}

// TestEncodeRoundTrip reads back the escaped cases with the test parser:
// what the store will see, not only what the encoder wrote.
func TestEncodeRoundTrip(t *testing.T) {
	ev := shouwang.Event{
		Device: "odd", Kind: "k=1, 2\\", Severity: shouwang.Warning, Time: t0,
		Message: "quote\" backslash\\ end\\",
		Attrs:   map[string]string{"a,b=c d\\": "v\\\"", "": "empty key"},
	}
	r := shouwang.Reading{Device: "gas-1202", Point: "m ,=\\", Value: math.SmallestNonzeroFloat64, Unit: "\\", Quality: 7, Time: t0}
	out, _ := encodeOne(t, shouwang.Batch{Readings: []shouwang.Reading{r}, Events: []shouwang.Event{ev}})
	lines := strings.Split(out, "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), out)
	}
	pr, err := parseLine(lines[0])
	if err != nil {
		t.Fatal(err)
	}
	if pr.Measurement != r.Point || pr.Fields["value"] != r.Value || pr.Fields["quality"] != int64(7) || pr.Time != t0.UnixMilli() {
		t.Errorf("reading read back as %+v", pr)
	}
	if v, _ := pr.Tag("uom"); v != `\` {
		t.Errorf("uom = %q", v)
	}
	pe, err := parseLine(lines[1])
	if err != nil {
		t.Fatal(err)
	}
	wantFields := map[string]any{
		"severity": int64(2), "message": ev.Message,
		"attr_a,b=c d\\": "v\\\"", "attr_": "empty key",
	}
	if fmt.Sprint(pe.Fields) != fmt.Sprint(wantFields) {
		t.Errorf("event fields %v, want %v", pe.Fields, wantFields)
	}
	if v, _ := pe.Tag("kind"); v != ev.Kind {
		t.Errorf("kind = %q", v)
	}
	if v, _ := pe.Tag("room"); v != `line1\nline2\r\t\f` {
		t.Errorf("room = %q", v)
	}
}

// sanitized is what the store keeps of s after the encoder's
// replacements; written independently of the encoder, from its doc.
func sanitized(s string) string {
	var b strings.Builder
	for _, r := range s { // an invalid byte comes out as U+FFFD, one per byte
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || r == 0x7f:
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func FuzzEncode(f *testing.F) {
	f.Add("gas-1202", "gas", "%LEL", "1202", "3号楼", "gas", "smoke in kitchen", "loop", "1", 12.5, int64(1763985600123), 12, uint8(0), uint8(3))
	f.Add("a b", "m,x", "u=v", "r\\", "b\n", "", "say \"x\"\\", "k ,=", "v\"\\", math.Copysign(0, -1), int64(-1), -2, uint8(2), uint8(9))
	f.Add("", "#c", "", "", "", "t", "", "", "", math.NaN(), int64(0), 0, uint8(1), uint8(0))
	f.Add("\xff", "\x00", "\r", "\t", "\f", "\x7f", "\n", "\xfe", "\x01", math.Inf(-1), int64(9223372036854), 1, uint8(255), uint8(4))
	f.Fuzz(func(t *testing.T, device, point, uom, room, building, typ, message, attrKey, attrVal string,
		value float64, ms int64, floor int, quality, severity uint8) {
		loc := shouwang.Location{Community: "c" + room, Building: building, Unit: uom, Floor: floor, Room: room, Grid: typ}
		devices := map[string]shouwang.Device{device: {ID: device, Type: typ, Location: loc}}
		ts := time.UnixMilli(ms).Add(time.Duration(quality) * 3917) // sub-ms noise, cut by ms precision
		r := shouwang.Reading{Device: device, Point: point, Value: value, Unit: uom, Quality: shouwang.Quality(quality), Time: ts}
		ev := shouwang.Event{Device: device, Kind: typ, Severity: shouwang.Severity(severity), Message: message, Time: ts,
			Attrs: map[string]string{attrKey: attrVal}}
		e := encoder{devices: devices}
		lines, skipped := e.encode(shouwang.Batch{Readings: []shouwang.Reading{r}, Events: []shouwang.Event{ev}})

		timeOK := ms >= minMillis && ms <= maxMillis
		readingOK := timeOK && point != "" && point[0] != '#' && !math.IsNaN(value) && !math.IsInf(value, 0)
		wantLines := 0
		if readingOK {
			wantLines++
		}
		if timeOK {
			wantLines++
		}
		if lines != wantLines || skipped != 2-wantLines {
			t.Fatalf("lines %d skipped %d, want %d lines", lines, skipped, wantLines)
		}
		if lines == 0 {
			if len(e.buf) != 0 {
				t.Fatalf("wrote %q for nothing", e.buf)
			}
			return
		}
		got := strings.Split(string(e.buf), "\n")
		if len(got) != lines {
			t.Fatalf("%d lines in output, encoder said %d: %q", len(got), lines, e.buf)
		}
		loctags := func(kv ...string) []lpTag {
			all := append([]string{
				"building", building, "community", "c" + room, "device", device, "grid", typ, "room", room, "unit", uom,
			}, kv...)
			if floor != 0 {
				all = append(all, "floor", strconv.Itoa(floor))
			}
			var tags []lpTag
			for i := 0; i < len(all); i += 2 {
				if all[i+1] != "" {
					tags = append(tags, lpTag{all[i], sanitized(all[i+1])})
				}
			}
			slices.SortFunc(tags, func(a, b lpTag) int { return strings.Compare(a.Key, b.Key) })
			return tags
		}
		check := func(line, meas string, tags []lpTag, fields map[string]any) {
			t.Helper()
			p, err := parseLine(line)
			if err != nil {
				t.Fatal(err)
			}
			if p.Measurement != meas {
				t.Errorf("measurement %q, want %q", p.Measurement, meas)
			}
			if !slices.Equal(p.Tags, tags) {
				t.Errorf("tags\n%q\nwant\n%q", p.Tags, tags)
			}
			if len(p.Fields) != len(fields) {
				t.Errorf("fields %v, want %v", p.Fields, fields)
			}
			for k, want := range fields {
				got := p.Fields[k]
				if f, ok := want.(float64); ok {
					// Exact, down to the sign of zero.
					if g, ok := got.(float64); !ok || math.Float64bits(g) != math.Float64bits(f) {
						t.Errorf("field %q = %v, want %v", k, got, want)
					}
				} else if got != want {
					t.Errorf("field %q = %#v, want %#v", k, got, want)
				}
			}
			if p.Time != ms {
				t.Errorf("time %d, want %d", p.Time, ms)
			}
		}
		if readingOK {
			check(got[0], sanitized(point), loctags("type", typ, "uom", uom),
				map[string]any{"value": value, "quality": int64(quality)})
			got = got[1:]
		}
		check(got[0], "event", loctags("kind", typ, "severity", shouwang.Severity(severity).String()),
			map[string]any{"severity": int64(severity), "message": sanitized(message), "attr_" + sanitized(attrKey): sanitized(attrVal)})
	})
}

// benchBatch is 5000 readings from 250 located devices, 20 points each.
func benchBatch(n int) (shouwang.Batch, map[string]shouwang.Device) {
	devices := make(map[string]shouwang.Device)
	var b shouwang.Batch
	points := []struct{ name, unit string }{{"gas", "%LEL"}, {"co", "ppm"}, {"smoke_density", "dB/m"}, {"temperature", "°C"}}
	for i := range n {
		id := fmt.Sprintf("dev-%03d", i%250)
		if _, ok := devices[id]; !ok {
			devices[id] = shouwang.Device{ID: id, Type: points[i%4].name, Location: shouwang.Location{
				Community: "阳光花园", Building: fmt.Sprintf("%d号楼", i%12+1), Unit: fmt.Sprintf("%d单元", i%3+1),
				Floor: i%30 + 1, Room: fmt.Sprintf("%d%02d", i%30+1, i%4+1), Grid: "网格7",
			}}
		}
		p := points[i%4]
		b.Readings = append(b.Readings, shouwang.Reading{
			Device: id, Point: p.name, Value: float64(i%1000) * 0.137, Unit: p.unit,
			Time: t0.Add(time.Duration(i) * time.Millisecond),
		})
	}
	return b, devices
}

func BenchmarkEncode(b *testing.B) {
	const n = 5000
	batch, devices := benchBatch(n)
	e := encoder{devices: devices}
	e.encode(batch) // grow the buffer once, as a long-lived sink has
	b.ReportAllocs()
	b.SetBytes(int64(len(e.buf)))
	for b.Loop() {
		e.encode(batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/reading")
	b.ReportMetric(float64(len(e.buf))/n, "bytes/reading")
}
