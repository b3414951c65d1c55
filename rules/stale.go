package rules

import (
	"time"

	"github.com/shouwang-iot/shouwang"
)

// A stale rule raises a fault when a device has sent no good reading (of
// its point, or of any point) for After. It only ever raises a fault: a
// silent detector is a fault (故障), never a fire (火警). A fault restored
// after a restart holds until the device sends a good reading.
func init() {
	register(TypeStale, ruleType{
		validate:   validateStale,
		newChecker: func(r *Rule, _ *shouwang.Device) checker { return &stale{after: r.After} },
		points: func(r *Rule) []string {
			if r.Point == "" {
				return nil
			}
			return []string{r.Point}
		},
		timed: true,
	})
}

func validateStale(r *Rule, fe *shouwang.FieldErrors) {
	if r.After <= 0 {
		fe.Add("after", "must be a positive duration (e.g. 10m; GB/T 45839 shows a lost device within 24h)")
	}
	if r.Severity != "" && r.Severity != "fault" {
		fe.Add("severity", "%q: a stale device is a fault, never more (leave severity out or write fault)", r.Severity)
	}
}

type stale struct {
	after    time.Duration
	last     time.Time // of the last good reading; zero until the first tick
	restored bool      // a fault was restored: ticks before a reading keep it
}

func (s *stale) reading(r *shouwang.Reading, now time.Time) cond {
	s.last = now
	return cond{point: r.Point, value: r.Value}
}

func (s *stale) restore(cond, time.Time) { s.restored, s.last = true, time.Time{} }

func (s *stale) event(*shouwang.Event, time.Time) (cond, bool) { return cond{}, false }

func (s *stale) tick(now time.Time) (cond, bool) {
	if s.last.IsZero() {
		if s.restored {
			return cond{active: true, severity: shouwang.Fault, level: "stale"}, true
		}
		s.last = now // the engine just started: the device gets a full After
	}
	if now.Sub(s.last) >= s.after {
		return cond{active: true, severity: shouwang.Fault, level: "stale"}, true
	}
	return cond{}, true
}
