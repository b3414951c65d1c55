package rules

import (
	"fmt"
	"math"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// An exposure rule raises when a concentration has been high for long
// enough, the way CO alarms are specified (EN 50291-1, UL 2034): the curve
// gives, for each level, how long a constant concentration at that level
// may last before the alarm. For a concentration that varies, the rule
// integrates a dose fraction
//
//	D = ∫ dt / T(c(t))
//
// and raises when D reaches 1, so a constant concentration c alarms after
// exactly T(c), and half the time at one level plus half the time at
// another alarms when the two halves add up. T is read off the curve:
//
//   - at or above the highest level: the highest level's time;
//   - between two points (L₁, T₁) and (L₂, T₂): log-linear in time,
//     T(c) = T₁·(T₂/T₁)^((c−L₁)/(L₂−L₁)), so T passes through every point,
//     never rises with c, and is continuous from the lowest level up;
//   - below the lowest level: no dose. A concentration below the lowest
//     level restarts the timer: D goes back to 0 (UL 2034's wording; a dose
//     that decayed instead would need a half-life no standard gives).
//
// The dose runs on the engine's clock, the now passed to reading and tick,
// never on Reading.Time: tick has only now, a device's clock may be wrong,
// and readings that arrive late in a batch must not go back in time. Each
// call first adds the time since the previous call at the concentration
// held until then (the last reading's; a device that reports rarely still
// alarms on time, on the engine's ticks), then takes the new reading. A
// step back in time adds nothing. Nothing accumulates before the first
// reading.
//
// Once raised, the alarm holds while the concentration stays at or above
// the lowest level. It returns to normal when the concentration falls
// below it; with off_delay, a dip shorter than off_delay neither clears
// the alarm (the engine holds it) nor restarts the dose, so a noisy sensor
// does not turn one alarm into a new 75-minute wait. The severity is the
// rule's, alarm when it gives none; the level is "exposure".
//
// An alarm restored after a restart is taken as a dose already spent (the
// partial dose is not journaled): it holds, ticks alone do not clear it,
// and it returns to normal the way any raised alarm does, on a reading
// below the lowest level, off_delay applying.
func init() {
	register(TypeExposure, ruleType{
		validate:   validateExposure,
		newChecker: newExposure,
		points:     func(r *Rule) []string { return []string{r.Point} },
		timed:      true,
	})
}

func validateExposure(r *Rule, fe *shouwang.FieldErrors) {
	if r.Point == "" {
		fe.Add("point", "must name the point to watch (e.g. co)")
	}
	if len(r.Curve) == 0 {
		fe.Add("curve", "at least one point is needed, lowest level first "+
			"(e.g. EN 50291: [{level: 50, time: 75m}, {level: 100, time: 25m}, {level: 300, time: 2m30s}])")
	}
	for i, p := range r.Curve {
		path := fmt.Sprintf("curve[%d]", i)
		switch {
		case math.IsNaN(p.Level) || math.IsInf(p.Level, 0):
			fe.Add(path+".level", "%g is not a level (want a finite number in the point's unit, e.g. 50 for 50 ppm)", p.Level)
		case i > 0 && p.Level <= r.Curve[i-1].Level:
			fe.Add(path+".level", "%g is not above the level before it, %g (list the points from the lowest level up)",
				p.Level, r.Curve[i-1].Level)
		}
		switch {
		case p.Time <= 0:
			fe.Add(path+".time", "%s is not a time to alarm (want a positive duration, e.g. 25m)", p.Time)
		case i > 0 && p.Time >= r.Curve[i-1].Time:
			fe.Add(path+".time", "%s is not shorter than the time before it, %s (a higher level must alarm sooner)",
				p.Time, r.Curve[i-1].Time)
		}
	}
}

// doseSlack absorbs the rounding of adding many small fractions: a
// constant concentration at a curve point alarms at the point's time, not
// one tick later.
const doseSlack = 1e-9

type exposure struct {
	point    string
	severity shouwang.Severity
	offDelay time.Duration
	levels   []float64 // the curve's levels, lowest first
	seconds  []float64 // the curve's times in seconds
	logs     []float64 // their natural logarithms

	held   bool // a reading has been taken
	value  float64
	last   time.Time // up to which the dose has been added
	dose   float64   // fraction of the curve's time spent, 0 to 1
	active bool
	below  time.Time // when an active alarm's concentration fell below the lowest level
}

func newExposure(r *Rule, _ *shouwang.Device) checker {
	x := &exposure{point: r.Point, severity: severityOr(r.Severity, shouwang.Alarm), offDelay: r.OffDelay}
	for _, p := range r.Curve {
		s := p.Time.Seconds()
		x.levels = append(x.levels, p.Level)
		x.seconds = append(x.seconds, s)
		x.logs = append(x.logs, math.Log(s))
	}
	return x
}

// timeToAlarm is T(c) in seconds for c at or above the lowest level.
func (x *exposure) timeToAlarm(c float64) float64 {
	i := len(x.levels) - 1
	for i > 0 && c < x.levels[i] {
		i--
	}
	if i == len(x.levels)-1 || c == x.levels[i] {
		return x.seconds[i]
	}
	frac := (c - x.levels[i]) / (x.levels[i+1] - x.levels[i])
	return math.Exp(x.logs[i] + frac*(x.logs[i+1]-x.logs[i]))
}

// advance adds the dose of the held concentration from the last call to
// now.
func (x *exposure) advance(now time.Time) {
	if !x.held {
		return
	}
	if dt := now.Sub(x.last); dt > 0 && !x.active && x.value >= x.levels[0] {
		x.dose += dt.Seconds() / x.timeToAlarm(x.value)
	}
	x.last = now
}

// check concludes on the held concentration at now.
func (x *exposure) check(now time.Time) cond {
	if x.value < x.levels[0] {
		if x.active {
			if x.below.IsZero() {
				x.below = now
			}
			if now.Sub(x.below) < x.offDelay {
				return cond{point: x.point, value: x.value} // the engine holds the alarm meanwhile
			}
		}
		x.active, x.dose, x.below = false, 0, time.Time{}
		return cond{point: x.point, value: x.value}
	}
	x.below = time.Time{}
	if !x.active && x.dose >= 1-doseSlack {
		x.active, x.dose = true, 1
	}
	if !x.active {
		return cond{point: x.point, value: x.value}
	}
	return cond{active: true, severity: x.severity, level: TypeExposure, point: x.point, value: x.value}
}

func (x *exposure) reading(r *shouwang.Reading, now time.Time) cond {
	x.advance(now)
	if !x.held {
		x.held, x.last = true, now
	}
	x.value = r.Value
	return x.check(now)
}

func (x *exposure) restore(c cond, _ time.Time) {
	x.active, x.dose, x.below = true, 1, time.Time{}
	if !x.held {
		x.value = c.value // shown until the first reading
	}
}

func (x *exposure) event(*shouwang.Event, time.Time) (cond, bool) { return cond{}, false }

func (x *exposure) tick(now time.Time) (cond, bool) {
	if !x.held {
		if x.active { // restored, no reading since
			return cond{active: true, severity: x.severity, level: TypeExposure, point: x.point, value: x.value}, true
		}
		return cond{}, true
	}
	x.advance(now)
	return x.check(now), true
}
