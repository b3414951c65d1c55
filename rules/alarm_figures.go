package rules

import (
	"encoding/json"
	"slices"
	"time"
)

// AlarmFigures measure how the police room handled the alarms raised in a
// period: how many, how fast they were acknowledged and closed, and what
// share was closed.
type AlarmFigures struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Raised counts the alarms raised in [From, To) that the filter kept;
	// the other counts and the times are over those alarms, as far as the
	// given Alarms know (an alarm acknowledged after To still counts).
	Raised       int `json:"raised"`
	Acknowledged int `json:"acknowledged"` // acknowledged at least once
	Closed       int `json:"closed"`
	Escalated    int `json:"escalated"` // reached level 2 or higher
	Reopened     int `json:"reopened"`  // reopened at least once after being resolved
	// ShareClosed is Closed/Raised, 0 when nothing was raised.
	ShareClosed float64 `json:"share_closed"`
	// ToAcknowledge runs from the raise to the first acknowledgement,
	// ToClose from the raise to the close.
	ToAcknowledge DurationStats `json:"to_acknowledge"`
	ToClose       DurationStats `json:"to_close"`
}

// DurationStats summarises durations. Median and P90 are nearest-rank
// percentiles (an observed value: the median of an even count is the
// lower middle one). All are zero when N is.
type DurationStats struct {
	N                      int
	Mean, Median, P90, Max time.Duration
}

// MarshalJSON writes the durations in seconds, the unit dashboards and
// spreadsheets expect.
func (d DurationStats) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		N      int     `json:"n"`
		Mean   float64 `json:"mean_s"`
		Median float64 `json:"median_s"`
		P90    float64 `json:"p90_s"`
		Max    float64 `json:"max_s"`
	}{d.N, d.Mean.Seconds(), d.Median.Seconds(), d.P90.Seconds(), d.Max.Seconds()})
}

// ComputeAlarmFigures computes the figures over the alarms raised in
// [from, to) that keep accepts (all when keep is nil): open ones from the
// book, closed ones from the gateway's history. The gateway calls it per
// day and per grid, with keep choosing the grid's devices.
func ComputeAlarmFigures(alarms []Alarm, from, to time.Time, keep func(*Alarm) bool) AlarmFigures {
	f := AlarmFigures{From: from, To: to}
	var toAck, toClose []time.Duration
	for i := range alarms {
		a := &alarms[i]
		if a.RaisedAt.Before(from) || !a.RaisedAt.Before(to) || keep != nil && !keep(a) {
			continue
		}
		f.Raised++
		if !a.FirstAck.IsZero() {
			f.Acknowledged++
			toAck = append(toAck, a.FirstAck.Sub(a.RaisedAt))
		}
		if a.State == StateClosed {
			f.Closed++
			toClose = append(toClose, a.Closed.Time.Sub(a.RaisedAt))
		}
		if a.MaxLevel() > 1 {
			f.Escalated++
		}
		if a.Reopened > 0 {
			f.Reopened++
		}
	}
	if f.Raised > 0 {
		f.ShareClosed = float64(f.Closed) / float64(f.Raised)
	}
	f.ToAcknowledge, f.ToClose = durationStats(toAck), durationStats(toClose)
	return f
}

func durationStats(d []time.Duration) DurationStats {
	n := len(d)
	if n == 0 {
		return DurationStats{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	rank := func(p int) time.Duration { return d[(p*n+99)/100-1] } // ceil(p/100*n), 1-based
	return DurationStats{N: n, Mean: sum / time.Duration(n), Median: rank(50), P90: rank(90), Max: d[n-1]}
}
