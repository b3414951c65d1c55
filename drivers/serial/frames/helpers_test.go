package frames

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/shouwang-iot/shouwang"
)

var t0 = time.Date(2026, time.November, 24, 8, 15, 3, 0, time.UTC)

// mustHex reads hex bytes separated by spaces.
func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// readHexFile reads a testdata stream: hex lines, "#" comment lines.
func readHexFile(tb testing.TB, path string) []byte {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, mustHex(tb, line)...)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// mustConfig decodes a YAML config strictly over DefaultConfig and
// validates it.
func mustConfig(tb testing.TB, src []byte) Config {
	tb.Helper()
	c := DefaultConfig()
	if err := yaml.UnmarshalWithOptions(src, &c, yaml.DisallowUnknownField()); err != nil {
		tb.Fatalf("decode: %v", err)
	}
	if fe := c.Validate(); len(fe) > 0 {
		tb.Fatalf("invalid: %v", fe)
	}
	return c
}

// concentrator is the config of testdata/concentrator.yaml.
func concentrator(tb testing.TB) Config {
	tb.Helper()
	src, err := os.ReadFile("testdata/concentrator.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return mustConfig(tb, src)
}

// run is a decoder with what it reported.
type run struct {
	d      *Decoder
	b      shouwang.Batch
	errors []string // "kind SAMPLEHEX"
}

func newRun(c Config) *run {
	r := &run{}
	r.d = New(c, func(kind string, sample []byte) {
		r.errors = append(r.errors, fmt.Sprintf("%s %X", kind, sample))
	})
	return r
}

// feed feeds data in chunks of the given sizes, cycling; none means all
// at once. It checks the decoder's bound after every call.
func (r *run) feed(tb testing.TB, data []byte, sizes ...int) {
	tb.Helper()
	if len(sizes) == 0 {
		sizes = []int{len(data)}
	}
	for i := 0; len(data) > 0; i++ {
		n := min(max(sizes[i%len(sizes)], 1), len(data))
		if reply := r.d.Feed(data[:n], t0, &r.b); reply != nil {
			tb.Fatalf("Feed replied %X", reply)
		}
		data = data[n:]
		r.checkBound(tb)
	}
}

// checkBound fails unless the held bytes stay below max_frame in a
// buffer that never grew.
func (r *run) checkBound(tb testing.TB) {
	tb.Helper()
	if len(r.d.buf) >= r.d.l.maxFrame || cap(r.d.buf) != r.d.l.maxFrame {
		tb.Fatalf("holds %d bytes in a buffer of %d (max_frame %d)", len(r.d.buf), cap(r.d.buf), r.d.l.maxFrame)
	}
}

// lines renders what the decoder read, one reading or event a line.
func (r *run) lines() []string {
	var out []string
	for _, rd := range r.b.Readings {
		if !rd.Time.Equal(t0) || rd.Quality != shouwang.Good {
			out = append(out, fmt.Sprintf("BAD reading time %v quality %v", rd.Time, rd.Quality))
		}
		out = append(out, fmt.Sprintf("reading %s %s %g %s", rd.Device, rd.Point, rd.Value, rd.Unit))
	}
	for _, ev := range r.b.Events {
		if !ev.Time.Equal(t0) || ev.Attrs != nil {
			out = append(out, fmt.Sprintf("BAD event time %v attrs %v", ev.Time, ev.Attrs))
		}
		out = append(out, fmt.Sprintf("event %s %s %s %q", ev.Device, ev.Kind, ev.Severity, ev.Message))
	}
	return out
}

// counts counts the errors by kind.
func (r *run) counts() map[string]int {
	m := map[string]int{}
	for _, e := range r.errors {
		kind, _, _ := strings.Cut(e, " ")
		m[kind]++
	}
	return m
}

// frame builds a concentrator frame (testdata/concentrator.yaml).
func frame(addr uint16, status byte, smoke uint16, battery byte) []byte {
	body := []byte{6, byte(addr >> 8), byte(addr), status, byte(smoke >> 8), byte(smoke), battery}
	var sum byte
	for _, b := range body {
		sum += b
	}
	f := append([]byte{0xAA, 0x55}, body...)
	return append(f, sum, 0x0D, 0x0A)
}

func diff(got, want []string) string {
	if slicesEqual(got, want) {
		return ""
	}
	var b bytes.Buffer
	for i := 0; i < max(len(got), len(want)); i++ {
		g, w := "<none>", "<none>"
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		mark := "  "
		if g != w {
			mark = "! "
		}
		fmt.Fprintf(&b, "%sgot  %s\n%swant %s\n", mark, g, mark, w)
	}
	return b.String()
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
