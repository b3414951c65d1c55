package alarms

import (
	"slices"

	"github.com/shouwang-iot/shouwang"
)

// Route picks the messages one notifier carries. Escalation is routed by
// it: the community room's notifier has from_level 1, the police station's
// from_level 2, the district command centre's from_level 3, each limited to
// the grids (网格) it covers. A notifier hears every later transition of an
// alarm that has reached its level (acknowledged, dispatched, closed), so
// whoever was called also learns that it is handled.
type Route struct {
	// Grids limits the notifier to devices in these grids; empty: every
	// grid.
	Grids []string `yaml:"grids"`
	// FromLevel is the escalation level an alarm must have reached; 1
	// (the default) is from the moment it is raised.
	FromLevel int `yaml:"from_level"`
	// Severities limits the notifier to these severities (e.g. [fault] for
	// the maintenance company); empty: every severity.
	Severities []shouwang.Severity `yaml:"severities"`
}

// validate adds the route's problems to fe, named below "route".
func (r *Route) validate(fe *shouwang.FieldErrors) {
	if r.FromLevel < 0 {
		fe.Add("route.from_level", "is %d (want 1 for every alarm, 2 for those escalated once, ...)", r.FromLevel)
	}
	for i, g := range r.Grids {
		if g == "" {
			fe.Add("route.grids", "entry %d is empty (want a grid name as the sites section gives it)", i)
		}
	}
}

// Match says whether m goes to the notifier. Level and severity are the
// highest the alarm has reached, so that a notifier that heard of an alarm
// hears the rest of it: a reopened alarm starts escalating at 1 again, and
// an easing one drops its severity, but the police station that was
// called still learns that it was closed.
func (r *Route) Match(m *Message) bool {
	return max(m.Escalation, m.Reached) >= max(r.FromLevel, 1) &&
		(len(r.Grids) == 0 || slices.Contains(r.Grids, m.Location.Grid)) &&
		(len(r.Severities) == 0 || slices.Contains(r.Severities, m.Severity) || slices.Contains(r.Severities, m.Peak))
}
