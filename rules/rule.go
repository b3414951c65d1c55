package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// Rule is one rule as the config file declares it. The fields a type does
// not use must be left out; Validate says which belong to which type.
type Rule struct {
	ID     string   `yaml:"id"`
	Type   string   `yaml:"type"`
	Select Selector `yaml:"select"`
	// Point is the reading the rule watches (threshold, exposure, rate,
	// stale; stale without a point watches every point).
	Point string `yaml:"point"`
	// Severity is what a single-level rule raises.
	Severity string `yaml:"severity"`
	// Levels are a threshold's set-points, lowest severity first.
	Levels []Level `yaml:"levels"`
	// Deadband is how far back past a set-point a value must go to clear it.
	Deadband float64 `yaml:"deadband"`
	// OnDelay and OnSamples: the condition must hold this long, or for this
	// many consecutive samples, before the alarm is raised.
	OnDelay   time.Duration `yaml:"on_delay"`
	OnSamples int           `yaml:"on_samples"`
	// OffDelay: the condition must stay clear this long before the alarm
	// returns to normal.
	OffDelay time.Duration `yaml:"off_delay"`
	// Latch keeps the alarm active after its condition clears, until an
	// operator resets it (household gas alarms usually latch).
	Latch bool `yaml:"latch"`
	// Curve is an exposure rule's (level, time) points: above Level for
	// Time raises the alarm (EN 50291 / UL 2034 style).
	Curve []CurvePoint `yaml:"curve"`
	// Rise over Window is a rate-of-rise rule's limit.
	Rise   float64       `yaml:"rise"`
	Window time.Duration `yaml:"window"`
	// Kinds are the device events an event rule raises on.
	Kinds []string `yaml:"kinds"`
	// After is how long without a good reading a stale rule waits.
	After time.Duration `yaml:"after"`
	// Group, K and Window: a confirmation rule raises when K devices of the
	// same Group (floor, unit, building) alarm within Window.
	Group string `yaml:"group"`
	K     int    `yaml:"k"`
	// Expr is an expression rule's condition over the device's latest
	// points, e.g. "gas > 10 && co > 50".
	Expr string `yaml:"expr"`
}

// Level is one set-point of a threshold rule.
type Level struct {
	Name     string   `yaml:"name"`
	Above    *float64 `yaml:"above"`
	Below    *float64 `yaml:"below"`
	Severity string   `yaml:"severity"`
}

// CurvePoint is one point of an exposure curve.
type CurvePoint struct {
	Level float64       `yaml:"level"`
	Time  time.Duration `yaml:"time"`
}

// Rule types.
const (
	TypeThreshold  = "threshold"
	TypeExposure   = "exposure"
	TypeRate       = "rate"
	TypeEvent      = "event"
	TypeStale      = "stale"
	TypeConfirm    = "confirm"
	TypeExpression = "expression"
)

var ruleTypes = []string{TypeThreshold, TypeExposure, TypeRate, TypeEvent, TypeStale, TypeConfirm, TypeExpression}

// Selector picks the devices a rule applies to. Every criterion given must
// match; within a list, any entry matches. An empty selector matches every
// device.
type Selector struct {
	Devices   []string          `yaml:"devices"`
	Types     []string          `yaml:"types"`
	Tags      map[string]string `yaml:"tags"`
	Buildings []string          `yaml:"buildings"`
	Floors    []int             `yaml:"floors"`
	Grids     []string          `yaml:"grids"`
	// Profiles selects by device model; a profile's suggested rules
	// select its own model.
	Profiles []string `yaml:"profiles"`
}

// Match reports whether d is selected.
func (s *Selector) Match(d *shouwang.Device) bool {
	if len(s.Devices) > 0 && !slices.Contains(s.Devices, d.ID) {
		return false
	}
	if len(s.Types) > 0 && !slices.Contains(s.Types, d.Type) {
		return false
	}
	for k, v := range s.Tags {
		if d.Tags[k] != v {
			return false
		}
	}
	if len(s.Buildings) > 0 && !slices.Contains(s.Buildings, d.Location.Building) {
		return false
	}
	if len(s.Floors) > 0 && !slices.Contains(s.Floors, d.Location.Floor) {
		return false
	}
	if len(s.Grids) > 0 && !slices.Contains(s.Grids, d.Location.Grid) {
		return false
	}
	if len(s.Profiles) > 0 && !slices.Contains(s.Profiles, d.Profile) {
		return false
	}
	return true
}

// field names the fields of Rule each type may set, beyond id, type,
// select, severity and latch.
var typeFields = map[string][]string{
	TypeThreshold:  {"point", "levels", "deadband", "on_delay", "on_samples", "off_delay"},
	TypeExposure:   {"point", "curve", "off_delay"},
	TypeRate:       {"point", "rise", "window", "on_samples", "off_delay"},
	TypeEvent:      {"kinds", "off_delay"},
	TypeStale:      {"point", "after"},
	TypeConfirm:    {"group", "k", "window", "select"},
	TypeExpression: {"expr", "on_delay", "on_samples", "off_delay"},
}

// setFields lists the type-specific fields r sets, by their yaml names.
func (r *Rule) setFields() []string {
	var set []string
	add := func(name string, isSet bool) {
		if isSet {
			set = append(set, name)
		}
	}
	add("point", r.Point != "")
	add("levels", len(r.Levels) > 0)
	add("deadband", r.Deadband != 0)
	add("on_delay", r.OnDelay != 0)
	add("on_samples", r.OnSamples != 0)
	add("off_delay", r.OffDelay != 0)
	add("curve", len(r.Curve) > 0)
	add("rise", r.Rise != 0)
	add("window", r.Window != 0)
	add("kinds", len(r.Kinds) > 0)
	add("after", r.After != 0)
	add("group", r.Group != "")
	add("k", r.K != 0)
	add("expr", r.Expr != "")
	return set
}

// Validate reports every problem with the rule that needs no knowledge of
// the devices, as shouwang.FieldErrors.
func (r *Rule) Validate() error {
	var fe shouwang.FieldErrors
	if r.ID == "" || strings.ContainsAny(r.ID, " \t\n/") {
		fe.Add("id", "%q is not a rule id (letters, digits, '-', '_' or '.', e.g. gas-elderly)", r.ID)
	}
	fields, ok := typeFields[r.Type]
	if !ok {
		fe.Add("type", "%q is not a rule type (valid: %s)", r.Type, strings.Join(ruleTypes, ", "))
		return fe.Err()
	}
	for _, f := range r.setFields() {
		if !slices.Contains(fields, f) {
			fe.Add(f, "does not apply to rules of type %s (their fields: %s)", r.Type, strings.Join(fields, ", "))
		}
	}
	if r.OnDelay < 0 || r.OffDelay < 0 || r.OnSamples < 0 {
		fe.Add("on_delay", "delays and sample counts cannot be negative")
	}
	if r.OnDelay > 0 && r.OnSamples > 0 {
		fe.Add("on_samples", "give on_delay or on_samples, not both")
	}
	if r.Severity != "" {
		if _, ok := shouwang.ParseSeverity(r.Severity); !ok {
			fe.Add("severity", "%q is not a severity (valid: %s)", r.Severity, strings.Join(shouwang.SeverityNames(), ", "))
		}
	}
	if t, ok := types[r.Type]; ok && t.validate != nil {
		t.validate(r, &fe)
	}
	return fe.Err()
}

// severityOr parses a severity name, with def for an empty one.
func severityOr(name string, def shouwang.Severity) shouwang.Severity {
	if s, ok := shouwang.ParseSeverity(name); ok {
		return s
	}
	return def
}

func ruleErr(r *Rule, format string, args ...any) error {
	return fmt.Errorf("rule %s: %s", r.ID, fmt.Sprintf(format, args...))
}
