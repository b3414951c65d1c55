package rules

import (
	"fmt"
	"math"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// Change is a change in an alarm's condition, for one rule and one device:
// raised, moved to another level, or returned to normal. The workflow
// (acknowledged, dispatched, ...) is tracked apart from it, as ISA-18.2
// separates them.
type Change struct {
	Rule   string
	Device string
	// Active is the condition: true while it holds, false once it has
	// returned to normal.
	Active   bool
	Severity shouwang.Severity
	Level    string // the threshold level's name, or the rule type
	Point    string
	Value    float64 // the reading that caused the change
	// Detail is the raising event's attributes, for an event rule.
	Detail map[string]string
	Time   time.Time
	// Latch says the alarm needs an operator's reset after its condition
	// returns to normal.
	Latch bool
}

// cond is what a checker concludes about its device at one moment.
type cond struct {
	active   bool
	severity shouwang.Severity
	level    string
	point    string
	value    float64
	// detail is what the raising event said beyond its kind (the floor
	// and window a throw came from, its evidence).
	detail map[string]string
}

func (c cond) same(o cond) bool {
	return c.active == o.active && (!c.active || c.severity == o.severity && c.level == o.level)
}

// A checker is one rule's logic for one device. It keeps its own state and
// is told the time; it never reads a clock.
type checker interface {
	// reading returns the condition after a good reading of a point the
	// rule watches.
	reading(r *shouwang.Reading, now time.Time) cond
	// event returns the condition after a device event, or ok false if
	// the checker does not look at events.
	event(e *shouwang.Event, now time.Time) (c cond, ok bool)
	// tick returns the condition at now for checkers that change with time
	// alone (stale, exposure), or ok false.
	tick(now time.Time) (c cond, ok bool)
}

// ruleType is what each rule type's file registers.
type ruleType struct {
	validate   func(r *Rule, fe *shouwang.FieldErrors)
	newChecker func(r *Rule, d *shouwang.Device) checker
	// points lists the points the rule watches on a device; nil means
	// every point (stale without a point).
	points func(r *Rule) []string
	timed  bool // tick matters even without delays
	// newGroups replaces newChecker for a rule that works on the other
	// rules' changes (confirm): it gets the devices the rule selects.
	newGroups func(r *Rule, devices []*shouwang.Device) ([]group, error)
}

var types = map[string]ruleType{}

func register(name string, t ruleType) {
	if _, dup := types[name]; dup {
		panic("rules: type " + name + " registered twice")
	}
	types[name] = t
}

// instance is one rule applied to one device, with the delays and the
// reported condition kept generically around its checker.
type instance struct {
	rule   *Rule
	device string
	check  checker
	state  cond // reported

	pending        bool
	pendingCond    cond
	pendingSince   time.Time
	pendingSamples int
}

// deviceRules indexes one device's instances by what wakes them.
type deviceRules struct {
	// byPoint is scanned, not hashed: a device has a handful of points,
	// and comparing a few short strings beats a second map lookup on the
	// path every reading takes.
	byPoint  []pointRules
	anyPoint []*instance // watch every point
	events   []*instance // every instance on the device (Restore finds them here)
}

// pointRules are the instances one point of a device wakes.
type pointRules struct {
	point     string
	instances []*instance
}

func (dr *deviceRules) addPoint(point string, in *instance) {
	for i := range dr.byPoint {
		if dr.byPoint[i].point == point {
			dr.byPoint[i].instances = append(dr.byPoint[i].instances, in)
			return
		}
	}
	dr.byPoint = append(dr.byPoint, pointRules{point: point, instances: []*instance{in}})
}

// forPoint returns the instances point wakes.
func (dr *deviceRules) forPoint(point string) []*instance {
	for i := range dr.byPoint {
		if dr.byPoint[i].point == point {
			return dr.byPoint[i].instances
		}
	}
	return nil
}

// Engine evaluates every rule against what the devices report. It is not
// safe for concurrent use: one goroutine (the bus follower) feeds it.
type Engine struct {
	devices map[string]*deviceRules
	timed   []*instance
	all     []*instance
	groups  []group
	// groupsOf indexes groups by member device (see feedGroups).
	groupsOf map[string][]group
	// MaxFuture is how far ahead of now a reading's time may be before it
	// is taken as bad (a device with a wrong clock).
	MaxFuture time.Duration
}

// New compiles rules against the devices they select. Every rule must
// already have passed Validate; New checks what needs the devices (a rule
// that selects none is an error, naming the rule).
func New(rules []Rule, devices []shouwang.Device) (*Engine, error) {
	e := &Engine{devices: map[string]*deviceRules{}, MaxFuture: 5 * time.Minute}
	byID := make(map[string]*shouwang.Device, len(devices))
	for i := range devices {
		byID[devices[i].ID] = &devices[i]
	}
	for i := range rules {
		r := &rules[i]
		t, ok := types[r.Type]
		if !ok {
			return nil, ruleErr(r, "type %q is not built into this gateway", r.Type)
		}
		if t.newChecker == nil { // group rules (confirm) work on changes, not devices
			if err := e.addGroups(r, t, devices, byID); err != nil {
				return nil, err
			}
			continue
		}
		n := 0
		for _, d := range candidates(&r.Select, devices, byID) {
			if !r.Select.Match(d) {
				continue
			}
			n++
			in := &instance{rule: r, device: d.ID, check: t.newChecker(r, d)}
			e.all = append(e.all, in)
			dr := e.devices[d.ID]
			if dr == nil {
				dr = &deviceRules{}
				e.devices[d.ID] = dr
			}
			if pts := t.points(r); pts == nil {
				dr.anyPoint = append(dr.anyPoint, in)
			} else {
				for _, p := range pts {
					dr.addPoint(p, in)
				}
			}
			dr.events = append(dr.events, in)
			if t.timed || r.OnDelay > 0 || r.OffDelay > 0 {
				e.timed = append(e.timed, in)
			}
		}
		if n == 0 {
			return nil, ruleErr(r, "selects no device")
		}
	}
	return e, nil
}

// candidates are the devices a selector could match: the ones it names, or
// all of them.
func candidates(s *Selector, devices []shouwang.Device, byID map[string]*shouwang.Device) []*shouwang.Device {
	var out []*shouwang.Device
	if len(s.Devices) > 0 {
		for _, id := range s.Devices {
			if d := byID[id]; d != nil {
				out = append(out, d)
			}
		}
		return out
	}
	out = make([]*shouwang.Device, len(devices))
	for i := range devices {
		out[i] = &devices[i]
	}
	return out
}

// Reading evaluates a reading and appends the changes it causes to dst. A
// reading that is not good, is NaN or infinite, or comes from further in
// the future than MaxFuture neither raises nor clears anything.
func (e *Engine) Reading(dst []Change, r *shouwang.Reading, now time.Time) []Change {
	from := len(dst)
	dr := e.devices[r.Device]
	if dr == nil || r.Quality != shouwang.Good || math.IsNaN(r.Value) || math.IsInf(r.Value, 0) ||
		r.Time.Sub(now) > e.MaxFuture {
		return dst
	}
	for _, in := range dr.forPoint(r.Point) {
		dst = in.apply(dst, in.check.reading(r, now), now, true)
	}
	for _, in := range dr.anyPoint {
		dst = in.apply(dst, in.check.reading(r, now), now, true)
	}
	return e.feedGroups(dst, from, now)
}

// Event evaluates a device event and appends the changes it causes.
func (e *Engine) Event(dst []Change, ev *shouwang.Event, now time.Time) []Change {
	from := len(dst)
	dr := e.devices[ev.Device]
	if dr == nil {
		return dst
	}
	for _, in := range dr.events {
		if c, ok := in.check.event(ev, now); ok {
			dst = in.apply(dst, c, now, true)
		}
	}
	return e.feedGroups(dst, from, now)
}

// Tick moves time on: delays run out, stale devices go stale, exposures
// accumulate. Call it every second or so.
func (e *Engine) Tick(dst []Change, now time.Time) []Change {
	from := len(dst)
	for _, in := range e.timed {
		c, ok := in.check.tick(now)
		switch {
		case ok:
			dst = in.apply(dst, c, now, false)
		case in.pending:
			dst = in.apply(dst, in.pendingCond, now, false)
		}
	}
	return e.feedGroups(dst, from, now)
}

// Active returns every (rule, device) whose condition holds now, for a
// console that starts after the engine.
func (e *Engine) Active() []Change {
	var out []Change
	for _, in := range e.all {
		if in.state.active {
			out = append(out, in.change(in.state, time.Time{}))
		}
	}
	for _, g := range e.groups {
		if c, ok := g.active(); ok {
			out = append(out, c)
		}
	}
	return out
}

// Restore tells the engine which conditions held before a restart (the
// open alarms the journal brought back; now is the time of the restart).
// A restored condition holds until what the engine sees after the restart
// says it has cleared, and is not raised again meanwhile: each rule type
// takes it for its own (see restorer), and a confirmation rule counts the
// restored conditions of its members and holds its own. A checker's own
// history (a partial dose, a rate window, the latest values) does not
// survive the restart, nor does a pending on_delay or off_delay: they start
// over after it. Changes that are not Active, or name a rule or device the
// engine does not have, are ignored.
func (e *Engine) Restore(active []Change, now time.Time) {
	for _, c := range active {
		if !c.Active {
			continue
		}
		restored := false
		if dr := e.devices[c.Device]; dr != nil {
			for _, in := range dr.events { // every instance on the device
				if in.rule.ID != c.Rule {
					continue
				}
				in.state = cond{active: true, severity: c.Severity, level: c.Level, point: c.Point, value: c.Value, detail: c.Detail}
				in.pending = false
				if r, ok := in.check.(restorer); ok {
					r.restore(in.state, now)
				}
				restored = true
			}
		}
		if restored {
			for _, g := range e.groupsOf[c.Device] {
				g.restoreMember(c, now)
			}
			continue
		}
		for _, g := range e.groups {
			if g.restore(c) {
				break
			}
		}
	}
}

// ReplayEvents feeds rule's instance on device the events the device
// reported before a restart, oldest first, each at its own time; call it
// after Restore, for each restored condition, with the events since the
// condition went active (the history store keeps them). A clear whose
// off_delay was still running at the restart is not journaled; replayed,
// it runs out at the next Tick. Only this one rule sees the events: the
// device's other rules acted on them before the restart.
func (e *Engine) ReplayEvents(dst []Change, rule, device string, evs []shouwang.Event) []Change {
	dr := e.devices[device]
	if dr == nil || len(evs) == 0 {
		return dst
	}
	from := len(dst)
	for _, in := range dr.events {
		if in.rule.ID != rule {
			continue
		}
		for i := range evs {
			if c, ok := in.check.event(&evs[i], evs[i].Time); ok {
				dst = in.apply(dst, c, evs[i].Time, true)
			}
		}
	}
	return e.feedGroups(dst, from, evs[len(evs)-1].Time)
}

// A restorer is a checker whose own state must agree with a condition
// that held before a restart (Engine.Restore), so that it holds that
// condition until the readings or events after the restart say it has
// cleared. c is active; what the checker had seen before the restart (a
// dose, a rate window, the latest values) is gone.
type restorer interface {
	restore(c cond, now time.Time)
}

var (
	_ restorer = (*threshold)(nil)
	_ restorer = (*exposure)(nil)
	_ restorer = (*rate)(nil)
	_ restorer = (*eventRule)(nil)
	_ restorer = (*stale)(nil)
	_ restorer = (*expression)(nil)
)

// apply passes a checker's condition through the rule's on- and
// off-delays and reports a change once it is due. sample says the
// condition came from a reading or event (it counts towards on_samples).
func (in *instance) apply(dst []Change, c cond, now time.Time, sample bool) []Change {
	if c.same(in.state) {
		in.pending = false
		if c.active {
			in.state.value, in.state.point = c.value, c.point
		}
		return dst
	}
	if !in.pending || !c.same(in.pendingCond) {
		in.pending, in.pendingCond, in.pendingSince, in.pendingSamples = true, c, now, 0
	}
	in.pendingCond.value, in.pendingCond.point = c.value, c.point
	if sample {
		in.pendingSamples++
	}
	r := in.rule
	var due bool
	if c.active && (!in.state.active || c.severity > in.state.severity) {
		due = in.pendingSamples >= r.OnSamples && now.Sub(in.pendingSince) >= r.OnDelay
	} else {
		due = now.Sub(in.pendingSince) >= r.OffDelay
	}
	if !due {
		return dst
	}
	in.pending = false
	in.state = in.pendingCond
	return append(dst, in.change(in.state, now))
}

func (in *instance) change(c cond, now time.Time) Change {
	return Change{Rule: in.rule.ID, Device: in.device, Active: c.active, Severity: c.severity, Level: c.level,
		Point: c.point, Value: c.value, Detail: c.detail, Time: now, Latch: in.rule.Latch}
}

// String is for test failures.
func (c Change) String() string {
	state := "normal"
	if c.Active {
		state = c.Severity.String() + "/" + c.Level
	}
	return fmt.Sprintf("%s@%s %s %s=%g at %s", c.Rule, c.Device, state, c.Point, c.Value, c.Time.Format("15:04:05.000"))
}
