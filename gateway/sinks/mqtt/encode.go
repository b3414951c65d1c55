package mqtt

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/shouwang-iot/shouwang"
)

// message is one PUBLISH: a topic and its JSON payload.
type message struct {
	topic   string
	payload []byte
}

// device is what a known device contributes to every message: its topic
// levels and its location as a JSON object.
type device struct {
	levels   values
	location []byte
}

// topicKey names a cached topic: a device's reading of a point, or its
// event of a kind.
type topicKey struct {
	event        bool
	device, name string
}

// maxTopics bounds the topic cache; readings from devices the gateway
// does not know could otherwise grow it without end.
const maxTopics = 1 << 16

// encoder turns a batch into messages. It is not safe for concurrent use.
type encoder struct {
	readings, events template
	gateway          string
	devices          map[string]*device
	topics           map[topicKey]string
	buf              []byte // payloads of the last batch, back to back
	ends             []int
}

func newEncoder(readings, events template, gateway string, devices map[string]shouwang.Device) *encoder {
	e := &encoder{readings: readings, events: events, gateway: gateway,
		devices: make(map[string]*device, len(devices)), topics: map[topicKey]string{}}
	for id, d := range devices {
		e.devices[id] = &device{levels: deviceValues(gateway, id, d, true), location: appendLocation(nil, d.Location)}
	}
	return e
}

var emptyLocation = []byte("{}")

// device returns what d contributes, or "_" levels and an empty location
// for a device the gateway does not know.
func (e *encoder) device(id string) *device {
	if d := e.devices[id]; d != nil {
		return d
	}
	return &device{levels: deviceValues(e.gateway, id, shouwang.Device{}, false), location: emptyLocation}
}

// location is a device's location as a JSON object, {} when unknown.
func (e *encoder) location(id string) []byte {
	if d := e.devices[id]; d != nil {
		return d.location
	}
	return emptyLocation
}

// topic renders (or finds) the topic of a device's point or event kind.
func (e *encoder) topic(event bool, id, name string) string {
	k := topicKey{event, id, name}
	if t, ok := e.topics[k]; ok {
		return t
	}
	if len(e.topics) >= maxTopics {
		clear(e.topics)
	}
	v := e.device(id).levels
	t, f := e.readings, fPoint
	if event {
		t, f = e.events, fKind
	}
	v[f] = level(name)
	topic := string(t.appendTo(make([]byte, 0, 96), &v))
	e.topics[k] = topic
	return topic
}

// encode appends one message per reading, then one per event, to msgs.
// The payloads share one buffer, which the next encode reuses unless
// release was called: paho may still hold payloads of a failed Write.
func (e *encoder) encode(msgs []message, b shouwang.Batch) []message {
	buf, ends := e.buf[:0], e.ends[:0]
	first := len(msgs)
	for i := range b.Readings {
		r := &b.Readings[i]
		msgs = append(msgs, message{topic: e.topic(false, r.Device, r.Point)})
		buf = e.appendReading(buf, r)
		ends = append(ends, len(buf))
	}
	for i := range b.Events {
		ev := &b.Events[i]
		msgs = append(msgs, message{topic: e.topic(true, ev.Device, ev.Kind)})
		buf = e.appendEvent(buf, ev)
		ends = append(ends, len(buf))
	}
	start := 0
	for i, end := range ends {
		msgs[first+i].payload = buf[start:end:end]
		start = end
	}
	e.buf, e.ends = buf, ends
	return msgs
}

// release drops the payload buffer instead of reusing it, and keeps no
// huge one.
func (e *encoder) release(reuse bool) {
	if !reuse || cap(e.buf) > maxKeptBuffer {
		e.buf = nil
	}
}

// maxKeptBuffer is the largest payload buffer kept between writes: about
// 20,000 readings.
const maxKeptBuffer = 4 << 20

// appendReading writes
// {"device","point","value","unit","quality","time","location"}.
func (e *encoder) appendReading(dst []byte, r *shouwang.Reading) []byte {
	dst = append(dst, `{"device":`...)
	dst = appendString(dst, r.Device)
	dst = append(dst, `,"point":`...)
	dst = appendString(dst, r.Point)
	dst = append(dst, `,"value":`...)
	dst = appendFloat(dst, r.Value)
	dst = append(dst, `,"unit":`...)
	dst = appendString(dst, r.Unit)
	dst = append(dst, `,"quality":"`...)
	dst = append(dst, r.Quality.String()...)
	dst = append(dst, `","time":`...)
	dst = appendTime(dst, r.Time)
	dst = append(dst, `,"location":`...)
	dst = append(dst, e.location(r.Device)...)
	return append(dst, '}')
}

// appendEvent writes
// {"device","kind","severity","message","time","attrs","location"}.
// Attributes are sorted by key, so a batch sent again is the same bytes.
func (e *encoder) appendEvent(dst []byte, ev *shouwang.Event) []byte {
	dst = append(dst, `{"device":`...)
	dst = appendString(dst, ev.Device)
	dst = append(dst, `,"kind":`...)
	dst = appendString(dst, ev.Kind)
	dst = append(dst, `,"severity":"`...)
	dst = append(dst, ev.Severity.String()...)
	dst = append(dst, `","message":`...)
	dst = appendString(dst, ev.Message)
	dst = append(dst, `,"time":`...)
	dst = appendTime(dst, ev.Time)
	dst = append(dst, `,"attrs":{`...)
	for i, k := range slices.Sorted(maps.Keys(ev.Attrs)) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		dst = appendString(dst, ev.Attrs[k])
	}
	dst = append(dst, `},"location":`...)
	dst = append(dst, e.location(ev.Device)...)
	return append(dst, '}')
}

// appendLocation writes {"building","unit","floor","room"}, leaving out
// what is not set (floor 0 is "not set", as in shouwang.Location).
func appendLocation(dst []byte, l shouwang.Location) []byte {
	dst = append(dst, '{')
	sep := func() {
		if dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
	}
	for _, kv := range [...]struct{ k, v string }{{"building", l.Building}, {"unit", l.Unit}} {
		if kv.v != "" {
			sep()
			dst = append(dst, '"')
			dst = append(dst, kv.k...)
			dst = append(dst, `":`...)
			dst = appendString(dst, kv.v)
		}
	}
	if l.Floor != 0 {
		sep()
		dst = append(dst, `"floor":`...)
		dst = strconv.AppendInt(dst, int64(l.Floor), 10)
	}
	if l.Room != "" {
		sep()
		dst = append(dst, `"room":`...)
		dst = appendString(dst, l.Room)
	}
	return append(dst, '}')
}

// appendTime writes t in UTC as RFC 3339 with milliseconds.
func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
	return append(dst, '"')
}

// appendFloat writes f as encoding/json does; NaN and ±Inf, which JSON
// cannot carry, become null.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' { // e-09 to e-9, as encoding/json writes it
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hex = "0123456789abcdef"

// appendString writes s as a JSON string, as encoding/json does without
// HTML escaping: invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
