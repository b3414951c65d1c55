package rules

import (
	"fmt"
	"slices"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// A threshold rule raises the most severe level whose set-point the value
// has reached: at or above an "above" set-point, at or below a "below" one.
// Once raised, a level holds until the value is Deadband back past its
// set-point, so a value hovering at the set-point does not flap. A level
// restored after a restart is held the same way.
func init() {
	register(TypeThreshold, ruleType{
		validate:   validateThreshold,
		newChecker: newThreshold,
		points:     func(r *Rule) []string { return []string{r.Point} },
	})
}

func validateThreshold(r *Rule, fe *shouwang.FieldErrors) {
	if r.Point == "" {
		fe.Add("point", "must name the point to watch (e.g. gas)")
	}
	if len(r.Levels) == 0 {
		fe.Add("levels", "at least one level is needed (e.g. {name: alarm, above: 25, severity: alarm})")
	}
	if r.Deadband < 0 {
		fe.Add("deadband", "%g is negative (want 0 or more, in the point's unit)", r.Deadband)
	}
	names := map[string]bool{}
	prev := shouwang.Severity(0)
	for i, lv := range r.Levels {
		p := fmt.Sprintf("levels[%d]", i)
		if (lv.Above == nil) == (lv.Below == nil) {
			fe.Add(p, "give exactly one of above or below")
		}
		if lv.Name == "" || names[lv.Name] {
			fe.Add(p+".name", "%q must be set and unique in the rule (e.g. warning, alarm)", lv.Name)
		}
		names[lv.Name] = true
		s, ok := shouwang.ParseSeverity(lv.Severity)
		if !ok {
			fe.Add(p+".severity", "%q is not a severity (valid: warning, alarm, fire, ...)", lv.Severity)
		} else if i > 0 && s <= prev {
			fe.Add(p+".severity", "%s is not above the level before it (list levels from least to most severe)", lv.Severity)
		}
		prev = s
	}
}

type threshold struct {
	levels   []thresholdLevel // least severe first
	deadband float64
	current  int // index of the level held, -1 for none
}

type thresholdLevel struct {
	name     string
	above    bool
	limit    float64
	severity shouwang.Severity
}

func newThreshold(r *Rule, _ *shouwang.Device) checker {
	t := &threshold{deadband: r.Deadband, current: -1}
	for _, lv := range r.Levels {
		l := thresholdLevel{name: lv.Name, severity: severityOr(lv.Severity, shouwang.Alarm)}
		if lv.Above != nil {
			l.above, l.limit = true, *lv.Above
		} else {
			l.limit = *lv.Below
		}
		t.levels = append(t.levels, l)
	}
	slices.SortStableFunc(t.levels, func(a, b thresholdLevel) int { return int(a.severity) - int(b.severity) })
	return t
}

// reached says whether v has reached the level, allowing slack back past
// the set-point.
func (l *thresholdLevel) reached(v, slack float64) bool {
	if l.above {
		return v >= l.limit-slack
	}
	return v <= l.limit+slack
}

func (t *threshold) reading(r *shouwang.Reading, _ time.Time) cond {
	level := -1
	for i := len(t.levels) - 1; i >= 0; i-- {
		slack := 0.0
		if i <= t.current {
			slack = t.deadband
		}
		if t.levels[i].reached(r.Value, slack) {
			level = i
			break
		}
	}
	t.current = level
	if level < 0 {
		return cond{point: r.Point, value: r.Value}
	}
	l := &t.levels[level]
	return cond{active: true, severity: l.severity, level: l.name, point: r.Point, value: r.Value}
}

// restore holds the restored level, so that its deadband applies to the
// first readings after the restart. A level the rule no longer has is
// not held: the first reading decides.
func (t *threshold) restore(c cond, _ time.Time) {
	t.current = slices.IndexFunc(t.levels, func(l thresholdLevel) bool { return l.name == c.level })
}

func (t *threshold) event(*shouwang.Event, time.Time) (cond, bool) { return cond{}, false }
func (t *threshold) tick(time.Time) (cond, bool)                   { return cond{}, false }
