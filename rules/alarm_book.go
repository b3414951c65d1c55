package rules

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// AlarmBook holds every alarm episode and moves it through its lifecycle.
// It is pure logic: the engine's Changes, the operators' steps and Tick
// drive it, each with the time passed in, and each returns the
// Transitions the gateway journals and delivers. The same calls in the
// same order give the same Transitions.
//
// It is not safe for concurrent use: the gateway serialises calls and
// journals what each returns before the next, so the journal's order is
// the book's.
type AlarmBook struct {
	cfg    AlarmConfig
	nextID uint64
	held   []*Alarm // open, then closed until TakeClosed; by id
	byID   map[uint64]*Alarm
	open   map[alarmKey]*Alarm
}

type alarmKey struct{ rule, device string }

// NewAlarmBook returns an empty book with the policy cfg, or cfg's
// problems as shouwang.FieldErrors.
func NewAlarmBook(cfg AlarmConfig) (*AlarmBook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Escalation = slices.Clone(cfg.Escalation)
	return &AlarmBook{cfg: cfg, nextID: 1, byID: map[uint64]*Alarm{}, open: map[alarmKey]*Alarm{}}, nil
}

// Apply records a change of condition and appends what it causes to dst.
// A change to active raises a new alarm when the rule has none open on the
// device; otherwise it updates the open one, which may reopen a resolved
// alarm (see the state table). A return to normal with no alarm open, or
// a change that changes nothing, appends nothing. c.Time is not used:
// now is the book's clock, the same as Tick's and the operators'.
func (b *AlarmBook) Apply(dst []Transition, c Change, now time.Time) []Transition {
	a := b.open[alarmKey{c.Rule, c.Device}]
	if a == nil {
		if !c.Active {
			return dst
		}
		return b.raise(dst, c, now)
	}
	a.Latch = a.Latch || c.Latch
	shelved := a.Shelved()
	switch {
	case c.Active && !a.Active:
		wasChattering := a.Chattering
		b.setCondition(a, c)
		a.Active, a.Latched, a.ActiveSince = true, false, now
		if a.State == StateResolved {
			b.reopen(a, now)
		}
		tripped := b.activation(a, now)
		dst = b.emit(dst, a, KindReactivated, "", "", now, !shelved && !wasChattering)
		if tripped {
			dst = b.emit(dst, a, KindChattering, "", "", now, !shelved)
		}
	case c.Active:
		if c.Severity == a.Severity && c.Level == a.Level {
			return dst
		}
		rose := c.Severity > a.Severity
		b.setCondition(a, c)
		if rose && a.State == StateResolved {
			b.reopen(a, now)
		}
		dst = b.emit(dst, a, KindUpdated, "", "", now, rose && !shelved)
	case a.Active:
		a.Active, a.ReturnedAt = false, now
		a.Latched = a.Latch
		if c.Point != "" {
			a.Point, a.Value = c.Point, c.Value
		}
		dst = b.emit(dst, a, KindReturned, "", "", now, false)
	}
	return dst
}

func (b *AlarmBook) raise(dst []Transition, c Change, now time.Time) []Transition {
	a := &Alarm{ID: b.nextID, Rule: c.Rule, Device: c.Device, Latch: c.Latch, Active: true,
		RaisedAt: now, ActiveSince: now, State: StateRaised, Escalation: 1, Reached: 1}
	b.nextID++
	b.setCondition(a, c)
	a.EscalateAt = b.escalateAt(a, now)
	b.activation(a, now)
	b.held = append(b.held, a)
	b.byID[a.ID] = a
	b.open[alarmKey{a.Rule, a.Device}] = a
	return b.emit(dst, a, KindRaised, "", "", now, true)
}

func (b *AlarmBook) setCondition(a *Alarm, c Change) {
	a.Severity, a.Level, a.Point, a.Value = c.Severity, c.Level, c.Point, c.Value
	if c.Detail != nil {
		a.Detail = c.Detail
	}
	a.Peak = max(a.Peak, c.Severity)
}

// reopen sends a resolved alarm whose condition came back or worsened to
// the start of the workflow: someone must acknowledge it again, and its
// escalation starts over from level 1.
func (b *AlarmBook) reopen(a *Alarm, now time.Time) {
	a.State = StateRaised
	a.Reopened++
	a.Acknowledged, a.Dispatched, a.Resolved = Mark{}, Mark{}, Mark{}
	a.Escalation = 1
	a.EscalateAt = b.escalateAt(a, now)
}

// escalateAt is when a raised alarm that is at its level from now on
// reaches the next one, or zero when it does not (shelved, at the top).
func (b *AlarmBook) escalateAt(a *Alarm, from time.Time) time.Time {
	if a.State != StateRaised || a.Shelved() || a.Escalation > len(b.cfg.Escalation) {
		return time.Time{}
	}
	return from.Add(b.cfg.Escalation[a.Escalation-1])
}

// activation records that the condition went active at now and says
// whether that made the alarm chattering.
func (b *AlarmBook) activation(a *Alarm, now time.Time) (tripped bool) {
	n := b.cfg.ChatterCount
	if n == 0 {
		return false
	}
	recent := a.Activations[:0]
	for _, t := range a.Activations {
		if now.Sub(t) <= b.cfg.ChatterWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) >= n {
		recent = slices.Delete(recent, 0, len(recent)-n+1)
	}
	a.Activations = append(recent, now)
	if !a.Chattering && len(a.Activations) >= n {
		a.Chattering = true
		return true
	}
	return false
}

func (b *AlarmBook) emit(dst []Transition, a *Alarm, k TransitionKind, operator, note string, now time.Time, announce bool) []Transition {
	return append(dst, b.transition(a, k, operator, note, now, announce))
}

func (b *AlarmBook) transition(a *Alarm, k TransitionKind, operator, note string, now time.Time, announce bool) Transition {
	a.Seq++
	return Transition{AlarmID: a.ID, Seq: a.Seq, Kind: k, Time: now,
		Rule: a.Rule, Device: a.Device, Severity: a.Severity, Peak: a.Peak, Level: a.Level, Point: a.Point,
		Value: a.Value, Detail: a.Detail, Active: a.Active, Latched: a.Latched,
		State: a.State, Escalation: a.Escalation, Reached: a.MaxLevel(), Chattering: a.Chattering, ShelvedUntil: a.Shelf.Until,
		Operator: operator, Note: note, Announce: announce}
}

// Tick moves time on and appends what it causes: shelving that ran out
// (announced again if the condition is active), escalations due (one per
// level, in order, even when Tick comes late), and chattering that ended.
// Call it every second or so.
func (b *AlarmBook) Tick(dst []Transition, now time.Time) []Transition {
	for _, a := range b.held {
		if !a.Open() {
			continue
		}
		if a.Shelved() && !now.Before(a.Shelf.Until) {
			b.unshelve(a, now)
			dst = b.emit(dst, a, KindUnshelved, "", "shelving expired", now, a.Active)
		}
		for !a.EscalateAt.IsZero() && !now.Before(a.EscalateAt) {
			due := a.EscalateAt
			a.Escalation++
			a.Reached = max(a.Reached, a.Escalation)
			a.EscalateAt = b.escalateAt(a, due) // anchored to when it was due, not to a late tick
			dst = b.emit(dst, a, KindEscalated, "", "", now, true)
		}
		if a.Chattering && now.Sub(a.ActiveSince) >= b.cfg.ChatterWindow {
			a.Chattering = false
			dst = b.emit(dst, a, KindChatterEnded, "", "", now, false)
		}
	}
	return dst
}

func (b *AlarmBook) unshelve(a *Alarm, now time.Time) {
	a.Shelf = Shelving{}
	a.EscalateAt = b.escalateAt(a, now) // the held level's delay starts over
}

// step finds alarm id and checks that operator may take act on it now.
func (b *AlarmBook) step(id uint64, act Action, operator string) (*Alarm, error) {
	a := b.byID[id]
	if a == nil {
		return nil, noAlarm(id)
	}
	if operator == "" {
		return nil, inputErr("cannot %s alarm %d: the operator's name is missing", act, id)
	}
	if ok, why := a.can(act); !ok {
		return nil, refuse(a, act, why)
	}
	return a, nil
}

// Acknowledge records that operator took a raised alarm (also one whose
// condition already returned to normal). It stops escalation. Errors:
// ErrNoAlarm, ErrInvalidInput (no operator), ErrInvalidStep (*StepError).
func (b *AlarmBook) Acknowledge(id uint64, operator, note string, now time.Time) (Transition, error) {
	a, err := b.step(id, ActionAcknowledge, operator)
	if err != nil {
		return Transition{}, err
	}
	a.State, a.Acknowledged = StateAcknowledged, Mark{operator, note, now}
	if a.FirstAck.IsZero() {
		a.FirstAck = now
	}
	a.EscalateAt = time.Time{}
	return b.transition(a, KindAcknowledged, operator, note, now, false), nil
}

// Dispatch records that someone was sent to an acknowledged alarm. Errors
// as for Acknowledge.
func (b *AlarmBook) Dispatch(id uint64, operator, note string, now time.Time) (Transition, error) {
	a, err := b.step(id, ActionDispatch, operator)
	if err != nil {
		return Transition{}, err
	}
	a.State, a.Dispatched = StateDispatched, Mark{operator, note, now}
	return b.transition(a, KindDispatched, operator, note, now, false), nil
}

// Resolve records how an acknowledged or dispatched alarm was dealt with;
// the note saying so is required. The condition may still be active (a
// flat being aired); if it comes back or worsens, the alarm reopens.
// Errors as for Acknowledge, and ErrInvalidInput without a note.
func (b *AlarmBook) Resolve(id uint64, operator, note string, now time.Time) (Transition, error) {
	a, err := b.step(id, ActionResolve, operator)
	if err != nil {
		return Transition{}, err
	}
	if note == "" {
		return Transition{}, inputErr("cannot resolve alarm %d: say in the note what was found and done", id)
	}
	a.State, a.Resolved = StateResolved, Mark{operator, note, now}
	return b.transition(a, KindResolved, operator, note, now, false), nil
}

// Close ends a resolved alarm whose condition has returned to normal and,
// if it latched, has been reset. The closed alarm stays in the book (Get,
// List) until TakeClosed; the rule's next activation raises a new alarm.
// Errors as for Acknowledge.
func (b *AlarmBook) Close(id uint64, operator, note string, now time.Time) (Transition, error) {
	a, err := b.step(id, ActionClose, operator)
	if err != nil {
		return Transition{}, err
	}
	a.State, a.Closed = StateClosed, Mark{operator, note, now}
	a.Shelf, a.EscalateAt = Shelving{}, time.Time{}
	delete(b.open, alarmKey{a.Rule, a.Device})
	return b.transition(a, KindClosed, operator, note, now, false), nil
}

// Reset releases a latched alarm once its condition has returned to
// normal and it has been acknowledged. Errors as for Acknowledge.
func (b *AlarmBook) Reset(id uint64, operator, note string, now time.Time) (Transition, error) {
	a, err := b.step(id, ActionReset, operator)
	if err != nil {
		return Transition{}, err
	}
	a.Latched, a.Reset = false, Mark{operator, note, now}
	return b.transition(a, KindReset, operator, note, now, false), nil
}

// Shelve holds an open alarm's announcements and escalation until until,
// at most MaxShelve from now; condition changes are still recorded. The
// reason is required. Errors as for Acknowledge, and ErrInvalidInput for
// a missing reason or an until out of range.
func (b *AlarmBook) Shelve(id uint64, operator, reason string, until, now time.Time) (Transition, error) {
	a, err := b.step(id, ActionShelve, operator)
	if err != nil {
		return Transition{}, err
	}
	switch {
	case reason == "":
		return Transition{}, inputErr("cannot shelve alarm %d: a reason is required", id)
	case !until.After(now):
		return Transition{}, inputErr("cannot shelve alarm %d until %s: that is not after now (%s)", id,
			until.Format(time.DateTime), now.Format(time.DateTime))
	case until.Sub(now) > b.cfg.MaxShelve:
		return Transition{}, inputErr("cannot shelve alarm %d for %s: the most is %s (until %s)", id,
			until.Sub(now), b.cfg.MaxShelve, now.Add(b.cfg.MaxShelve).Format(time.DateTime))
	}
	a.Shelf = Shelving{Operator: operator, Reason: reason, Since: now, Until: until}
	a.EscalateAt = time.Time{}
	return b.transition(a, KindShelved, operator, reason, now, false), nil
}

// Unshelve ends shelving before it runs out; the transition is announced
// if the condition is active. A raised alarm's escalation resumes at its
// level, with that level's full delay. Errors as for Acknowledge.
func (b *AlarmBook) Unshelve(id uint64, operator, note string, now time.Time) (Transition, error) {
	a, err := b.step(id, ActionUnshelve, operator)
	if err != nil {
		return Transition{}, err
	}
	b.unshelve(a, now)
	return b.transition(a, KindUnshelved, operator, note, now, a.Active), nil
}

// Get returns a copy of alarm id, open or closed but not yet taken, or
// ErrNoAlarm.
func (b *AlarmBook) Get(id uint64) (Alarm, error) {
	if a := b.byID[id]; a != nil {
		return a.clone(), nil
	}
	return Alarm{}, noAlarm(id)
}

// List returns copies of the alarms keep accepts (all when keep is nil),
// by id. keep must not modify the alarm it is given.
func (b *AlarmBook) List(keep func(*Alarm) bool) []Alarm {
	var out []Alarm
	for _, a := range b.held {
		if keep == nil || keep(a) {
			out = append(out, a.clone())
		}
	}
	return out
}

// Open returns copies of the open alarms, by id.
func (b *AlarmBook) Open() []Alarm { return b.List((*Alarm).Open) }

// TakeClosed removes the closed alarms from the book and returns them, for
// the gateway's history.
func (b *AlarmBook) TakeClosed() []Alarm {
	var closed []Alarm
	b.held = slices.DeleteFunc(b.held, func(a *Alarm) bool {
		if a.Open() {
			return false
		}
		closed = append(closed, a.clone())
		delete(b.byID, a.ID)
		return true
	})
	return closed
}

// AlarmSnapshot is a book's whole state: what Restore needs to continue
// exactly where Snapshot was taken.
type AlarmSnapshot struct {
	NextID uint64  `json:"next_id"`
	Alarms []Alarm `json:"alarms"` // open, and closed ones not yet taken, by id
}

// Snapshot returns a copy of the book's state.
func (b *AlarmBook) Snapshot() AlarmSnapshot {
	return AlarmSnapshot{NextID: b.nextID, Alarms: b.List(nil)}
}

// Restore replaces the book's state with s, which a Snapshot gave (the
// policy stays the book's own). It reports every inconsistency in s and
// leaves the book unchanged if there is one.
func (b *AlarmBook) Restore(s AlarmSnapshot) error {
	var errs []error
	held := make([]*Alarm, 0, len(s.Alarms))
	byID := make(map[uint64]*Alarm, len(s.Alarms))
	open := make(map[alarmKey]*Alarm, len(s.Alarms))
	for i := range s.Alarms {
		a := s.Alarms[i].clone()
		switch {
		case a.ID == 0 || a.ID >= s.NextID:
			errs = append(errs, fmt.Errorf("alarm %d: id not below the next id %d", a.ID, s.NextID))
		case byID[a.ID] != nil:
			errs = append(errs, fmt.Errorf("alarm %d: listed twice", a.ID))
		case a.State > StateClosed:
			errs = append(errs, fmt.Errorf("alarm %d: workflow state %d is not defined", a.ID, a.State))
		case a.Escalation < 1:
			errs = append(errs, fmt.Errorf("alarm %d: escalation level %d is below 1", a.ID, a.Escalation))
		case a.Open() && open[alarmKey{a.Rule, a.Device}] != nil:
			errs = append(errs, fmt.Errorf("alarm %d: rule %q on device %q already has alarm %d open", a.ID,
				a.Rule, a.Device, open[alarmKey{a.Rule, a.Device}].ID))
		default:
			held = append(held, &a)
			byID[a.ID] = &a
			if a.Open() {
				open[alarmKey{a.Rule, a.Device}] = &a
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("alarm snapshot: %w", errors.Join(errs...))
	}
	slices.SortFunc(held, func(x, y *Alarm) int { return cmp.Compare(x.ID, y.ID) })
	b.nextID, b.held, b.byID, b.open = s.NextID, held, byID, open
	return nil
}
