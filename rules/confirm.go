package rules

import (
	"slices"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// A confirmation rule (k of n) raises a confirmed alarm, of its severity
// (fire unless it says otherwise), when K distinct devices of one group
// start alarming within Window of each other. A group is the selected
// devices that share a floor (same building, unit and floor), a unit, a
// building or a grid. It reads no readings: it works on the changes the
// per-device rules make, and a device counts while one of those rules
// holds it at alarm or above (a warning is not yet a hazard; a fault, such
// as a silent detector, never is one). The confirmed condition returns to
// normal when fewer than K devices of the group are still alarming.
//
// "Within Window of each other" is judged when a device starts alarming:
// the group confirms when K of its devices now alarming started within
// Window before that moment. An alarm that started earlier than that no
// longer combines with new ones, though it still holds a confirmation
// already raised. Time alone never changes a group's condition, so the
// group needs no tick.
//
// After a restart (Engine.Restore) a group counts the members whose
// conditions were restored alarming, as having started alarming at the
// restart (the journal does not say when they started: this errs towards
// confirming), and holds its own restored confirmation until fewer than K
// of its devices are alarming, as it would have.
func init() {
	register(TypeConfirm, ruleType{
		validate:  validateConfirm,
		newGroups: newConfirmGroups,
	})
}

// Confirmation groups.
const (
	GroupFloor    = "floor"
	GroupUnit     = "unit"
	GroupBuilding = "building"
	GroupGrid     = "grid"
)

var confirmGroups = []string{GroupFloor, GroupUnit, GroupBuilding, GroupGrid}

// levelConfirm is the Level of a confirmation's changes.
const levelConfirm = "confirm"

func validateConfirm(r *Rule, fe *shouwang.FieldErrors) {
	if !slices.Contains(confirmGroups, r.Group) {
		fe.Add("group", "%q is not a group (valid: floor, unit, building, grid)", r.Group)
	}
	if r.K < 2 {
		fe.Add("k", "%d is too few: a confirmation needs at least 2 devices (e.g. 2)", r.K)
	}
	if r.Window <= 0 {
		fe.Add("window", "must be a positive duration (e.g. 2m: the devices must start alarming within it of each other)")
	}
	if s, ok := shouwang.ParseSeverity(r.Severity); ok && s < shouwang.Alarm {
		fe.Add("severity", "%s is below the alarms it confirms (want alarm or fire; leave it out for fire)", r.Severity)
	}
}

// A group is one rule over a set of devices that works on the changes the
// per-device rules make, not on readings (confirm). The engine tells it of
// every change of its members, after the per-device rules have run.
type group interface {
	// members are the device ids whose changes the group is told of.
	members() []string
	// change takes one change of a member, made at now by a per-device
	// rule, and appends the changes it causes to dst.
	change(dst []Change, c Change, now time.Time) []Change
	// active returns the group's condition while it holds.
	active() (Change, bool)
	// restoreMember takes a member's condition that held before a
	// restart at now, already restored into its per-device rule.
	restoreMember(c Change, now time.Time)
	// restore takes the group's own condition that held before a
	// restart, and reports whether c is the group's.
	restore(c Change) bool
}

// addGroups compiles a group rule over the devices it selects.
func (e *Engine) addGroups(r *Rule, t ruleType, devices []shouwang.Device, byID map[string]*shouwang.Device) error {
	if t.newGroups == nil {
		return ruleErr(r, "type %q has no way to run", r.Type)
	}
	var sel []*shouwang.Device
	for _, d := range candidates(&r.Select, devices, byID) {
		if r.Select.Match(d) {
			sel = append(sel, d)
		}
	}
	if len(sel) == 0 {
		return ruleErr(r, "selects no device")
	}
	gs, err := t.newGroups(r, sel)
	if err != nil {
		return err
	}
	if e.groupsOf == nil {
		e.groupsOf = map[string][]group{}
	}
	for _, g := range gs {
		e.groups = append(e.groups, g)
		for _, id := range g.members() {
			e.groupsOf[id] = append(e.groupsOf[id], g)
		}
	}
	return nil
}

// feedGroups tells the groups of the changes the per-device rules have
// just appended to dst (dst[from:]) and appends the groups' own changes,
// which are not fed back. With no change it does nothing.
func (e *Engine) feedGroups(dst []Change, from int, now time.Time) []Change {
	if len(e.groupsOf) == 0 {
		return dst
	}
	for i, end := from, len(dst); i < end; i++ {
		for _, g := range e.groupsOf[dst[i].Device] {
			dst = g.change(dst, dst[i], now)
		}
	}
	return dst
}

// confirm is one confirmation rule over one group of devices.
type confirm struct {
	rule     *Rule
	id       string // the Device of its changes: "group:" and the group's place
	severity shouwang.Severity
	ids      []string
	index    map[string]int // device id to its place in ids and devs
	devs     []confirmMember
	alarming int  // devices alarming now
	raised   bool // the condition holds
}

type confirmMember struct {
	// rules are the per-device rules holding the device at alarm or
	// above now; it is alarming while there is one.
	rules []string
	since time.Time // when it started alarming
}

func newConfirmGroups(r *Rule, devices []*shouwang.Device) ([]group, error) {
	byKey := map[string]*confirm{}
	var order []*confirm
	for _, d := range devices {
		key, ok := groupKey(r.Group, &d.Location)
		if !ok {
			continue
		}
		g := byKey[key]
		if g == nil {
			g = &confirm{rule: r, id: "group:" + key, severity: severityOr(r.Severity, shouwang.Fire), index: map[string]int{}}
			byKey[key] = g
			order = append(order, g)
		}
		if _, dup := g.index[d.ID]; !dup {
			g.index[d.ID] = len(g.ids)
			g.ids = append(g.ids, d.ID)
		}
	}
	var out []group
	var most *confirm
	for _, g := range order {
		if most == nil || len(g.ids) > len(most.ids) {
			most = g
		}
		if len(g.ids) < r.K {
			continue // it can never confirm
		}
		// Room for two rules per device, so that a change does not
		// allocate in the usual case.
		buf := make([]string, 2*len(g.ids))
		g.devs = make([]confirmMember, len(g.ids))
		for i := range g.devs {
			g.devs[i].rules = buf[2*i : 2*i : 2*i+2]
		}
		out = append(out, g)
	}
	switch {
	case most == nil:
		return nil, ruleErr(r, "none of the %d devices it selects has a %s in its location, so it has no %s group",
			len(devices), groupNeeds[r.Group], r.Group)
	case len(out) == 0:
		return nil, ruleErr(r, "no %s has %d of the devices it selects, so it can never confirm (the most on one %s: %d, at %s)",
			r.Group, r.K, r.Group, len(most.ids), most.id)
	}
	return out, nil
}

// groupNeeds says what a device's location must give to join a group.
var groupNeeds = map[string]string{
	GroupFloor:    "building and floor",
	GroupUnit:     "building and unit",
	GroupBuilding: "building",
	GroupGrid:     "grid",
}

// groupKey places a location in a group: "sunshine/3号楼/2单元/12F" for a
// floor, "grid/G-07" for a grid. ok is false when the location lacks what
// the group needs.
func groupKey(g string, l *shouwang.Location) (key string, ok bool) {
	p := shouwang.Location{Community: l.Community, Building: l.Building}
	switch g {
	case GroupFloor:
		p.Unit, p.Floor = l.Unit, l.Floor
		ok = l.Building != "" && l.Floor != 0
	case GroupUnit:
		p.Unit = l.Unit
		ok = l.Building != "" && l.Unit != ""
	case GroupBuilding:
		ok = l.Building != ""
	case GroupGrid:
		return "grid/" + l.Grid, l.Grid != ""
	}
	return p.String(), ok
}

func (g *confirm) members() []string { return g.ids }

func (g *confirm) change(dst []Change, c Change, now time.Time) []Change {
	i, ok := g.index[c.Device]
	if !ok {
		return dst
	}
	m := &g.devs[i]
	was := len(m.rules) > 0
	at := slices.Index(m.rules, c.Rule)
	switch counts := c.Active && c.Severity >= shouwang.Alarm; {
	case counts && at < 0:
		m.rules = append(m.rules, c.Rule)
	case !counts && at >= 0:
		m.rules = slices.Delete(m.rules, at, at+1)
	default:
		return dst // no change in whether it is alarming
	}
	switch is := len(m.rules) > 0; {
	case is == was:
		return dst
	case is:
		m.since = now
		g.alarming++
	default:
		g.alarming--
	}
	switch {
	case !g.raised && g.recent(now) >= g.rule.K:
		g.raised = true
		return append(dst, g.changeAt(now))
	case g.raised && g.alarming < g.rule.K:
		g.raised = false
		return append(dst, g.changeAt(now))
	}
	return dst
}

// recent counts the devices alarming now that started within the window
// before now.
func (g *confirm) recent(now time.Time) int {
	n := 0
	for i := range g.devs {
		if m := &g.devs[i]; len(m.rules) > 0 && now.Sub(m.since) <= g.rule.Window {
			n++
		}
	}
	return n
}

func (g *confirm) changeAt(now time.Time) Change {
	c := Change{Rule: g.rule.ID, Device: g.id, Active: g.raised, Value: float64(g.alarming), Time: now, Latch: g.rule.Latch}
	if g.raised {
		c.Severity, c.Level = g.severity, levelConfirm
	}
	return c
}

func (g *confirm) active() (Change, bool) {
	if !g.raised {
		return Change{}, false
	}
	return g.changeAt(time.Time{}), true
}

func (g *confirm) restoreMember(c Change, now time.Time) {
	i, ok := g.index[c.Device]
	if !ok || !c.Active || c.Severity < shouwang.Alarm {
		return
	}
	m := &g.devs[i]
	if slices.Contains(m.rules, c.Rule) {
		return
	}
	if len(m.rules) == 0 {
		m.since = now
		g.alarming++
	}
	m.rules = append(m.rules, c.Rule)
}

// restore raises the group's condition without asking its members: the
// restored ones may be fewer than K (a journal from another config), and
// the condition then returns to normal when the next member starts or
// stops alarming.
func (g *confirm) restore(c Change) bool {
	if c.Rule != g.rule.ID || c.Device != g.id {
		return false
	}
	g.raised = c.Active
	return true
}
