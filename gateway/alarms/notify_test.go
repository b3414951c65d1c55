package alarms

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/mock"
	"github.com/shouwang-iot/shouwang/rules"
)

// recorder is an in-process notifier for the routing edge cases; the
// real peers are tested in mqtt_test.go and webhook_test.go. It refuses
// the first refuse messages it is offered.
type recorder struct {
	got    chan Message
	refuse int
}

func (r *recorder) Notify(_ context.Context, m Message) error {
	if r.refuse > 0 {
		r.refuse--
		return errors.New("peer down")
	}
	r.got <- m
	return nil
}
func (r *recorder) Close() error { return nil }

func newRecorder() *recorder { return &recorder{got: make(chan Message, 100)} }

// kinds drains what r received until it has n messages.
func (r *recorder) kinds(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		select {
		case m := <-r.got:
			out = append(out, fmt.Sprintf("%s@L%d", m.Kind, m.Escalation))
		case <-time.After(10 * time.Second):
			t.Fatalf("got %v, want %d messages", out, n)
		}
	}
	return out
}

// TestEscalationRouting: the community room hears of the alarm at once,
// the police station once it escalated to level 2 and everything after,
// the next grid's station nothing, the maintenance company only faults.
func TestEscalationRouting(t *testing.T) {
	leakcheck.Check(t)
	fx := openDesk(t, t.TempDir(), mock.NewClock(t0))
	room, station, otherGrid, maintenance := newRecorder(), newRecorder(), newRecorder(), newRecorder()
	station.refuse = 1 // delivered on the second offer, in order
	fx.desk.AddNotifier("room", Route{Grids: []string{"GX-03"}}, room)
	fx.desk.AddNotifier("station", Route{Grids: []string{"GX-03"}, FromLevel: 2}, station)
	fx.desk.AddNotifier("other-grid", Route{Grids: []string{"GX-09"}}, otherGrid)
	fx.desk.AddNotifier("maintenance", Route{Severities: []shouwang.Severity{shouwang.Fault}}, maintenance)
	ctx := context.Background()
	if err := fx.desk.StartNotifiers(ctx); err != nil {
		t.Fatal(err)
	}

	fx.gas(t, 0, 30)
	fx.clock.Set(t0.Add(2 * time.Minute))
	fx.desk.Tick(ctx)
	if _, err := fx.desk.Act(ctx, 1, rules.ActionAcknowledge, "王警官", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	// Resolved while the gas is still there; it clears and comes back: the
	// alarm reopens at level 1, and the station, called at level 2, still
	// hears of it.
	if _, err := fx.desk.Act(ctx, 1, rules.ActionResolve, "王警官", "通风", time.Time{}); err != nil {
		t.Fatal(err)
	}
	fx.gas(t, 3*time.Minute, 0)
	fx.gas(t, 4*time.Minute, 30)
	if got := fmt.Sprint(room.kinds(t, 6)); got != "[raised@L1 escalated@L2 acknowledged@L2 resolved@L2 returned@L2 reactivated@L1]" {
		t.Errorf("room got %s", got)
	}
	if got := fmt.Sprint(station.kinds(t, 5)); got != "[escalated@L2 acknowledged@L2 resolved@L2 returned@L2 reactivated@L1]" {
		t.Errorf("station got %s", got)
	}
	fx.desk.StopNotifiers(ctx)
	if len(otherGrid.got) != 0 || len(maintenance.got) != 0 {
		t.Errorf("the other grid got %d messages and maintenance %d, want none", len(otherGrid.got), len(maintenance.got))
	}
}

// TestNotifierJoinsAtTheEnd: a notifier added to a gateway with history
// is not sent the past; one removed no longer holds the feed back.
func TestNotifierJoinsAtTheEnd(t *testing.T) {
	dir := t.TempDir()
	c := mock.NewClock(t0)
	ctx := context.Background()
	fx := openDesk(t, dir, c)
	fx.desk.AddNotifier("old", Route{}, newRecorder())
	if err := fx.desk.StartNotifiers(ctx); err != nil {
		t.Fatal(err)
	}
	fx.gas(t, 0, 30)
	fx.desk.StopNotifiers(ctx)
	fx.close()

	fx = openDesk(t, dir, c)
	late := newRecorder()
	fx.desk.AddNotifier("late", Route{}, late)
	if err := fx.desk.StartNotifiers(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.desk.Act(ctx, 1, rules.ActionAcknowledge, "王警官", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(late.kinds(t, 1)); got != "[acknowledged@L1]" {
		t.Errorf("late notifier got %s, want only what came after it", got)
	}
	fx.desk.StopNotifiers(ctx)
	var rows int
	if err := fx.desk.journal.db.QueryRow(`SELECT count(*) FROM alarm_feed`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("feed holds %d rows (%v) after every notifier delivered, want 0", rows, err)
	}
}

func TestRouteMatch(t *testing.T) {
	m := func(level int, grid string, sev shouwang.Severity) *Message {
		return &Message{Transition: rules.Transition{Escalation: level, Severity: sev}, Location: shouwang.Location{Grid: grid}}
	}
	for _, tc := range []struct {
		name  string
		route Route
		msg   *Message
		want  bool
	}{
		{"empty route takes all", Route{}, m(1, "", shouwang.Fire), true},
		{"level below", Route{FromLevel: 2}, m(1, "A", shouwang.Alarm), false},
		{"level at", Route{FromLevel: 2}, m(2, "A", shouwang.Alarm), true},
		{"level above", Route{FromLevel: 2}, m(3, "A", shouwang.Alarm), true},
		{"grid in", Route{Grids: []string{"A", "B"}}, m(1, "B", shouwang.Alarm), true},
		{"grid out", Route{Grids: []string{"A"}}, m(1, "B", shouwang.Alarm), false},
		{"device without grid", Route{Grids: []string{"A"}}, m(1, "", shouwang.Alarm), false},
		{"severity out", Route{Severities: []shouwang.Severity{shouwang.Fault}}, m(1, "A", shouwang.Fire), false},
		{"severity in", Route{Severities: []shouwang.Severity{shouwang.Fault}}, m(1, "A", shouwang.Fault), true},
	} {
		if got := tc.route.Match(tc.msg); got != tc.want {
			t.Errorf("%s: Match = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// seeder is a recorder that keeps state (StateKeeper): Seed records the
// open alarms it is given.
type seeder struct {
	*recorder
	seeded []Message
}

func (s *seeder) Seed(_ context.Context, open []Message) error {
	s.seeded = append(s.seeded, open...)
	return nil
}

// TestSeedFollowsTheLevelReached: an alarm that escalated to level 2 and
// was reopened at level 1 is still the police station's after a restart:
// the seed routes it by the highest level reached, as the feed does.
func TestSeedFollowsTheLevelReached(t *testing.T) {
	dir := t.TempDir()
	c := mock.NewClock(t0)
	ctx := context.Background()
	fx := openDesk(t, dir, c)
	fx.gas(t, 0, 30)
	c.Set(t0.Add(2 * time.Minute))
	fx.desk.Tick(ctx) // level 2
	for _, a := range []rules.Action{rules.ActionAcknowledge, rules.ActionResolve} {
		if _, err := fx.desk.Act(ctx, 1, a, "王警官", "通风", time.Time{}); err != nil {
			t.Fatal(a, err)
		}
	}
	fx.gas(t, 3*time.Minute, 0)
	fx.gas(t, 4*time.Minute, 30) // reopened at level 1
	if a := fx.desk.Open()[0]; a.Escalation != 1 || a.MaxLevel() != 2 {
		t.Fatalf("alarm at level %d, reached %d; want reopened at 1 after reaching 2", a.Escalation, a.MaxLevel())
	}
	fx.close()

	fx = openDesk(t, dir, c)
	station := &seeder{recorder: newRecorder()}
	fx.desk.AddNotifier("station", Route{FromLevel: 2}, station)
	if err := fx.desk.StartNotifiers(ctx); err != nil {
		t.Fatal(err)
	}
	fx.desk.StopNotifiers(ctx)
	if len(station.seeded) != 1 || station.seeded[0].AlarmID != 1 {
		t.Fatalf("the station was seeded with %+v, want alarm 1", station.seeded)
	}
}
