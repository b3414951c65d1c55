package rules

import (
	"time"

	"github.com/shouwang-iot/shouwang"
)

// An event rule raises at once on a device event of one of its kinds, with
// the rule's severity or, when the rule gives none, the event's own (the
// one the device profile gives it). The condition returns to normal on the
// matching clear event (shouwang.ClearKind): "smoke_alarm" is cleared by
// "smoke_clear", "offline" by "online", any other kind K by "K_clear".
func init() {
	register(TypeEvent, ruleType{
		validate:   validateEvent,
		newChecker: newEvent,
		points:     func(*Rule) []string { return []string{} },
	})
}

func validateEvent(r *Rule, fe *shouwang.FieldErrors) {
	if len(r.Kinds) == 0 {
		fe.Add("kinds", "at least one event kind is needed (e.g. [smoke_alarm, tamper])")
	}
	for _, k := range r.Kinds {
		if k == "" || shouwang.IsClearKind(k) {
			fe.Add("kinds", "%q is not an event kind that raises (clear events are matched by themselves)", k)
		}
	}
}

type eventRule struct {
	raise    map[string]bool
	clear    map[string]bool
	severity shouwang.Severity
	fixed    bool // severity comes from the rule, not the event
	active   cond
}

func newEvent(r *Rule, _ *shouwang.Device) checker {
	e := &eventRule{raise: map[string]bool{}, clear: map[string]bool{}}
	for _, k := range r.Kinds {
		e.raise[k] = true
		e.clear[shouwang.ClearKind(k)] = true
	}
	e.severity, e.fixed = severityOr(r.Severity, shouwang.Alarm), r.Severity != ""
	return e
}

func (e *eventRule) reading(*shouwang.Reading, time.Time) cond { return e.active }

func (e *eventRule) event(ev *shouwang.Event, _ time.Time) (cond, bool) {
	switch {
	case e.raise[ev.Kind]:
		sev := ev.Severity
		if e.fixed {
			sev = e.severity
		}
		e.active = cond{active: true, severity: sev, level: ev.Kind, detail: ev.Attrs}
	case e.clear[ev.Kind]:
		e.active = cond{}
	default:
		return cond{}, false
	}
	return e.active, true
}

func (e *eventRule) restore(c cond, _ time.Time) {
	e.active = cond{active: true, severity: c.severity, level: c.level, detail: c.detail}
}

func (e *eventRule) tick(time.Time) (cond, bool) { return cond{}, false }
