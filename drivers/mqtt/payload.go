package mqtt

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/stamp"
	"github.com/tidwall/gjson"
)

// Why a message, or part of one, could not be read: the reason label of
// shouwang_mqtt_bad_messages_total.
const (
	reasonTooLarge  = "too_large"         // over max_payload
	reasonMalformed = "malformed"         // not JSON / not a number / not key=value
	reasonBadValue  = "bad_value"         // a field of the wrong type, a flag neither true nor false, an unknown event
	reasonNoFields  = "no_fields"         // none of the model's fields is there
	reasonBadTime   = "bad_time"          // a timestamp that does not parse or is before 2000; the receive time is used
	reasonUnknown   = "unknown_device"    // the topic names no device placed on the driver
	reasonLocation  = "location_mismatch" // the topic's building/unit/floor/room differ from the map's
	reasonRetained  = "retained"          // a retained message (sent again on every subscribe) without a time of its own
)

// problem is why a message, or part of it, could not be read.
type problem struct {
	reason string
	detail string
}

func (p *problem) Error() string { return p.reason + ": " + p.detail }

func fail(reason, format string, args ...any) *problem {
	return &problem{reason: reason, detail: fmt.Sprintf(format, args...)}
}

// deviceState is what the driver remembers of one device between
// messages: the last value of each flag (-1 before the first).
type deviceState struct {
	dev   shouwang.Device
	model *Model
	flags []int8
	// lastRecv is the last receive time given to this device's readings.
	lastRecv time.Time
}

// receiveTime is the time of a reading without one of its own: recv to
// the millisecond, and later than the last one given, since a store keeps
// one point per series and millisecond and a backlog comes in a burst.
func (d *deviceState) receiveTime(recv time.Time) time.Time {
	t := recv.Truncate(time.Millisecond)
	if !t.After(d.lastRecv) {
		t = d.lastRecv.Add(time.Millisecond)
	}
	d.lastRecv = t
	return t
}

// maxAhead is how far ahead of the gateway's clock a device's timestamp
// may be.
const maxAhead = time.Hour

// decode appends what payload says about d to b. point is the topic's
// {point} capture, or "". The parts that read are kept even when another
// part does not; the first problem is returned.
func (d *deviceState) decode(payload []byte, point string, recv time.Time, b *shouwang.Batch) *problem {
	m := d.model
	switch m.Format {
	case FormatNumber:
		return d.decodeNumber(payload, point, recv, b)
	case FormatJSON:
		if !gjson.ValidBytes(payload) {
			return fail(reasonMalformed, "not JSON")
		}
		if p := firstNonSpace(payload); p != '{' {
			return fail(reasonMalformed, "JSON but not an object")
		}
		return d.decodeFields(func(path string) (field, bool) {
			r := gjson.GetBytes(payload, path)
			if !r.Exists() || r.Type == gjson.Null {
				return field{}, false
			}
			return jsonField(r), true
		}, recv, b)
	default: // FormatKV
		pairs, bad := kvPairs(payload)
		if len(pairs) == 0 {
			return fail(reasonMalformed, "no key=value pair")
		}
		p := d.decodeFields(func(key string) (field, bool) {
			for _, kv := range pairs {
				if kv[0] == key {
					return field{text: kv[1], isText: true}, true
				}
			}
			return field{}, false
		}, recv, b)
		if p == nil && bad != "" {
			p = fail(reasonMalformed, "%q is not key=value (the pairs around it were read)", clip(bad))
		}
		return p
	}
}

// field is one value found in a message: a JSON number, bool or string,
// or a kv value (always text).
type field struct {
	num    float64
	text   string
	isNum  bool
	isBool bool
	isText bool
	other  string // the JSON type when it is none of those (object, array)
}

func jsonField(r gjson.Result) field {
	switch r.Type {
	case gjson.Number:
		return field{num: r.Num, isNum: true}
	case gjson.True:
		return field{num: 1, isBool: true}
	case gjson.False:
		return field{num: 0, isBool: true}
	case gjson.String:
		return field{text: r.Str, isText: true}
	}
	if r.IsArray() {
		return field{other: "an array"}
	}
	return field{other: "an object"}
}

// number reads f as a number; numbers sent as text ("23.5") are common
// and accepted.
func (f field) number() (float64, error) {
	switch {
	case f.isNum && (math.IsInf(f.num, 0) || math.IsNaN(f.num)):
		return 0, fmt.Errorf("is out of range")
	case f.isNum, f.isBool:
		return f.num, nil
	case f.isText:
		v, err := strconv.ParseFloat(strings.TrimSpace(f.text), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("%q is not a number", clip(f.text))
		}
		return v, nil
	}
	return 0, fmt.Errorf("is %s, not a number", f.other)
}

var (
	trueWords  = []string{"1", "true", "on", "yes", "alarm"}
	falseWords = []string{"0", "false", "off", "no", "normal", "ok"}
)

// flag reads f as a condition (see FlagMap).
func (f field) flag(on []string) (bool, error) {
	text := f.text
	switch {
	case (f.isNum || f.isBool) && len(on) == 0:
		return f.num != 0, nil
	case f.isBool:
		text = strconv.FormatBool(f.num != 0)
	case f.isNum:
		text = strconv.FormatFloat(f.num, 'f', -1, 64)
	case !f.isText:
		return false, fmt.Errorf("is %s, not a flag", f.other)
	}
	if len(on) > 0 {
		// Devices differ in case and padding ("Alarm", "ALARM "): a fire
		// alarm must not read as its clear over that.
		return slices.ContainsFunc(on, func(v string) bool { return strings.EqualFold(strings.TrimSpace(text), v) }), nil
	}
	switch t := strings.ToLower(strings.TrimSpace(text)); {
	case slices.Contains(trueWords, t):
		return true, nil
	case slices.Contains(falseWords, t):
		return false, nil
	}
	return false, fmt.Errorf("%q is neither true nor false (true: %s; false: %s)", clip(text),
		strings.Join(trueWords, ", "), strings.Join(falseWords, ", "))
}

// decodeFields reads a json or kv message through lookup.
func (d *deviceState) decodeFields(lookup func(string) (field, bool), recv time.Time, b *shouwang.Batch) *problem {
	m := d.model
	var first *problem
	note := func(p *problem) {
		if first == nil {
			first = p
		}
	}
	var at time.Time
	if m.Time != "" {
		if f, ok := lookup(m.Time); ok {
			t, err := messageTime(f, m.TimeUnit)
			switch {
			case err != nil:
				note(fail(reasonBadTime, "%s %v; took the receive time", m.Time, err))
			case t.After(recv.Add(maxAhead)):
				// Milliseconds since boot read as seconds land years ahead.
				note(fail(reasonBadTime, "%s %s is more than %v ahead of the gateway's clock; took the receive time",
					m.Time, t.UTC().Format(time.RFC3339), maxAhead))
			default:
				at = t
			}
		}
	}
	if at.IsZero() {
		at = d.receiveTime(recv)
	}
	found := 0
	for _, p := range m.Points {
		f, ok := lookup(p.Field)
		if !ok {
			continue
		}
		found++
		v, err := f.number()
		if err != nil {
			note(fail(reasonBadValue, "%s %v", p.Field, err))
			continue
		}
		d.reading(p, v, at, b)
	}
	for i, fm := range m.Flags {
		f, ok := lookup(fm.Field)
		if !ok {
			continue
		}
		found++
		on, err := f.flag(fm.On)
		if err != nil {
			note(fail(reasonBadValue, "%s %v", fm.Field, err))
			continue
		}
		d.flag(i, on, fm.Field, at, b)
	}
	if m.Event != nil {
		if f, ok := lookup(m.Event.Field); ok {
			found++
			if err := d.event(f, at, b); err != nil {
				note(err)
			}
		}
	}
	if found == 0 && first == nil {
		return fail(reasonNoFields, "none of the model's fields is in the message")
	}
	return first
}

func (d *deviceState) decodeNumber(payload []byte, point string, recv time.Time, b *shouwang.Batch) *problem {
	p := &d.model.Points[0]
	if point != "" || len(d.model.Points) > 1 {
		var ok bool
		if p, ok = d.model.point(point); !ok {
			return fail(reasonBadValue, "the topic's point %q is not one of the model's (%s)", clip(point), strings.Join(d.model.PointNames(), ", "))
		}
	}
	v, err := field{text: string(payload), isText: true}.number()
	if err != nil {
		return fail(reasonMalformed, "%v", err)
	}
	d.reading(*p, v, d.receiveTime(recv), b)
	return nil
}

func (d *deviceState) reading(p PointMap, v float64, at time.Time, b *shouwang.Batch) {
	if p.Scale != 0 {
		v *= p.Scale
	}
	b.Readings = append(b.Readings, shouwang.Reading{Device: d.dev.ID, Point: p.Name, Value: v,
		Unit: d.model.units[p.Name], Quality: shouwang.Good, Time: at})
}

// flag reports flag i's condition when it changed, or on its first sight.
func (d *deviceState) flag(i int, on bool, fieldName string, at time.Time, b *shouwang.Batch) {
	now := int8(0)
	if on {
		now = 1
	}
	if d.flags[i] == now {
		return
	}
	d.flags[i] = now
	kind, sev := d.model.Flags[i].Event, d.model.severities[d.model.Flags[i].Event]
	if !on {
		kind, sev = shouwang.ClearKind(kind), d.model.severities[shouwang.ClearKind(kind)]
	}
	b.Events = append(b.Events, shouwang.Event{Device: d.dev.ID, Kind: kind, Severity: sev,
		Message: fmt.Sprintf("%s is %t", fieldName, on), Time: at})
}

func (d *deviceState) event(f field, at time.Time, b *shouwang.Batch) *problem {
	m := d.model
	if !f.isText {
		return fail(reasonBadValue, "%s is not text naming an event", m.Event.Field)
	}
	kind := f.text
	if m.Event.Kinds != nil {
		kind = m.Event.Kinds[f.text]
	}
	sev, ok := m.severities[kind]
	if kind == "" || !ok {
		return fail(reasonBadValue, "%s %q is not an event this model reports", m.Event.Field, clip(f.text))
	}
	b.Events = append(b.Events, shouwang.Event{Device: d.dev.ID, Kind: kind, Severity: sev,
		Message: m.Event.Field + " " + f.text, Time: at})
	return nil
}

// messageTime reads a timestamp in unit (one of stamp.Units).
func messageTime(f field, unit string) (time.Time, error) {
	switch {
	case f.isText:
		return stamp.Text(f.text, unit)
	case f.isBool:
		return time.Time{}, fmt.Errorf("is not a timestamp")
	}
	v, err := f.number()
	if err != nil {
		return time.Time{}, fmt.Errorf("is not a timestamp")
	}
	return stamp.Number(v, unit)
}

// kvPairs splits "a=1,b=2 c=3" (separators: , ; & and white space).
// A token that is not key=value is skipped and named in bad; the pairs
// around it are kept.
func kvPairs(payload []byte) (pairs [][2]string, bad string) {
	s := string(payload)
	for tok := range strings.FieldsFuncSeq(s, func(r rune) bool {
		return r == ',' || r == ';' || r == '&' || r == ' ' || r == '\t' || r == '\r' || r == '\n'
	}) {
		k, v, ok := strings.Cut(tok, "=")
		if !ok || k == "" {
			if bad == "" {
				bad = tok
			}
			continue
		}
		pairs = append(pairs, [2]string{k, v})
	}
	return pairs, bad
}

func firstNonSpace(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return c
		}
	}
	return 0
}

// clip shortens what a device sent for an error message.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
