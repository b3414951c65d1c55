package mqtt

import (
	"encoding/json"
	"math"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// message is one PUBLISH: a topic and its JSON payload.
type message struct {
	topic   string
	payload []byte
}

// device is what a known device contributes to every message: its topic
// levels and its location.
type device struct {
	levels   values
	location shouwang.Location
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
}

func newEncoder(readings, events template, gateway string, devices map[string]shouwang.Device) *encoder {
	e := &encoder{readings: readings, events: events, gateway: gateway,
		devices: make(map[string]*device, len(devices)), topics: map[topicKey]string{}}
	for id, d := range devices {
		e.devices[id] = &device{levels: deviceValues(gateway, id, d, true), location: d.Location}
	}
	return e
}

// device returns what d contributes, or "_" levels and an empty location
// for a device the gateway does not know.
func (e *encoder) device(id string) *device {
	if d := e.devices[id]; d != nil {
		return d
	}
	return &device{levels: deviceValues(e.gateway, id, shouwang.Device{}, false)}
}

// location is a device's location, empty when unknown.
func (e *encoder) location(id string) shouwang.Location {
	if d := e.devices[id]; d != nil {
		return d.location
	}
	return shouwang.Location{}
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
func (e *encoder) encode(msgs []message, b shouwang.Batch) ([]message, error) {
	for i := range b.Readings {
		r := &b.Readings[i]
		payload, err := e.readingJSON(r)
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, message{topic: e.topic(false, r.Device, r.Point), payload: payload})
	}
	for i := range b.Events {
		ev := &b.Events[i]
		payload, err := e.eventJSON(ev)
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, message{topic: e.topic(true, ev.Device, ev.Kind), payload: payload})
	}
	return msgs, nil
}

// readingPayload and eventPayload are the messages' JSON. encoding/json
// writes map keys sorted, so a batch sent again is the same bytes.
type readingPayload struct {
	Device   string            `json:"device"`
	Point    string            `json:"point"`
	Value    *float64          `json:"value"` // null for NaN and ±Inf, which JSON cannot carry
	Unit     string            `json:"unit"`
	Quality  string            `json:"quality"`
	Time     msTime            `json:"time"`
	Location shouwang.Location `json:"location"`
}

type eventPayload struct {
	Device   string            `json:"device"`
	Kind     string            `json:"kind"`
	Severity shouwang.Severity `json:"severity"`
	Message  string            `json:"message"`
	Time     msTime            `json:"time"`
	Attrs    map[string]string `json:"attrs"`
	Location shouwang.Location `json:"location"`
}

// msTime is written in UTC as RFC 3339 with milliseconds.
type msTime time.Time

func (t msTime) MarshalText() ([]byte, error) {
	return time.Time(t).UTC().AppendFormat(nil, "2006-01-02T15:04:05.000Z07:00"), nil
}

var noAttrs = map[string]string{} // written as {}, never changed

func (e *encoder) readingJSON(r *shouwang.Reading) ([]byte, error) {
	p := readingPayload{Device: r.Device, Point: r.Point, Unit: r.Unit, Quality: r.Quality.String(),
		Time: msTime(r.Time), Location: e.location(r.Device)}
	if !math.IsNaN(r.Value) && !math.IsInf(r.Value, 0) {
		p.Value = &r.Value
	}
	return json.Marshal(p)
}

func (e *encoder) eventJSON(ev *shouwang.Event) ([]byte, error) {
	attrs := ev.Attrs
	if attrs == nil {
		attrs = noAttrs
	}
	return json.Marshal(eventPayload{Device: ev.Device, Kind: ev.Kind, Severity: ev.Severity, Message: ev.Message,
		Time: msTime(ev.Time), Attrs: attrs, Location: e.location(ev.Device)})
}
