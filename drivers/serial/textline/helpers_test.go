package textline

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/serial/stream"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// cst is the panels' clock: China Standard Time.
var cst = time.FixedZone("CST", 8*3600)

const gstLayout = "2006-01-02 15:04:05"

// gstConfig reads a GST200's printer (testdata/gst-printer-gb18030.txt).
func gstConfig() Config {
	c := DefaultConfig()
	c.Patterns = []Pattern{
		{Match: `^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s+(?P<kind>\S+)\s+(?P<loop>\d+)回路(?P<address>\d+)号\s*(?P<description>.*)$`, TimeLayout: gstLayout},
		{Match: `^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s+(?P<kind>\S+)\s*$`, TimeLayout: gstLayout},
	}
	c.Kinds = map[string]Kind{
		"火警":   {Event: "fire_alarm", Severity: "fire"},
		"火警恢复": {Event: "fire_clear", Severity: "info"},
		"故障":   {Event: "fault", Severity: "fault"},
		"故障恢复": {Event: "fault_clear", Severity: "info"},
		"复位":   {Event: stream.Reset, Severity: "info"},
		"主电故障": {Event: "mains_fault", Severity: "fault"},
		"主电恢复": {Event: "mains_fault_clear", Severity: "info"},
	}
	return c
}

// sanjiangConfig reads a panel that prints UTF-8 lines without a year
// (testdata/sanjiang-printer-utf8.txt).
func sanjiangConfig() Config {
	c := DefaultConfig()
	c.Encoding = EncodingUTF8
	c.Patterns = []Pattern{
		{Match: `^\d{4}\s+(?P<kind>\S+)\s+(?P<loop>\d{3})-(?P<address>\d{3})\s+(?P<time>\d\d/\d\d \d\d:\d\d)\s+(?P<description>.*)$`, TimeLayout: "01/02 15:04"},
		{Match: `^\d{4}\s+系统复位\s+(?P<time>\d\d/\d\d \d\d:\d\d)`, Kind: "复位", TimeLayout: "01/02 15:04"},
	}
	c.Kinds = map[string]Kind{
		"火警":   {Event: "fire_alarm", Severity: "fire"},
		"火警消除": {Event: "fire_clear", Severity: "info"},
		"故障":   {Event: "fault", Severity: "fault"},
		"复位":   {Event: stream.Reset, Severity: "info"},
		"屏蔽":   {Event: "disabled", Severity: "fault"},
	}
	return c
}

// recorder keeps what a decoder reports, as "kind: sample".
type recorder struct{ errs []string }

func (r *recorder) add(kind string, sample []byte) {
	r.errs = append(r.errs, kind+": "+string(sample))
}

// feed runs chunks through a new decoder with c at now.
func feed(tb testing.TB, c Config, now time.Time, chunks ...[]byte) ([]shouwang.Event, []string) {
	tb.Helper()
	var r recorder
	d := New(c, cst, r.add)
	var b shouwang.Batch
	for _, p := range chunks {
		if reply := d.Feed(p, now, &b); reply != nil {
			tb.Fatalf("Feed replied %q", reply)
		}
		checkBounded(tb, d)
	}
	return b.Events, r.errs
}

// checkBounded fails when d holds more than a line's worth of bytes.
func checkBounded(tb testing.TB, d *Decoder) {
	tb.Helper()
	if cap(d.buf) > d.maxLine+1 || cap(d.text) > 3*(d.maxLine+1) {
		tb.Fatalf("buffers grew to %d and %d bytes for max_line %d", cap(d.buf), cap(d.text), d.maxLine)
	}
}

// gb encodes s as a GB18030 panel prints it.
func gb(tb testing.TB, s string) []byte {
	tb.Helper()
	p, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func mustRead(tb testing.TB, name string) []byte {
	tb.Helper()
	p, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// ev is an event of a detector ("1-23") or of the panel (device "").
func ev(device, kind string, sev shouwang.Severity, msg string, at time.Time, line string) shouwang.Event {
	e := shouwang.Event{Device: device, Kind: kind, Severity: sev, Message: msg, Time: at, Attrs: map[string]string{"line": line}}
	if device == "" {
		e.Device = stream.PanelAddress
	} else {
		loop, addr, _ := strings.Cut(device, "-")
		e.Attrs["loop"], e.Attrs["address"] = loop, addr
	}
	return e
}

// diffEvents says how got differs from want, or "".
func diffEvents(got, want []shouwang.Event) string {
	var out []string
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			out = append(out, fmt.Sprintf("missing [%d] %s", i, show(want[i])))
		case i >= len(want):
			out = append(out, fmt.Sprintf("extra [%d] %s", i, show(got[i])))
		case !sameEvent(got[i], want[i]):
			out = append(out, fmt.Sprintf("[%d]\n got  %s\n want %s", i, show(got[i]), show(want[i])))
		}
	}
	return strings.Join(out, "\n")
}

func sameEvent(a, b shouwang.Event) bool {
	return a.Device == b.Device && a.Kind == b.Kind && a.Severity == b.Severity && a.Message == b.Message &&
		a.Time.Equal(b.Time) && maps.Equal(a.Attrs, b.Attrs)
}

func show(e shouwang.Event) string {
	return fmt.Sprintf("%s %s %s %q at %s %q", e.Device, e.Kind, e.Severity, e.Message, e.Time.Format(time.RFC3339), e.Attrs)
}
