package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// The alarm lifecycle, as ISA-18.2 has it, keeps the condition apart from
// the workflow. The condition (active, returned to normal) comes from the
// engine's Changes; the workflow is what the police room does:
//
//	from            operator step           to             only if
//	raised          acknowledge             acknowledged
//	acknowledged    dispatch                dispatched
//	acknowledged    resolve (note)          resolved       (settled without sending anyone)
//	dispatched      resolve (note)          resolved
//	resolved        close                   closed         condition normal, and reset if latched
//	ack'd/disp'd/   reset                   (same)         latched: the rule latches, its condition
//	resolved                                               returned to normal, not reset since
//	any open        shelve (reason, until)  (same)         not shelved; until within MaxShelve
//	any open        unshelve                (same)         shelved
//
//	from            condition change                       to
//	resolved        active again, or a higher severity     raised (reopened: acknowledge again,
//	                                                       escalation from level 1)
//	any open        any other change                       (same)
//	none open       active                                 raised (a new alarm, a new id)
//
// An alarm whose condition returns to normal before anyone acknowledged it
// stays raised (ISA "RTN unacknowledged") and must still be acknowledged,
// resolved and closed. Once closed, the next activation of the same rule on
// the same device raises a new alarm with a new id.

// AlarmConfig is the police room's alarm policy.
type AlarmConfig struct {
	// MaxShelve is the longest an operator may shelve an alarm for.
	MaxShelve time.Duration `yaml:"max_shelve"`
	// Escalation are the delays between escalation levels. An alarm is
	// raised at level 1 (the community police room); while it stays
	// unacknowledged it reaches level 2 after Escalation[0] at level 1,
	// level 3 after Escalation[1] more at level 2, and so on up to level
	// len(Escalation)+1. [2m, 5m, 10m] reaches level 2 at raise+2m, level 3
	// at raise+7m and level 4 at raise+17m. Empty: no escalation.
	Escalation []time.Duration `yaml:"escalation"`
	// ChatterCount activations within ChatterWindow make an alarm
	// chattering; the flag clears after ChatterWindow without one. Zero
	// turns chattering detection off.
	ChatterCount  int           `yaml:"chatter_count"`
	ChatterWindow time.Duration `yaml:"chatter_window"`
}

// DefaultAlarmConfig is the policy the gateway starts from: shelving for at
// most 8h, escalation after 2m, 5m and 10m, chattering at 3 activations in
// 60s (the usual ISA-18.2 figure).
func DefaultAlarmConfig() AlarmConfig {
	return AlarmConfig{
		MaxShelve:     8 * time.Hour,
		Escalation:    []time.Duration{2 * time.Minute, 5 * time.Minute, 10 * time.Minute},
		ChatterCount:  3,
		ChatterWindow: time.Minute,
	}
}

// Validate reports every problem with the policy as shouwang.FieldErrors.
func (c *AlarmConfig) Validate() error {
	var fe shouwang.FieldErrors
	if c.MaxShelve <= 0 {
		fe.Add("max_shelve", "must be a positive duration (e.g. 8h)")
	}
	for i, d := range c.Escalation {
		if d <= 0 {
			fe.Add(fmt.Sprintf("escalation[%d]", i), "must be a positive duration (e.g. 2m)")
		}
	}
	switch {
	case c.ChatterCount < 0 || c.ChatterCount == 1:
		fe.Add("chatter_count", "%d: must be 2 or more, or 0 to turn chattering detection off (ISA-18.2 uses 3)", c.ChatterCount)
	case c.ChatterCount > 0 && c.ChatterWindow <= 0:
		fe.Add("chatter_window", "must be a positive duration when chatter_count is set (e.g. 60s)")
	}
	return fe.Err()
}

// WorkflowState is where an alarm is in the police room's workflow.
type WorkflowState uint8

// Workflow states, in the order an alarm normally goes through them.
const (
	StateRaised WorkflowState = iota
	StateAcknowledged
	StateDispatched
	StateResolved
	StateClosed
)

var stateNames = [...]string{"raised", "acknowledged", "dispatched", "resolved", "closed"}

func (s WorkflowState) String() string { return enumName(stateNames[:], int(s)) }

// MarshalText writes the state's name, for JSON and the journal.
func (s WorkflowState) MarshalText() ([]byte, error) {
	return enumMarshal(stateNames[:], int(s), "state")
}

// UnmarshalText reads a state's name.
func (s *WorkflowState) UnmarshalText(b []byte) error {
	return enumUnmarshal(stateNames[:], b, "state", s)
}

// TransitionKind says what happened to an alarm.
type TransitionKind uint8

// Transition kinds. Raised, Reactivated, Updated and Returned come from
// the condition; Acknowledged to Unshelved from operators (Unshelved also
// from Tick when shelving runs out); Escalated, Chattering and ChatterEnded
// from Tick or the condition's pattern.
const (
	KindRaised       TransitionKind = iota // a new alarm: the condition went active with none open
	KindReactivated                        // the condition went active again while the alarm is open
	KindUpdated                            // still active, at another severity or level
	KindReturned                           // the condition returned to normal
	KindAcknowledged                       // an operator took the alarm
	KindDispatched                         // someone was sent
	KindResolved                           // the cause was dealt with
	KindClosed                             // the loop is closed; the alarm is done
	KindReset                              // a latched alarm was reset after its condition returned to normal
	KindShelved                            // announcements held until the shelf's end
	KindUnshelved                          // announcements again, by an operator or because shelving expired
	KindEscalated                          // unacknowledged too long: Escalation holds the new level
	KindChattering                         // ChatterCount activations within ChatterWindow
	KindChatterEnded                       // no activation for ChatterWindow
)

var kindNames = [...]string{"raised", "reactivated", "updated", "returned", "acknowledged", "dispatched",
	"resolved", "closed", "reset", "shelved", "unshelved", "escalated", "chattering", "chatter_ended"}

func (k TransitionKind) String() string { return enumName(kindNames[:], int(k)) }

// MarshalText writes the kind's name, for JSON and the journal.
func (k TransitionKind) MarshalText() ([]byte, error) {
	return enumMarshal(kindNames[:], int(k), "kind")
}

// UnmarshalText reads a kind's name.
func (k *TransitionKind) UnmarshalText(b []byte) error {
	return enumUnmarshal(kindNames[:], b, "kind", k)
}

// Action is an operator step on an alarm.
type Action uint8

// Operator actions.
const (
	ActionAcknowledge Action = iota
	ActionDispatch
	ActionResolve
	ActionClose
	ActionReset
	ActionShelve
	ActionUnshelve
)

var (
	actionNames = [...]string{"acknowledge", "dispatch", "resolve", "close", "reset", "shelve", "unshelve"}
	actionDone  = [...]string{"acknowledged", "dispatched", "resolved", "closed", "reset", "shelved", "unshelved"}
)

func (a Action) String() string { return enumName(actionNames[:], int(a)) }

// MarshalText writes the action's name, for the console's buttons.
func (a Action) MarshalText() ([]byte, error) { return enumMarshal(actionNames[:], int(a), "action") }

// UnmarshalText reads an action's name.
func (a *Action) UnmarshalText(b []byte) error { return enumUnmarshal(actionNames[:], b, "action", a) }

func enumName(names []string, i int) string {
	if i < len(names) {
		return names[i]
	}
	return "unknown"
}

func enumMarshal(names []string, i int, what string) ([]byte, error) {
	if i < len(names) {
		return []byte(names[i]), nil
	}
	return nil, fmt.Errorf("%s %d is not defined", what, i)
}

func enumUnmarshal[T ~uint8](names []string, b []byte, what string, dst *T) error {
	if i := slices.Index(names, string(b)); i >= 0 {
		*dst = T(i)
		return nil
	}
	return fmt.Errorf("%q is not an alarm %s (want one of %s)", b, what, strings.Join(names, ", "))
}

// Mark records an operator's step: who, when, and what they wrote.
type Mark struct {
	Operator string    `json:"operator,omitempty"`
	Note     string    `json:"note,omitempty"`
	Time     time.Time `json:"time,omitzero"`
}

// Shelving holds an alarm's announcements for a bounded time.
type Shelving struct {
	Operator string    `json:"operator,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	Until    time.Time `json:"until,omitzero"`
}

// Alarm is one alarm episode of one rule on one device, from the moment
// its condition goes active until an operator closes it. Every field is
// state: a snapshot of Alarms restores a book exactly.
type Alarm struct {
	ID     uint64 `json:"id"`
	Rule   string `json:"rule"`
	Device string `json:"device"`

	// The condition, as the engine last reported it. Severity and Level
	// stay at the last active ones once the condition returns to normal.
	Active   bool              `json:"active"`
	Severity shouwang.Severity `json:"severity"`
	Peak     shouwang.Severity `json:"peak"` // the highest severity of the episode
	Level    string            `json:"level"`
	Point    string            `json:"point,omitempty"`
	Value    float64           `json:"value"`
	// Detail is what the event that last raised the alarm said beyond its
	// kind: the floor and window a throw came from, its evidence.
	Detail map[string]string `json:"detail,omitempty"`
	// Latch says the rule latches; Latched that the condition returned to
	// normal and the alarm waits for an operator's reset.
	Latch   bool `json:"latch,omitempty"`
	Latched bool `json:"latched,omitempty"`

	RaisedAt    time.Time   `json:"raised_at"`
	ActiveSince time.Time   `json:"active_since"`          // when the condition last went active
	ReturnedAt  time.Time   `json:"returned_at,omitzero"`  // when it last returned to normal
	Activations []time.Time `json:"activations,omitempty"` // the last few activations, oldest first, for chattering
	Chattering  bool        `json:"chattering,omitempty"`

	State        WorkflowState `json:"state"`
	Acknowledged Mark          `json:"acknowledged,omitzero"`
	Dispatched   Mark          `json:"dispatched,omitzero"`
	Resolved     Mark          `json:"resolved,omitzero"`
	Closed       Mark          `json:"closed,omitzero"`
	Reset        Mark          `json:"reset,omitzero"` // the last reset
	// FirstAck is the first acknowledgement, kept when a resolved alarm is
	// reopened (the marks above are the current pass through the workflow).
	FirstAck time.Time `json:"first_ack,omitzero"`
	Reopened int       `json:"reopened,omitempty"`
	Shelf    Shelving  `json:"shelf,omitzero"` // zero when not shelved

	// Escalation is the level reached, from 1; EscalateAt is when the next
	// one is due, zero when none is (acknowledged, shelved, or at the top).
	Escalation int       `json:"escalation"`
	EscalateAt time.Time `json:"escalate_at,omitzero"`
	// Reached is the highest level of the alarm's life: a reopened alarm
	// starts escalating at 1 again, but whoever was called at a higher
	// level still follows it. 0 in journals from before it was kept: read
	// it with MaxLevel.
	Reached int `json:"reached,omitempty"`

	Seq uint64 `json:"seq"` // of the alarm's last Transition
}

// Shelved says whether the alarm's announcements are held.
func (a *Alarm) Shelved() bool { return !a.Shelf.Until.IsZero() }

// Open says the alarm is not closed yet.
func (a *Alarm) Open() bool { return a.State != StateClosed }

// Actions lists the steps an operator may take on the alarm now, for the
// console's buttons.
func (a *Alarm) Actions() []Action {
	var out []Action
	for act := range Action(len(actionNames)) {
		if ok, _ := a.can(act); ok {
			out = append(out, act)
		}
	}
	return out
}

// can says whether act is allowed now and, when the state alone does not
// explain a refusal, why not.
func (a *Alarm) can(act Action) (ok bool, why string) {
	if a.State == StateClosed {
		return false, ""
	}
	switch act {
	case ActionAcknowledge:
		return a.State == StateRaised, ""
	case ActionDispatch:
		return a.State == StateAcknowledged, ""
	case ActionResolve:
		return a.State == StateAcknowledged || a.State == StateDispatched, ""
	case ActionClose:
		switch {
		case a.State != StateResolved:
			return false, ""
		case a.Active:
			return false, "its condition is still active"
		case a.Latched:
			return false, "it is latched and needs a reset"
		}
		return true, ""
	case ActionReset:
		switch {
		case !a.Latch:
			return false, "its rule does not latch"
		case a.Active:
			return false, "its condition is still active"
		case !a.Latched:
			return false, "it has already been reset"
		}
		return a.State != StateRaised, ""
	case ActionShelve:
		if a.Shelved() {
			return false, "it is already shelved until " + a.Shelf.Until.Format(time.DateTime)
		}
		return true, ""
	case ActionUnshelve:
		if !a.Shelved() {
			return false, "it is not shelved"
		}
		return true, ""
	}
	return false, ""
}

// clone is a copy that shares nothing with a.
func (a *Alarm) clone() Alarm {
	c := *a
	c.Activations = nil
	if len(a.Activations) > 0 {
		c.Activations = slices.Clone(a.Activations)
	}
	return c
}

// Transition is one thing that happened to an alarm, with the alarm's
// state after it. A journal that stores Transitions in Seq order holds the
// alarm's whole history.
type Transition struct {
	AlarmID uint64         `json:"alarm"`
	Seq     uint64         `json:"seq"` // per alarm, from 1 for KindRaised
	Kind    TransitionKind `json:"kind"`
	Time    time.Time      `json:"time"`

	Rule     string            `json:"rule"`
	Device   string            `json:"device"`
	Severity shouwang.Severity `json:"severity"`
	Peak     shouwang.Severity `json:"peak"`
	Level    string            `json:"level"`
	Point    string            `json:"point,omitempty"`
	Value    float64           `json:"value"`
	Detail   map[string]string `json:"detail,omitempty"`
	Active   bool              `json:"active"`
	Latched  bool              `json:"latched,omitempty"`

	State        WorkflowState `json:"state"`
	Escalation   int           `json:"escalation"`
	Reached      int           `json:"reached,omitempty"` // the highest level of the alarm's life
	Chattering   bool          `json:"chattering,omitempty"`
	ShelvedUntil time.Time     `json:"shelved_until,omitzero"`

	// Operator and Note are the operator's, for operator steps; Tick's
	// unshelve has no operator and the note "shelving expired".
	Operator string `json:"operator,omitempty"`
	Note     string `json:"note,omitempty"`
	// Announce says the gateway should alert people (sound the console,
	// call the duty contacts of the level): true for a raise, a
	// reactivation (unless already chattering), a severity rise, an
	// escalation, chattering, and an unshelve while the condition is
	// active; never while shelved, never for an operator's own step.
	Announce bool `json:"announce"`
}

// String is for logs and test failures.
func (t Transition) String() string {
	s := fmt.Sprintf("alarm %d #%d %s %s@%s %s/%s state=%s L%d at %s", t.AlarmID, t.Seq, t.Kind, t.Rule, t.Device,
		t.Severity, t.Level, t.State, t.Escalation, t.Time.Format(time.DateTime))
	if t.Announce {
		s += " announce"
	}
	return s
}

// MaxLevel is the highest escalation level the alarm has reached.
func (a *Alarm) MaxLevel() int { return max(a.Escalation, a.Reached) }
