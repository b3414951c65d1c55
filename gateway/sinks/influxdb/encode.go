package influxdb

import (
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/shouwang-iot/shouwang"
)

// The line protocol written here, one line per reading or event:
//
//	gas,building=3号楼,community=sunshine,device=gas-1202,floor=12,room=1202,type=gas,unit=2单元,uom=%LEL value=12.5,quality=0i 1732450000123
//	event,building=3号楼,community=sunshine,device=smoke-1202,floor=12,kind=smoke_alarm,severity=fire,unit=2单元 severity=4i,message="smoke in kitchen",attr_loop="1" 1732450000456
//
// Tags come in key order, as InfluxDB recommends; the order is fixed by the
// code below and checked by the tests. A tag whose value is empty is left
// out (line protocol has no empty tag values). Timestamps are milliseconds,
// matching precision=ms on the write URL.
//
// Escaping follows the InfluxDB v2 line protocol reference:
//   - measurement: comma, space and backslash get a backslash;
//   - tag keys, tag values, field keys: comma, equals sign, space and
//     backslash get a backslash;
//   - string field values: double quote and backslash get a backslash.
//
// Backslash itself is always escaped ("\\"), which InfluxDB 2.x/3.x and
// VictoriaMetrics read back as one backslash; otherwise a value ending in a
// backslash would escape the separator after it and break the line.
//
// Line protocol has no escape for a raw newline: it ends the line, in every
// element. Newline, carriage return, tab and form feed are therefore
// REPLACED by the two characters `\n`, `\r`, `\t`, `\f` (as influxdata's own
// line-protocol encoder does); the store keeps those two characters, so a
// message "a<LF>b" reads back as `a\nb`. Any other ASCII control character
// and every byte that is not valid UTF-8 is replaced by U+FFFD: InfluxDB
// checks keys for valid UTF-8, and whatever is stored ends up as text in
// the console.
//
// Lines the store would reject or silently drop are never sent; the
// encoder skips them and counts them instead:
//   - a reading whose value is NaN or ±Inf (line protocol has no spelling
//     for either);
//   - a reading with no Point, or one starting with '#' (a comment line);
//   - a timestamp InfluxDB cannot store (outside 1677-09-21..2262-04-11,
//     which includes the zero time.Time).

// Bounds of the timestamps InfluxDB accepts, in ms: its valid nanosecond
// range is [math.MinInt64+2, math.MaxInt64-1].
const (
	minMillis = (math.MinInt64 + 2) / int64(time.Millisecond)
	maxMillis = (math.MaxInt64 - 1) / int64(time.Millisecond)
)

// What a byte needs in one kind of element.
const (
	keep    = iota // copied as is
	escape         // written with a backslash before it
	replace        // newline and friends, other controls: see appendEscaped
)

type escapeTable [utf8.RuneSelf]uint8

func newTable(escaped string) *escapeTable {
	var t escapeTable
	for c := range utf8.RuneSelf {
		if c < 0x20 || c == 0x7f {
			t[c] = replace
		}
	}
	for i := range len(escaped) {
		t[escaped[i]] = escape
	}
	return &t
}

var (
	measurementEscapes = newTable(", \\")
	keyEscapes         = newTable(",= \\") // tag keys, tag values, field keys
	stringEscapes      = newTable("\"\\")  // string field values, inside quotes
)

// appendEscaped appends s to b for an element whose escapes are t.
func appendEscaped(b []byte, s string, t *escapeTable) []byte {
	// Fast path, the common case for ids and names (Chinese ones too):
	// no ASCII byte to escape and valid UTF-8.
	i, ascii := 0, true
	for ; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf {
			ascii = false
		} else if t[c] != keep {
			break
		}
	}
	if i == len(s) && (ascii || utf8.ValidString(s)) {
		return append(b, s...)
	}
	for i = 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, string(utf8.RuneError)...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch t[c] {
		case keep:
			b = append(b, c)
		case escape:
			b = append(b, '\\', c)
		default:
			switch c {
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			case '\f':
				b = append(b, `\f`...)
			default:
				b = append(b, string(utf8.RuneError)...)
			}
		}
		i++
	}
	return b
}

// appendTag appends ",key=value" unless value is empty; key must need no
// escaping (all of ours are constants).
func appendTag(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',')
	b = append(b, key...)
	b = append(b, '=')
	return appendEscaped(b, value, keyEscapes)
}

// encoder turns batches into line protocol. It reuses its buffer, so it is
// not safe for concurrent use; the Sink guards it with a mutex.
type encoder struct {
	devices map[string]shouwang.Device
	buf     []byte
	keys    []string // scratch for sorting an event's attrs
}

// encode replaces e.buf with the batch's lines, separated by "\n", and
// says how many lines it wrote and how many readings and events it skipped
// because the store cannot take them.
func (e *encoder) encode(b shouwang.Batch) (lines, skipped int) {
	e.buf = e.buf[:0]
	for i := range b.Readings {
		if e.appendReading(&b.Readings[i], lines > 0) {
			lines++
		} else {
			skipped++
		}
	}
	for i := range b.Events {
		if e.appendEvent(&b.Events[i], lines > 0) {
			lines++
		} else {
			skipped++
		}
	}
	return lines, skipped
}

func validMeasurement(m string) bool { return m != "" && m[0] != '#' }

// millis is t in ms since the epoch, and false when InfluxDB cannot store it.
func millis(t time.Time) (int64, bool) {
	// UnixMilli is undefined far outside the int64 range: check the year
	// first, then the exact bounds.
	if y := t.Year(); y < 1677 || y > 2262 {
		return 0, false
	}
	ms := t.UnixMilli()
	return ms, ms >= minMillis && ms <= maxMillis
}

// appendLocationHead appends the location tags that sort before "device";
// the caller interleaves the rest with its own tags, in key order.
func appendLocationHead(b []byte, l *shouwang.Location) []byte {
	b = appendTag(b, "building", l.Building)
	return appendTag(b, "community", l.Community)
}

func appendFloor(b []byte, floor int) []byte {
	if floor == 0 {
		return b
	}
	b = append(b, ",floor="...)
	return strconv.AppendInt(b, int64(floor), 10)
}

func (e *encoder) appendReading(r *shouwang.Reading, sep bool) bool {
	if !validMeasurement(r.Point) || math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
		return false
	}
	ts, ok := millis(r.Time)
	if !ok {
		return false
	}
	dev := e.devices[r.Device]
	l := &dev.Location
	b := e.buf
	if sep {
		b = append(b, '\n')
	}
	b = appendEscaped(b, r.Point, measurementEscapes)
	// Key order: building community device floor grid room type unit uom.
	b = appendLocationHead(b, l)
	b = appendTag(b, "device", r.Device)
	b = appendFloor(b, l.Floor)
	b = appendTag(b, "grid", l.Grid)
	b = appendTag(b, "room", l.Room)
	b = appendTag(b, "type", dev.Type)
	b = appendTag(b, "unit", l.Unit) // the location's unit (单元)
	b = appendTag(b, "uom", r.Unit)  // the unit of measure (%LEL)
	b = append(b, " value="...)
	b = strconv.AppendFloat(b, r.Value, 'g', -1, 64)
	b = append(b, ",quality="...)
	b = strconv.AppendUint(b, uint64(r.Quality), 10)
	b = append(b, "i "...)
	b = strconv.AppendInt(b, ts, 10)
	e.buf = b
	return true
}

func (e *encoder) appendEvent(ev *shouwang.Event, sep bool) bool {
	ts, ok := millis(ev.Time)
	if !ok {
		return false
	}
	dev := e.devices[ev.Device]
	l := &dev.Location
	b := e.buf
	if sep {
		b = append(b, '\n')
	}
	b = append(b, "event"...)
	// Key order: building community device floor grid kind room severity unit.
	b = appendLocationHead(b, l)
	b = appendTag(b, "device", ev.Device)
	b = appendFloor(b, l.Floor)
	b = appendTag(b, "grid", l.Grid)
	b = appendTag(b, "kind", ev.Kind)
	b = appendTag(b, "room", l.Room)
	b = appendTag(b, "severity", ev.Severity.String())
	b = appendTag(b, "unit", l.Unit)
	b = append(b, " severity="...)
	b = strconv.AppendUint(b, uint64(ev.Severity), 10)
	b = append(b, "i,message=\""...)
	b = appendEscaped(b, ev.Message, stringEscapes)
	b = append(b, '"')
	if len(ev.Attrs) > 0 {
		e.keys = e.keys[:0]
		for k := range ev.Attrs {
			e.keys = append(e.keys, k)
		}
		slices.Sort(e.keys)
		for _, k := range e.keys {
			b = append(b, ",attr_"...)
			b = appendEscaped(b, k, keyEscapes)
			b = append(b, "=\""...)
			b = appendEscaped(b, ev.Attrs[k], stringEscapes)
			b = append(b, '"')
		}
		clear(e.keys) // drop references to the batch's strings
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, ts, 10)
	e.buf = b
	return true
}
