package textline

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// FuzzFeed checks that no input panics the decoder or grows its buffers
// past a line, and that where the stream is cut between reads changes
// nothing.
func FuzzFeed(f *testing.F) {
	for _, name := range []string{"gst-printer-gb18030.txt", "sanjiang-printer-utf8.txt"} {
		data := mustRead(f, name)
		utf8 := name == "sanjiang-printer-utf8.txt"
		f.Add(data, uint16(len(data)/2), utf8, false)
		f.Add(data, uint16(97), utf8, true)
	}
	f.Add([]byte("\xff\x00zz\r\n\n\r\r\n"), uint16(3), false, false)
	f.Add(bytes.Repeat([]byte("x\xb0"), 40), uint16(30), false, true)
	f.Add([]byte("2026-13-45 08:15:03 \xbb\xf0\xbe\xaf 1\xbb\xd8\xc2\xb7023\xba\xc5\n"), uint16(25), false, false)

	now := time.Date(2026, 11, 24, 10, 0, 0, 0, cst)
	f.Fuzz(func(t *testing.T, data []byte, split uint16, utf8, small bool) {
		c := gstConfig()
		if utf8 {
			c = sanjiangConfig()
		}
		if small {
			c.MaxLine = 24 // most lines of the captures are overlong
		}
		at := int(split) % (len(data) + 1)
		events, errs := feed(t, c, now, data)
		events2, errs2 := feed(t, c, now, data[:at], data[at:])
		if d := diffEvents(events2, events); d != "" {
			t.Fatalf("split at %d: events differ:\n%s", at, d)
		}
		if !slices.Equal(errs2, errs) {
			t.Fatalf("split at %d: errors\n%q\nwant\n%q", at, errs2, errs)
		}
		for _, e := range errs {
			kind, _, _ := bytes.Cut([]byte(e), []byte(": "))
			if !slices.Contains(ErrorKinds, string(kind)) {
				t.Fatalf("error kind %q is not in ErrorKinds", kind)
			}
		}
		for _, e := range events {
			if e.Device == "" || e.Kind == "" || e.Time.IsZero() || e.Attrs["line"] == "" {
				t.Fatalf("incomplete event %s", show(e))
			}
		}
	})
}

func BenchmarkFeed(b *testing.B) {
	for _, tc := range captures() {
		b.Run(tc.file, func(b *testing.B) {
			data := mustRead(b, tc.file)
			lines := bytes.Count(data, []byte("\n")) // the captures end with one
			d := New(tc.config(), cst, nil)
			var batch shouwang.Batch
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			n := 0
			for b.Loop() {
				batch.Events = batch.Events[:0]
				d.Feed(data, tc.now, &batch)
				n += lines
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
