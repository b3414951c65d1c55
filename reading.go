package shouwang

import (
	"fmt"
	"strings"
	"time"
)

// Quality says how far a reading can be trusted.
type Quality uint8

const (
	// Good is a value the device reported as valid.
	Good Quality = iota
	// Bad is a value the device flagged as invalid (sensor fault, warm-up).
	Bad
	// Stale is the last known value of a device that stopped answering.
	Stale
)

func (q Quality) String() string {
	switch q {
	case Good:
		return "good"
	case Bad:
		return "bad"
	case Stale:
		return "stale"
	}
	return "unknown"
}

// Reading is one measured value of one point of a device.
type Reading struct {
	Device  string
	Point   string // what is measured: "gas", "co", "smoke_density", "temperature"
	Value   float64
	Unit    string // "%LEL", "ppm", "dB/m", "°C"
	Quality Quality
	Time    time.Time
}

// Severity orders how urgent something is. A fault (故障) is never a fire
// (火警): the two are distinct values and the console never merges them.
type Severity uint8

const (
	// Info is a report that needs nobody's attention (a reset, a test).
	Info Severity = iota
	// Fault (故障) is a device or communication problem, not a hazard.
	Fault
	// Warning (预警) is a hazard building up.
	Warning
	// Alarm (报警) is a hazard present.
	Alarm
	// Fire (火警), also critical: life at risk now.
	Fire
)

var severityNames = [...]string{"info", "fault", "warning", "alarm", "fire"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return "unknown"
}

// ParseSeverity is the inverse of String; ok is false for an unknown name.
func ParseSeverity(name string) (s Severity, ok bool) {
	for i, n := range severityNames {
		if n == name {
			return Severity(i), true
		}
	}
	return 0, false
}

// MarshalText writes the severity's name, so JSON and YAML say "fire",
// not 4.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity's name.
func (s *Severity) UnmarshalText(text []byte) error {
	v, ok := ParseSeverity(string(text))
	if !ok {
		return fmt.Errorf("%q is not a severity (valid: %s)", text, strings.Join(severityNames[:], ", "))
	}
	*s = v
	return nil
}

// SeverityNames lists the valid names, for error messages.
func SeverityNames() []string { return severityNames[:] }

// Event is a discrete report from a device: a smoke alarm, a fault, tamper,
// low battery, a device going offline, an object thrown.
type Event struct {
	Device   string
	Kind     string // "smoke_alarm", "fault", "tamper", "low_battery", "offline", "online"
	Severity Severity
	Message  string
	Time     time.Time
	// Attrs carries what the kind needs beyond the message: a trajectory,
	// an evidence URL, the panel's loop and address.
	Attrs map[string]string
}

// ClearKind is the event that says kind's condition has ended: a device
// that went "offline" is cleared by "online", "smoke_alarm" by
// "smoke_clear", and any other kind K by "K_clear". Drivers that report a
// state as events (a status bit set, then cleared) emit these, and the
// rules return a condition to normal on them.
func ClearKind(kind string) string {
	if kind == "offline" {
		return "online"
	}
	return strings.TrimSuffix(kind, "_alarm") + "_clear"
}

// IsClearKind reports whether kind is one that ClearKind returns: it
// ends a condition and raises none.
func IsClearKind(kind string) bool {
	return kind == "online" || strings.HasSuffix(kind, "_clear")
}

// Batch is what a driver publishes at once and what a sink writes at once.
type Batch struct {
	Readings []Reading
	Events   []Event
}

// Len is the number of readings and events in the batch.
func (b Batch) Len() int { return len(b.Readings) + len(b.Events) }
