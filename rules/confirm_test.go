package rules

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// confirmDevices: three smoke detectors and a gas detector on one floor,
// two smoke detectors a floor up, one detector placed nowhere.
var confirmDevices = []shouwang.Device{
	{ID: "s1", Type: "smoke", Location: shouwang.Location{Community: "阳光花园", Building: "3号楼", Unit: "2单元", Floor: 12, Room: "1201"}},
	{ID: "s2", Type: "smoke", Location: shouwang.Location{Community: "阳光花园", Building: "3号楼", Unit: "2单元", Floor: 12, Room: "1202"}},
	{ID: "s3", Type: "smoke", Location: shouwang.Location{Community: "阳光花园", Building: "3号楼", Unit: "2单元", Floor: 12, Room: "1203"}},
	{ID: "g1", Type: "gas", Location: shouwang.Location{Community: "阳光花园", Building: "3号楼", Unit: "2单元", Floor: 12, Room: "1202"}},
	{ID: "s4", Type: "smoke", Location: shouwang.Location{Community: "阳光花园", Building: "3号楼", Unit: "2单元", Floor: 13, Room: "1301"}},
	{ID: "s5", Type: "smoke", Location: shouwang.Location{Community: "阳光花园", Building: "3号楼", Unit: "2单元", Floor: 13, Room: "1302"}},
	{ID: "lost", Type: "smoke"},
}

const (
	grpFloor12 = "group:阳光花园/3号楼/2单元/12F"
	grpUnit2   = "group:阳光花园/3号楼/2单元"
)

// The per-device rules whose changes a confirmation counts: smoke events
// (raised with the event's severity), faults, and a gas threshold.
func confirmInputs() []Rule {
	return []Rule{
		{ID: "smoke", Type: TypeEvent, Kinds: []string{"smoke_alarm"}, Select: Selector{Types: []string{"smoke"}}},
		{ID: "heat", Type: TypeEvent, Kinds: []string{"heat_alarm"}, Select: Selector{Types: []string{"smoke"}}},
		{ID: "fault", Type: TypeEvent, Kinds: []string{"fault"}, Select: Selector{Types: []string{"smoke"}}},
		{ID: "gas", Type: TypeThreshold, Point: "gas", Select: Selector{Types: []string{"gas"}},
			Levels: []Level{{Name: "warning", Above: f(10), Severity: "warning"}, {Name: "alarm", Above: f(25), Severity: "alarm"}}},
	}
}

func confirmRule() Rule {
	return Rule{ID: "fire", Type: TypeConfirm, Group: GroupFloor, K: 2, Window: 2 * time.Minute,
		Select: Selector{Types: []string{"smoke", "gas"}}}
}

// grpStep is one line of a group script: at a time after t0, an event of a
// device (alarm: smoke_alarm at alarm severity, clear: smoke_clear), a gas
// reading, or only a tick. want lists the group changes it causes, as
// "<group> <severity/level or normal> <devices alarming>".
type grpStep struct {
	at   time.Duration
	dev  string
	ev   string
	sev  shouwang.Severity
	gas  *float64
	want string
}

func grpAlarm(at time.Duration, dev, want string) grpStep {
	return grpStep{at: at, dev: dev, ev: "smoke_alarm", sev: shouwang.Alarm, want: want}
}
func grpClear(at time.Duration, dev, want string) grpStep {
	return grpStep{at: at, dev: dev, ev: "smoke_clear", want: want}
}
func grpGas(at time.Duration, v float64, want string) grpStep {
	return grpStep{at: at, dev: "g1", gas: f(v), want: want}
}
func grpTick(at time.Duration, want string) grpStep { return grpStep{at: at, want: want} }

// runGroup plays a script against confirmInputs and one confirmation
// rule, r.
func runGroup(t *testing.T, r Rule, script []grpStep) *Engine {
	t.Helper()
	return runGroupWith(t, append(confirmInputs(), r), script)
}

func runGroupWith(t *testing.T, rules []Rule, script []grpStep) *Engine {
	t.Helper()
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			t.Fatalf("rule %s invalid: %v", r.ID, err)
		}
	}
	e, err := New(rules, confirmDevices)
	if err != nil {
		t.Fatal(err)
	}
	var buf []Change
	for i, s := range script {
		now := t0.Add(s.at)
		buf = buf[:0]
		switch {
		case s.gas != nil:
			buf = e.Reading(buf, &shouwang.Reading{Device: s.dev, Point: "gas", Value: *s.gas, Time: now}, now)
		case s.ev != "":
			buf = e.Event(buf, &shouwang.Event{Device: s.dev, Kind: s.ev, Severity: s.sev, Time: now}, now)
		}
		buf = e.Tick(buf, now)
		if g := groupChanges(buf); g != s.want {
			t.Fatalf("step %d (t+%s %s %s): group changes %q, want %q\nall: %v", i, s.at, s.dev, s.ev, g, s.want, buf)
		}
	}
	return e
}

func groupChanges(cs []Change) string {
	var got []string
	for _, c := range cs {
		if !strings.HasPrefix(c.Device, "group:") {
			continue
		}
		state := "normal"
		if c.Active {
			state = c.Severity.String() + "/" + c.Level
		}
		got = append(got, fmt.Sprintf("%s %s %g", c.Device, state, c.Value))
	}
	return strings.Join(got, ",")
}

func TestConfirm(t *testing.T) {
	s, m := time.Second, time.Minute
	for _, tc := range []struct {
		name   string
		modify func(*Rule)
		script []grpStep
	}{
		{"2 of 3 on one floor within the window", nil, []grpStep{
			grpAlarm(0, "s1", ""),
			grpAlarm(m, "s2", grpFloor12+" fire/confirm 2"),
			grpAlarm(90*s, "s3", ""), // a third joins a confirmation already raised
			grpClear(2*m, "s3", ""),
			grpClear(3*m, "s2", grpFloor12+" normal 1"),
		}},
		{"exactly the window apart confirms", nil, []grpStep{
			grpAlarm(0, "s1", ""), grpAlarm(2*m, "s2", grpFloor12+" fire/confirm 2"),
		}},
		{"spread wider than the window does not", nil, []grpStep{
			grpAlarm(0, "s1", ""), grpTick(m, ""), grpAlarm(2*m+s, "s2", ""), grpTick(10*m, ""),
		}},
		{"an alarm older than the window does not combine, newer ones do", nil, []grpStep{
			grpAlarm(0, "s1", ""),
			grpAlarm(5*m, "s2", ""),
			grpAlarm(6*m, "s3", grpFloor12+" fire/confirm 3"), // s2 and s3 within 2m; s1 still alarming
			grpClear(7*m, "s2", ""),                           // s1 and s3 are still 2
			grpClear(8*m, "s1", grpFloor12+" normal 1"),
		}},
		{"devices on different floors do not combine", nil, []grpStep{
			grpAlarm(0, "s1", ""), grpAlarm(10*s, "s4", ""), grpAlarm(20*s, "s5", "group:阳光花园/3号楼/2单元/13F fire/confirm 2"),
		}},
		{"a unit group combines its floors", func(r *Rule) { r.Group = GroupUnit }, []grpStep{
			grpAlarm(0, "s1", ""), grpAlarm(10*s, "s4", grpUnit2+" fire/confirm 2"),
		}},
		{"one clearing drops the group back to normal", nil, []grpStep{
			grpAlarm(0, "s1", ""), grpAlarm(s, "s2", grpFloor12+" fire/confirm 2"), grpClear(m, "s1", grpFloor12+" normal 1"),
			grpAlarm(90*s, "s1", grpFloor12+" fire/confirm 2"), // s2 started 89s before
		}},
		{"the rule's severity", func(r *Rule) { r.Severity = "alarm" }, []grpStep{
			grpAlarm(0, "s1", ""), grpAlarm(s, "s2", grpFloor12+" alarm/confirm 2"),
		}},
		{"3 of n", func(r *Rule) { r.K = 3 }, []grpStep{
			grpAlarm(0, "s1", ""), grpAlarm(s, "s2", ""), grpGas(2*s, 30, grpFloor12+" fire/confirm 3"),
			grpGas(3*s, 0, grpFloor12+" normal 2"),
		}},
		{"warnings and faults do not count", nil, []grpStep{
			grpGas(0, 15, ""), // warning
			{at: s, dev: "s1", ev: "fault", sev: shouwang.Fault},
			{at: 2 * s, dev: "s2", ev: "fault", sev: shouwang.Fault},
			grpAlarm(3*s, "s3", ""),
			grpGas(4*s, 30, grpFloor12+" fire/confirm 2"), // warning to alarm counts now
			grpGas(5*s, 15, grpFloor12+" normal 1"),       // back to warning: no longer
		}},
		{"a device alarming under two rules counts once", nil, []grpStep{
			grpAlarm(0, "s1", ""),
			{at: s, dev: "s1", ev: "heat_alarm", sev: shouwang.Fire},
			grpClear(2*s, "s1", ""),                           // heat still holds s1
			grpAlarm(3*s, "s2", grpFloor12+" fire/confirm 2"), // s1 has alarmed since 0
			{at: 4 * s, dev: "s1", ev: "heat_clear", want: grpFloor12 + " normal 1"},
		}},
		{"a normal change from a device never raised is nothing", nil, []grpStep{
			grpClear(0, "s1", ""), grpAlarm(s, "s2", ""), grpClear(2*s, "s2", ""), grpClear(3*s, "s2", ""),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := confirmRule()
			if tc.modify != nil {
				tc.modify(&r)
			}
			runGroup(t, r, tc.script)
		})
	}
}

// TestConfirmOnTick: a per-device alarm raised by a tick (its on_delay ran
// out) is fed to the group like one raised by a reading.
func TestConfirmOnTick(t *testing.T) {
	rules := append(confirmInputs(), confirmRule())
	rules[3].OnDelay = 10 * time.Second // gas
	runGroupWith(t, rules, []grpStep{
		grpAlarm(0, "s1", ""), grpGas(time.Second, 30, ""), grpTick(10*time.Second, ""), grpTick(11*time.Second, grpFloor12+" fire/confirm 2"),
	})
}

// TestConfirmChange checks a confirmed change in full, after the change
// that confirmed it, and Active.
func TestConfirmChange(t *testing.T) {
	e := runGroup(t, confirmRule(), []grpStep{grpAlarm(0, "s1", "")})
	now := t0.Add(time.Minute)
	got := e.Event(nil, &shouwang.Event{Device: "s2", Kind: "smoke_alarm", Severity: shouwang.Alarm, Time: now}, now)
	want := []Change{
		{Rule: "smoke", Device: "s2", Active: true, Severity: shouwang.Alarm, Level: "smoke_alarm", Time: now},
		{Rule: "fire", Device: grpFloor12, Active: true, Severity: shouwang.Fire, Level: "confirm", Value: 2, Time: now},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || !reflect.DeepEqual(got[1], want[1]) {
		t.Fatalf("changes\n%v\nwant\n%v", got, want)
	}
	if got[1].Severity <= got[0].Severity {
		t.Fatalf("a confirmation is no more severe than what it confirms: %v", got)
	}
	var active []string
	for _, c := range e.Active() {
		active = append(active, c.Rule+"@"+c.Device)
	}
	if a := strings.Join(active, ","); a != "smoke@s1,smoke@s2,fire@"+grpFloor12 {
		t.Fatalf("Active: %s", a)
	}
}

func TestConfirmValidate(t *testing.T) {
	for _, tc := range []struct {
		modify func(*Rule)
		want   []string
	}{
		{func(r *Rule) { r.Group, r.K, r.Window = "room", 1, 0 },
			[]string{`group: "room" is not a group (valid: floor, unit, building, grid)`, "k: 1 is too few", "window: must be a positive duration"}},
		{func(r *Rule) { r.Group = "" }, []string{`group: "" is not a group`}},
		{func(r *Rule) { r.Window = -time.Second }, []string{"window: must be a positive"}},
		{func(r *Rule) { r.Severity = "warning" }, []string{"severity: warning is below the alarms it confirms"}},
		{func(r *Rule) { r.Severity = "loud" }, []string{`severity: "loud" is not a severity`}},
		{func(r *Rule) { r.Point, r.OnDelay = "gas", time.Second }, []string{"point: does not apply", "on_delay: does not apply"}},
	} {
		r := confirmRule()
		tc.modify(&r)
		checkProblems(t, r, tc.want)
	}
	for _, g := range confirmGroups {
		r := confirmRule()
		r.Group, r.Severity = g, "alarm"
		if err := r.Validate(); err != nil {
			t.Errorf("group %s: %v", g, err)
		}
	}
}

func TestConfirmNew(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Rule)
		want   string // "" for no error
	}{
		{"fine", nil, ""},
		{"no floor can reach k", func(r *Rule) { r.K = 5 },
			"rule fire: no floor has 5 of the devices it selects, so it can never confirm (the most on one floor: 4, at " + grpFloor12 + ")"},
		{"only one floor can", func(r *Rule) { r.K = 3 }, ""},
		{"a building can", func(r *Rule) { r.K, r.Group = 6, GroupBuilding }, ""},
		{"selects nothing", func(r *Rule) { r.Select = Selector{Devices: []string{"nobody"}} }, "rule fire: selects no device"},
		{"selects only devices placed nowhere", func(r *Rule) { r.Select = Selector{Devices: []string{"lost", "lost"}} },
			"rule fire: none of the 2 devices it selects has a building and floor in its location, so it has no floor group"},
		{"no grid", func(r *Rule) { r.Group = GroupGrid },
			"rule fire: none of the 7 devices it selects has a grid in its location, so it has no grid group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := confirmRule()
			if tc.modify != nil {
				tc.modify(&r)
			}
			if err := r.Validate(); err != nil {
				t.Fatal(err)
			}
			_, err := New([]Rule{r}, confirmDevices)
			if got := fmt.Sprint(err); (tc.want == "" && err != nil) || (tc.want != "" && got != tc.want) {
				t.Fatalf("New: %v\nwant: %s", err, tc.want)
			}
		})
	}
}

func TestGroupKey(t *testing.T) {
	l := shouwang.Location{Community: "阳光花园", Building: "3号楼", Unit: "2单元", Floor: 12, Room: "1202", Grid: "G-07"}
	for g, want := range map[string]string{
		GroupFloor: "阳光花园/3号楼/2单元/12F", GroupUnit: "阳光花园/3号楼/2单元", GroupBuilding: "阳光花园/3号楼", GroupGrid: "grid/G-07",
	} {
		if k, ok := groupKey(g, &l); !ok || k != want {
			t.Errorf("%s: %q %v, want %q", g, k, ok, want)
		}
	}
	// A building without units still has floors, but no unit groups.
	l = shouwang.Location{Building: "7号楼", Floor: 3}
	if k, ok := groupKey(GroupFloor, &l); !ok || k != "7号楼/3F" {
		t.Errorf("floor without a unit: %q %v", k, ok)
	}
	if _, ok := groupKey(GroupUnit, &l); ok {
		t.Error("a unit group without a unit")
	}
}

// benchFloors places n gas detectors four to a floor, a hundred floors to
// a building, under one threshold rule and one 2-of-n floor confirmation.
func benchFloors(b *testing.B, n int) (*Engine, []shouwang.Device) {
	b.Helper()
	devices := make([]shouwang.Device, n)
	for i := range devices {
		devices[i] = shouwang.Device{ID: fmt.Sprintf("dev-%05d", i), Type: "gas",
			Location: shouwang.Location{Building: fmt.Sprintf("%d号楼", i/400), Unit: "1单元", Floor: (i/4)%100 + 1}}
	}
	rules := []Rule{
		{ID: "gas", Type: TypeThreshold, Point: "gas", Select: Selector{Types: []string{"gas"}}, Deadband: 2,
			Levels: []Level{{Name: "warning", Above: f(10), Severity: "warning"}, {Name: "alarm", Above: f(25), Severity: "alarm"}}},
		confirmRule(),
	}
	e, err := New(rules, devices)
	if err != nil {
		b.Fatal(err)
	}
	return e, devices
}

// BenchmarkConfirm: 10,000 devices in 2,500 floor groups. "no change":
// readings that change no alarm, which must cost the groups nothing;
// "alarm and clear": every reading raises or clears a device's alarm,
// and every other one raises or clears its floor's confirmation.
func BenchmarkConfirm(b *testing.B) {
	const n = 10_000
	b.Run("no change", func(b *testing.B) {
		e, devices := benchFloors(b, n)
		readings := make([]shouwang.Reading, 4096)
		for i := range readings {
			readings[i] = shouwang.Reading{Device: devices[(i*7919)%n].ID, Point: "gas", Value: float64((i * 13) % 8), Time: t0}
		}
		buf := make([]Change, 0, 64)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			buf = e.Reading(buf[:0], &readings[i%len(readings)], t0)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
	})
	b.Run("alarm and clear", func(b *testing.B) {
		e, devices := benchFloors(b, n)
		buf := make([]Change, 0, 64)
		// Devices 0 and 1 share a floor: 0 on, 1 on (confirms), 0 off
		// (clears), 1 off, and again.
		script := []shouwang.Reading{
			{Device: devices[0].ID, Point: "gas", Value: 30}, {Device: devices[1].ID, Point: "gas", Value: 30},
			{Device: devices[0].ID, Point: "gas", Value: 0}, {Device: devices[1].ID, Point: "gas", Value: 0},
		}
		confirmed := 0
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			buf = e.Reading(buf[:0], &script[i%len(script)], t0)
			if len(buf) == 2 {
				confirmed++
			}
		}
		if b.N >= 4 && confirmed < b.N/4 {
			b.Fatalf("%d confirmation changes in %d readings", confirmed, b.N)
		}
	})
}
