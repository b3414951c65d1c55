package grading

import (
	"slices"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/rules"
)

// The event kinds that take a device off the network and bring it back.
const (
	kindOffline = "offline"
	kindOnline  = "online"
)

// period is the stretch of time a grade covers.
type period struct {
	from, to time.Time // the month, [from, to)
	end      time.Time // where offline time stops: to, or Now in a month still running
	now      time.Time // zero when the month is long over
}

func (p period) holds(t time.Time) bool { return !t.Before(p.from) && t.Before(p.to) }

// buildingKey names a building: building ids are unique only within a site.
type buildingKey struct{ site, building string }

// tally is what counts against one building.
type tally struct {
	alarms, fires, faults, unhandled int
	offline                          time.Duration
}

// count tallies the month's alarms, faults and offline time of every
// building in in.Buildings. Alarms and events of devices not in in.Devices,
// or placed in a building not being graded, are left out.
func count(c Config, in Input, p period) map[buildingKey]*tally {
	tallies := make(map[buildingKey]*tally, len(in.Buildings))
	for _, b := range in.Buildings {
		tallies[buildingKey{b.Site, b.ID}] = &tally{}
	}
	devices := make(map[string]*tally, len(in.Devices))
	for _, d := range in.Devices {
		if t := tallies[buildingKey{d.Location.Community, d.Location.Building}]; t != nil {
			devices[d.ID] = t
		}
	}

	for i := range in.Alarms {
		a := &in.Alarms[i]
		t := devices[a.Device]
		if t == nil || !p.holds(a.RaisedAt) {
			continue
		}
		// The highest severity of the episode: an alarm that rose from
		// warning to fire was a fire alarm. Alarms below warning (a
		// fault rule's, an info one's) are left out: the fault event
		// that raised one is counted from Events already, and counting
		// its alarm as well would count one fault twice.
		sev := max(a.Severity, a.Peak)
		if sev < shouwang.Warning {
			continue
		}
		t.alarms++
		if sev >= shouwang.Fire {
			t.fires++
		}
		if unhandled(a, c.UnhandledAfter, p.now) {
			t.unhandled++
		}
	}

	// Offline time needs each device's events in time order.
	links := map[string][]shouwang.Event{}
	for _, e := range in.Events {
		t := devices[e.Device]
		if t == nil {
			continue
		}
		switch {
		case e.Kind == kindOffline || e.Kind == kindOnline:
			// "offline" is a fault too, but offline_hours weighs it
			// by how long it lasted; counting the drop as a fault as
			// well would count it twice.
			links[e.Device] = append(links[e.Device], e)
		case e.Severity == shouwang.Fault && !shouwang.IsClearKind(e.Kind) && p.holds(e.Time):
			t.faults++
		}
	}
	for dev, evs := range links {
		slices.SortStableFunc(evs, func(a, b shouwang.Event) int { return a.Time.Compare(b.Time) })
		devices[dev].offline += offlineTime(evs, p.from, p.end)
	}
	return tallies
}

// unhandled says whether the alarm waited more than after for its first
// acknowledgement: it was acknowledged later than that, or it still waits
// and that long has passed by now (always, when now is zero). An alarm
// acknowledged exactly at the deadline was handled in time. Shelving is
// not an answer: a shelved alarm still waits for someone to take it.
func unhandled(a *rules.Alarm, after time.Duration, now time.Time) bool {
	deadline := a.RaisedAt.Add(after)
	if !a.FirstAck.IsZero() {
		return a.FirstAck.After(deadline)
	}
	return now.IsZero() || now.After(deadline)
}

// offlineTime is how long within [from, end) a device was offline, from
// its "offline" and "online" events in time order. It starts online; an
// "offline" before from that no "online" followed counts from from. A
// repeated "offline" changes nothing: the device went off at the first.
func offlineTime(evs []shouwang.Event, from, end time.Time) time.Duration {
	var total time.Duration
	offline, since := false, time.Time{} // since: when the device went offline
	for _, e := range evs {
		if !e.Time.Before(end) {
			break
		}
		switch {
		case e.Kind == kindOffline && !offline:
			offline, since = true, e.Time
		case e.Kind == kindOnline && offline:
			offline = false
			total += overlap(since, e.Time, from, end)
		}
	}
	if offline {
		total += overlap(since, end, from, end)
	}
	return total
}

// overlap is how much of [a, b) lies within [from, end).
func overlap(a, b, from, end time.Time) time.Duration {
	if a.Before(from) {
		a = from
	}
	if b.After(end) {
		b = end
	}
	if !b.After(a) {
		return 0
	}
	return b.Sub(a)
}
