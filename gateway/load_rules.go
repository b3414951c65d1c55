package gateway

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/rules"
)

// checkRules validates each rule on its own, then against the building
// map: the devices it names must exist and the point it watches must be one
// the selected devices' profiles measure. Last, it compiles them all, as the
// gateway will at start, so nothing the engine refuses passes a check.
func (l *loader) checkRules() {
	rs := l.plan.Config.Rules
	ids := map[string]bool{}
	ok := true
	for i := range rs {
		r := &rs[i]
		p := fmt.Sprintf("rules[%d]", i)
		if err := r.Validate(); err != nil {
			l.locate(p, err)
			ok = false
		}
		if ids[r.ID] {
			l.errorf(p+".id", "rule %q is defined twice", r.ID)
			ok = false
		}
		ids[r.ID] = true
		known := true
		for j, id := range r.Select.Devices {
			if !slices.ContainsFunc(l.plan.Devices, func(d shouwang.Device) bool { return d.ID == id }) {
				l.errorf(fmt.Sprintf("%s.select.devices[%d]", p, j), "no device %q in devices", id)
				ok, known = false, false
			}
		}
		if !known {
			continue
		}
		pts, ptsKnown := l.selectedPoints(r)
		switch {
		case !slices.ContainsFunc(l.plan.Devices, func(d shouwang.Device) bool { return r.Select.Match(&d) }):
			l.errorf(p+".select", "selects no device (check its types, tags, buildings, floors and grids)")
			ok = false
		case r.Type == rules.TypeExpression && r.Expr != "":
			if _, err := rules.CompileExpr(r.Expr, pts); err != nil {
				l.errorf(p+".expr", "%v", err)
				ok = false
			}
		case r.Point != "" && ptsKnown && !slices.Contains(pts, r.Point):
			l.errorf(p+".point", "no selected device measures %q (their profiles list: %s)", r.Point, strings.Join(pts, ", "))
			ok = false
		}
	}
	if !ok || len(rs) == 0 || len(l.errs) > 0 {
		return
	}
	if _, err := rules.New(rs, l.plan.Devices); err != nil {
		path := "rules"
		for i := range rs {
			if strings.HasPrefix(err.Error(), "rule "+rs[i].ID+":") {
				path = fmt.Sprintf("rules[%d]", i)
			}
		}
		l.errorf(path, "%v", err)
	}
}

// selectedPoints lists the points the selected devices' profiles measure.
// known is false when some selected device has no profile: then any point
// may exist, and the devices are taken on trust.
func (l *loader) selectedPoints(r *rules.Rule) (pts []string, known bool) {
	pts = []string{}
	for i := range l.plan.Devices {
		d := &l.plan.Devices[i]
		if !r.Select.Match(d) {
			continue
		}
		prof := l.plan.Profiles[d.Profile]
		if prof == nil {
			return nil, false
		}
		for _, pt := range prof.Points {
			if !slices.Contains(pts, pt.Name) {
				pts = append(pts, pt.Name)
			}
		}
	}
	slices.Sort(pts)
	return pts, true
}
