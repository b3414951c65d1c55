package grading

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// parts turns a tally into the lines of a score, in the order of the
// Part* constants. Points are worked out from the count as shown (offline
// hours rounded to 2 decimals), so every line's arithmetic checks out for
// whoever reads it.
func (t *tally) parts(c Config) []Part {
	w := c.Weights
	hours := round2(t.offline.Hours())
	return []Part{
		part(PartAlarms, t.alarms, w.Alarm, plural(t.alarms, "alarm")+" raised"),
		part(PartFires, t.fires, w.Fire, plural(t.fires, "fire alarm")+" (extra)"),
		part(PartFaults, t.faults, w.Fault, plural(t.faults, "fault")+" reported"),
		part(PartUnhandled, t.unhandled, w.Unhandled,
			plural(t.unhandled, "alarm")+" not acknowledged within "+shortDuration(c.UnhandledAfter)),
		part(PartOfflineHours, hours, w.OfflineHour, number(hours)+" device-hours offline"),
	}
}

// part builds one line; counted says in words what count is.
func part[N int | float64](what string, count N, weight float64, counted string) Part {
	points := round2(float64(count) * weight)
	return Part{
		What:    what,
		Count:   float64(count),
		Weight:  weight,
		Points:  points,
		Explain: fmt.Sprintf("%s × %s = %s", counted, number(weight), number(points)),
	}
}

// round2 rounds to 2 decimals, what the console shows.
func round2(f float64) float64 { return math.Round(f*100) / 100 }

// number writes f with no more decimals than it has: 6, 2.5, 0.2.
func number(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// shortDuration writes 5m rather than 5m0s, 1h rather than 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
