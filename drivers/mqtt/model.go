package mqtt

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/stamp"
)

// Payload formats a model may send.
const (
	FormatJSON   = "json"   // an object; fields by gjson path ("data.lel")
	FormatNumber = "number" // the payload is one number ("23.5")
	FormatKV     = "kv"     // key=value pairs ("lel=3.5,bat=97 alarm=0")
)

// Model is the "mqtt:" section of a device profile: how one model's
// messages read. The profile's points and events list every name it
// produces; their units and severities come from there (Provision).
type Model struct {
	// Format is json, number or kv.
	Format string `yaml:"format"`
	// Time is the field holding the message's own timestamp (a JSON path,
	// or a kv key); left out, readings take the time the gateway received
	// the message.
	Time string `yaml:"time"`
	// TimeUnit is auto (default), s, ms or rfc3339.
	TimeUnit string `yaml:"time_unit"`
	// Points are the measured values. A number payload has one point, or
	// several told apart by the subscription's {point} capture.
	Points []PointMap `yaml:"points"`
	// Flags are fields holding a condition: true raises Event, false
	// raises its clear (shouwang.ClearKind). A change is reported, and
	// every flag in the first message after start.
	Flags []FlagMap `yaml:"flags"`
	// Event is a field naming a one-off event (a test, tamper).
	Event *EventMap `yaml:"event"`

	units      map[string]string
	severities map[string]shouwang.Severity
}

// PointMap reads one point from a field.
type PointMap struct {
	Name  string `yaml:"name"`
	Field string `yaml:"field"`
	// Scale multiplies the raw value (0 or 1: as sent).
	Scale float64 `yaml:"scale"`
}

// FlagMap reads one condition from a field. True is a JSON true, a
// non-zero number, or one of "true", "on", "yes", "alarm", "1"; false is
// the opposite ("false", "off", "no", "normal", "ok", "0"); anything else
// is a bad payload. On, if given, lists the values that mean true
// instead, and every other value means false.
type FlagMap struct {
	Field string   `yaml:"field"`
	Event string   `yaml:"event"`
	On    []string `yaml:"on"`
}

// EventMap reads a field whose value names an event. Kinds maps the
// values the device sends to the profile's kinds; without it the value
// must be a kind itself.
type EventMap struct {
	Field string            `yaml:"field"`
	Kinds map[string]string `yaml:"kinds"`
}

// Validate reports every problem with the section.
func (m *Model) Validate() error {
	var fe shouwang.FieldErrors
	if m.TimeUnit == "" {
		m.TimeUnit = stamp.Auto
	}
	switch m.Format {
	case FormatJSON, FormatKV:
		if len(m.Points) == 0 && len(m.Flags) == 0 && m.Event == nil {
			fe.Add("points", "a %s model needs points, flags or an event field", m.Format)
		}
	case FormatNumber:
		if len(m.Points) == 0 {
			fe.Add("points", "a number model needs a point (one, or several told apart by the topic's {point} capture)")
		}
		if len(m.Flags) > 0 || m.Event != nil || m.Time != "" {
			fe.Add("format", "a number payload has no fields (flags, event and time need json or kv)")
		}
	default:
		fe.Add("format", "%q is not a payload format (valid: %s, %s, %s)", m.Format, FormatJSON, FormatNumber, FormatKV)
	}
	if !slices.Contains(stamp.Units, m.TimeUnit) {
		fe.Add("time_unit", "%q is not a time unit (valid: %s)", m.TimeUnit, strings.Join(stamp.Units, ", "))
	}
	m.checkField(&fe, "time", m.Time, true)
	seen := map[string]bool{}
	for i, p := range m.Points {
		at := fmt.Sprintf("points[%d]", i)
		if p.Name == "" {
			fe.Add(at+".name", "is required (a point of the profile)")
		}
		if seen[p.Name] {
			fe.Add(at+".name", "%q is read twice", p.Name)
		}
		seen[p.Name] = true
		if m.Format == FormatNumber {
			if p.Field != "" {
				fe.Add(at+".field", "a number payload has no fields (leave field out)")
			}
		} else {
			m.checkField(&fe, at+".field", p.Field, false)
		}
	}
	for i, f := range m.Flags {
		at := fmt.Sprintf("flags[%d]", i)
		m.checkField(&fe, at+".field", f.Field, false)
		if f.Event == "" || shouwang.IsClearKind(f.Event) {
			fe.Add(at+".event", "%q must name the condition's event (e.g. smoke_alarm; its clear follows from it)", f.Event)
		}
	}
	if m.Event != nil {
		m.checkField(&fe, "event.field", m.Event.Field, false)
	}
	return fe.Err()
}

// checkField checks a field reference: a gjson path for json, a key for kv.
func (m *Model) checkField(fe *shouwang.FieldErrors, at, field string, optional bool) {
	switch {
	case field == "" && optional:
	case field == "":
		fe.Add(at, "is required (the %s field holding the value)", m.Format)
	case m.Format == FormatJSON && !validPath(field):
		fe.Add(at, "%q is not a JSON path (e.g. lel, data.lel, sensors.0.value)", field)
	case m.Format == FormatKV && strings.ContainsAny(field, "=,;& \t\r\n"):
		fe.Add(at, "%q is not a key (no =, separators or spaces)", field)
	}
}

// validPath rejects what gjson would read as a query or modifier rather
// than a plain path: the model maps fields, it does not run queries.
func validPath(p string) bool {
	return p != "" && !strings.ContainsAny(p, "#@|*?!=<>\\") && !strings.HasPrefix(p, ".") &&
		!strings.HasSuffix(p, ".") && !strings.Contains(p, "..")
}

// PointNames lists the points the model reads.
func (m *Model) PointNames() []string {
	out := make([]string, 0, len(m.Points))
	for _, p := range m.Points {
		out = append(out, p.Name)
	}
	return out
}

// EventKinds lists the events the model raises (their clears follow from
// shouwang.ClearKind).
func (m *Model) EventKinds() []string {
	var out []string
	for _, f := range m.Flags {
		out = append(out, f.Event)
	}
	if m.Event != nil {
		for _, k := range m.Event.Kinds {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Provision takes the profile's units and severities.
func (m *Model) Provision(units map[string]string, severities map[string]shouwang.Severity) {
	m.units, m.severities = units, severities
}

// point returns the point called name.
func (m *Model) point(name string) (*PointMap, bool) {
	for i := range m.Points {
		if m.Points[i].Name == name {
			return &m.Points[i], true
		}
	}
	return nil, false
}
