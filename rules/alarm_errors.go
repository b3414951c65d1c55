package rules

import (
	"errors"
	"fmt"
	"strings"
)

// Errors the book's operator steps return; the HTTP edge maps them to 404,
// 409 and 400.
var (
	// ErrNoAlarm: no alarm has the id, or it was closed and taken out
	// (TakeClosed); closed alarms are in the gateway's history.
	ErrNoAlarm = errors.New("no such alarm")
	// ErrInvalidStep: the step is not allowed in the alarm's state. The
	// error is a *StepError saying which steps are.
	ErrInvalidStep = errors.New("step not allowed in the alarm's state")
	// ErrInvalidInput: the request itself is wrong (no operator, a shelve
	// without a reason or for too long, a resolve without a note).
	ErrInvalidInput = errors.New("invalid alarm request")
)

// StepError is a step refused in the alarm's current state. It matches
// ErrInvalidStep with errors.Is.
type StepError struct {
	AlarmID uint64
	Action  Action
	State   WorkflowState
	// Allowed are the workflow steps (acknowledge to reset) allowed now.
	Allowed []Action
	msg     string
}

func (e *StepError) Error() string { return e.msg }
func (e *StepError) Unwrap() error { return ErrInvalidStep }

// alarmError is an error with a message of its own that matches a
// sentinel.
type alarmError struct {
	kind error
	msg  string
}

func (e *alarmError) Error() string { return e.msg }
func (e *alarmError) Unwrap() error { return e.kind }

func noAlarm(id uint64) error {
	return &alarmError{kind: ErrNoAlarm, msg: fmt.Sprintf("alarm %d does not exist or is closed and archived", id)}
}

func inputErr(format string, args ...any) error {
	return &alarmError{kind: ErrInvalidInput, msg: fmt.Sprintf(format, args...)}
}

// refuse builds the error for a step a's state does not allow, saying why
// and what can be done instead: "cannot acknowledge: alarm 42 is
// dispatched; it can be resolved".
func refuse(a *Alarm, act Action, why string) *StepError {
	e := &StepError{AlarmID: a.ID, Action: act, State: a.State}
	var done []string
	for step := ActionAcknowledge; step <= ActionReset; step++ {
		if ok, _ := a.can(step); ok {
			e.Allowed = append(e.Allowed, step)
			done = append(done, actionDone[step])
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cannot %s: alarm %d is %s", act, a.ID, a.State)
	if why != "" {
		b.WriteString(", but " + why)
	}
	switch {
	case len(done) > 0:
		b.WriteString("; it can be " + joinOr(done))
	case a.State == StateClosed:
		b.WriteString("; the next activation of its rule raises a new alarm")
	default: // resolved while the condition holds
		b.WriteString("; it can be closed once its condition returns to normal")
	}
	e.msg = b.String()
	return e
}

func joinOr(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
