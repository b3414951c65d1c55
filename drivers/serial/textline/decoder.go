package textline

import (
	"bytes"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/serial/stream"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// What the decoder reports to its ErrorFunc. None of them stops
// decoding, which goes on at the next line.
const (
	// errOverlong is a line longer than max_line. It is skipped up to the
	// next newline. Sample: its first max_line bytes.
	errOverlong = "overlong"
	// errBadEncoding is a line with bytes that are not valid in the
	// encoding, from line noise or a wrong encoding. The line is still
	// read, with U+FFFD in place of the bad bytes, so that a fire alarm
	// whose location text was garbled on the wire is still raised.
	// Sample: the raw line.
	errBadEncoding = "bad_encoding"
	// errUnmatched is a line that no pattern matches: a header, a
	// separator, or an event no pattern covers. Sample: the line, in
	// UTF-8.
	errUnmatched = "unmatched"
	// errUnknownKind is a line whose kind word is not in kinds. It raises
	// no event. Sample: the line, in UTF-8.
	errUnknownKind = "unknown_kind"
	// errBadTime is a time group that time_layout cannot read. The event
	// is raised at the time the line was read. Sample: the line, in
	// UTF-8.
	errBadTime = "bad_time"
)

// ErrorKinds lists every kind of error the decoder reports. They are the
// labels of the serial driver's error counter.
var ErrorKinds = []string{errOverlong, errBadEncoding, errUnmatched, errUnknownKind, errBadTime}

var _ stream.Decoder = (*Decoder)(nil)

// Decoder turns a panel's printer output into events. Only one goroutine
// may use it.
type Decoder struct {
	plan
	loc     *time.Location
	onError stream.ErrorFunc
	gb18030 transform.Transformer // nil for utf-8

	// buf holds the start of a line until its newline arrives. It never
	// holds more than maxLine+1 bytes: the extra byte is room for a \r.
	buf []byte
	// skip is set inside an overlong line, whose bytes are dropped up to
	// the next newline.
	skip bool
	// text is the line decoded to UTF-8 when it is not ASCII. Its size is
	// at most 3*(maxLine+1) bytes.
	text []byte
	// addr is where the device address is built.
	addr []byte
}

// New returns a decoder for one stream. c must have passed Validate. loc
// is the time zone of the panel's clock, and onError (which may be nil)
// is told of each line that could not be read.
func New(c Config, loc *time.Location, onError stream.ErrorFunc) *Decoder {
	p, fe := c.compile()
	if len(fe) > 0 {
		panic("textline: New with an invalid config: " + fe.Error())
	}
	if onError == nil {
		onError = func(string, []byte) {}
	}
	d := &Decoder{plan: p, loc: loc, onError: onError, buf: make([]byte, 0, p.maxLine+1)}
	if !p.utf8 {
		d.gb18030 = simplifiedchinese.GB18030.NewDecoder()
	}
	return d
}

// Feed reads the lines that p completes into events on b. The reply is
// always nil, because a printer port is never answered.
func (d *Decoder) Feed(p []byte, now time.Time, b *shouwang.Batch) (reply []byte) {
	for len(p) > 0 {
		nl := bytes.IndexByte(p, '\n')
		if d.skip {
			if nl < 0 {
				return nil
			}
			d.skip = false
			p = p[nl+1:]
			continue
		}
		part := p
		if nl >= 0 {
			part = p[:nl]
		}
		if room := d.maxLine + 1 - len(d.buf); len(part) > room {
			d.buf = append(d.buf, part[:room]...)
			d.onError(errOverlong, d.buf[:d.maxLine])
			d.buf = d.buf[:0]
			if nl < 0 {
				d.skip = true
				return nil
			}
			p = p[nl+1:]
			continue
		}
		if nl < 0 {
			d.buf = append(d.buf, part...)
			return nil
		}
		line := part
		if len(d.buf) > 0 {
			d.buf = append(d.buf, part...)
			line = d.buf
		}
		d.line(line, now, b)
		d.buf = d.buf[:0]
		p = p[nl+1:]
	}
	return nil
}

// line reads one line, without its \n.
func (d *Decoder) line(raw []byte, now time.Time, b *shouwang.Batch) {
	if n := len(raw); n > 0 && raw[n-1] == '\r' {
		raw = raw[:n-1]
	}
	if len(raw) > d.maxLine {
		d.onError(errOverlong, raw[:d.maxLine])
		return
	}
	if blank(raw) {
		return
	}
	text, valid := d.decode(raw)
	if !valid {
		d.onError(errBadEncoding, raw)
	}
	for i := range d.patterns {
		pt := &d.patterns[i]
		if m := pt.re.FindSubmatchIndex(text); m != nil {
			d.event(pt, text, m, now, b)
			return
		}
	}
	d.onError(errUnmatched, text)
}

// event appends the event of a line that pt matched. m holds the index
// pairs of the groups.
func (d *Decoder) event(pt *pattern, text []byte, m []int, now time.Time, b *shouwang.Batch) {
	k := pt.fixed
	if pt.kind >= 0 {
		var known bool
		if k, known = d.kinds[string(bytes.TrimSpace(text[m[2*pt.kind]:m[2*pt.kind+1]]))]; !known {
			d.onError(errUnknownKind, text)
			return
		}
	}
	// One string holds the line. The message and the attributes are
	// slices of it.
	line := string(text)
	e := shouwang.Event{Device: stream.PanelAddress, Kind: k.event, Severity: k.severity,
		Message: strings.TrimSpace(line), Time: now, Attrs: make(map[string]string, 3)}
	e.Attrs["line"] = e.Message
	// An optional time group that took no part in the match means the
	// line has no time: it is timed when read, and that is no error.
	if pt.time >= 0 && m[2*pt.time] >= 0 {
		if t, ok := d.parseTime(pt, group(line, m, pt.time), now); ok {
			e.Time = t
		} else {
			d.onError(errBadTime, text)
		}
	}
	if s := strings.TrimSpace(group(line, m, pt.descr)); s != "" {
		e.Message = s
	}
	if !pt.panel {
		vals := [...]string{number(group(line, m, pt.loop)), number(group(line, m, pt.address))}
		d.addr = d.address.Append(d.addr[:0], vals[:])
		e.Device = string(d.addr)
		if pt.loop >= 0 {
			e.Attrs[groupLoop] = vals[0]
		}
		if pt.address >= 0 {
			e.Attrs[groupAddress] = vals[1]
		}
	}
	b.Events = append(b.Events, e)
}

// parseTime reads the time group s with pt's layout in the decoder's time
// zone. A layout without a year gets the year from now.
func (d *Decoder) parseTime(pt *pattern, s string, now time.Time) (time.Time, bool) {
	t, err := time.ParseInLocation(pt.layout, strings.TrimSpace(s), d.loc)
	if err != nil {
		return time.Time{}, false
	}
	if pt.noYear {
		y := now.In(d.loc).Year()
		at := func(y int) time.Time {
			return time.Date(y, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
		}
		if t = at(y); t.Sub(now) > 24*time.Hour {
			t = at(y - 1)
		}
	}
	return t, true
}

// replacement is what a byte that is not valid in the encoding decodes to.
var replacement = []byte(string(utf8.RuneError))

// decode returns raw in UTF-8, and whether every byte of it was valid.
// The result is raw itself, or d.text, and is valid until the next call.
func (d *Decoder) decode(raw []byte) ([]byte, bool) {
	if ascii(raw) {
		return raw, true // the same in both encodings
	}
	if d.utf8 {
		if utf8.Valid(raw) {
			return raw, true
		}
		d.text = d.text[:0]
		for len(raw) > 0 {
			r, n := utf8.DecodeRune(raw)
			if r == utf8.RuneError && n == 1 {
				d.text = append(d.text, replacement...)
			} else {
				d.text = append(d.text, raw[:n]...)
			}
			raw = raw[n:]
		}
		return d.text, false
	}
	// A GB18030 byte becomes at most 3 bytes of UTF-8 (U+FFFD for a
	// stray byte, € for 0x80), so this is always room enough.
	if need := 3 * len(raw); cap(d.text) < need {
		d.text = make([]byte, need)
	}
	n, _, _ := d.gb18030.Transform(d.text[:cap(d.text)], raw, true)
	d.text = d.text[:n]
	// The decoder writes U+FFFD for each invalid byte. A panel that
	// prints U+FFFD itself (84 31 A4 37) is counted too, which is harmless.
	return d.text, !bytes.Contains(d.text, replacement)
}

// group is the text of group g of the match m on s, or "" when the
// pattern has no such group or it took no part in the match.
func group(s string, m []int, g int) string {
	if g < 0 || m[2*g] < 0 {
		return ""
	}
	return s[m[2*g]:m[2*g+1]]
}

// number trims s and drops the leading zeros of a number ("023" is "23",
// "000" is "0"). Anything else is only trimmed.
func number(s string) string {
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return s
		}
	}
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

func ascii(p []byte) bool {
	for _, c := range p {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// blank reports whether p has nothing but spaces, tabs, form feeds and
// NULs. Printers feed paper with such lines, and idle lines produce them.
func blank(p []byte) bool {
	for _, c := range p {
		switch c {
		case ' ', '\t', '\f', '\v', '\r', 0:
		default:
			return false
		}
	}
	return true
}
