package grading

import (
	"math"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// Config is the gateway's grading: section.
type Config struct {
	Weights Weights `yaml:"weights"`
	// Yellow is the score at or above which a building is yellow.
	Yellow float64 `yaml:"yellow"`
	// Red is the score at or above which a building is red; above Yellow.
	Red float64 `yaml:"red"`
	// UnhandledAfter is how long after its raise an alarm may wait for
	// its first acknowledgement before it counts as unhandled.
	UnhandledAfter time.Duration `yaml:"unhandled_after"`
}

// Weights are the points each thing counted against a building is worth.
// A zero weight leaves that thing out of the score.
type Weights struct {
	Alarm       float64 `yaml:"alarm" json:"alarm"`               // per alarm raised of severity warning or higher
	Fire        float64 `yaml:"fire" json:"fire"`                 // extra per alarm that reached fire severity
	Fault       float64 `yaml:"fault" json:"fault"`               // per fault event
	Unhandled   float64 `yaml:"unhandled" json:"unhandled"`       // per alarm not acknowledged in time
	OfflineHour float64 `yaml:"offline_hour" json:"offline_hour"` // per device-hour offline
}

// DefaultConfig is the one place grading's defaults live.
//
// The weights are chosen so that a month reads naturally: five alarms
// (5×2 = 10), or two left unhandled (2×2 + 2×5 = 14), make a building
// yellow; a fire left unhandled (2+5+5 = 12) with seven more alarms
// (7×2 = 14) makes it red. 50 device-hours offline, one detector dead
// for about two days, weigh as much as five alarms.
//
// UnhandledAfter is 5 minutes. No standard in shared/field-facts.md sets
// a deadline for acknowledging an alarm (a page quoting GB 25201-2010 5.3
// asks for confirmation "by the fastest means", without a number; the
// standard itself was not read). 5 minutes lies past the first escalation of the default alarm
// policy (2 minutes, rules.DefaultAlarmConfig), so an alarm counted
// unhandled has already been escalated once, and well inside the
// 10 minutes GB 26875.1-2011 gives a police room to answer a roll call
// (查岗).
func DefaultConfig() Config {
	return Config{
		Weights: Weights{
			Alarm:       2,
			Fire:        5,
			Fault:       1,
			Unhandled:   5,
			OfflineHour: 0.2,
		},
		Yellow:         10,
		Red:            25,
		UnhandledAfter: 5 * time.Minute,
	}
}

// Validate reports every problem with the config as shouwang.FieldErrors,
// named below the grading: section ("red", "weights.fire"), so the loader
// can point at them in the file. It does no I/O.
func (c Config) Validate() error {
	var fe shouwang.FieldErrors
	for _, w := range []struct {
		field string
		value float64
		what  string
	}{
		{"weights.alarm", c.Weights.Alarm, "alarm raised"},
		{"weights.fire", c.Weights.Fire, "fire alarm, on top of weights.alarm"},
		{"weights.fault", c.Weights.Fault, "fault event"},
		{"weights.unhandled", c.Weights.Unhandled, "alarm not acknowledged in time"},
		{"weights.offline_hour", c.Weights.OfflineHour, "device-hour offline"},
	} {
		if !finite(w.value) || w.value < 0 {
			fe.Add(w.field, "is %v (want the points per %s: a number, 0 or more; 0 leaves it out of the score)", w.value, w.what)
		}
	}
	yellowOK := finite(c.Yellow) && c.Yellow > 0
	if !yellowOK {
		// At 0 a building with nothing against it would not be green.
		fe.Add("yellow", "is %v (want a score above 0, e.g. 10)", c.Yellow)
	}
	switch {
	case !finite(c.Red) || c.Red <= 0:
		fe.Add("red", "is %v (want a score above yellow, e.g. 25)", c.Red)
	case yellowOK && c.Red <= c.Yellow:
		fe.Add("red", "is %v, not above yellow (%v) (want red > yellow, e.g. yellow: 10, red: 25)", c.Red, c.Yellow)
	}
	if c.UnhandledAfter <= 0 {
		fe.Add("unhandled_after", "is %v (want a positive duration, e.g. 5m)", c.UnhandledAfter)
	}
	return fe.Err()
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
