package gateway

import (
	"math"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// maxClockAhead is how far in the future a reading's time may be before it
// is taken as coming from a device with a wrong clock.
const maxClockAhead = 5 * time.Minute

// qualityCheck returns the bus's Inspect function: a reading that is NaN or
// infinite, outside the range its device's profile gives the point, or
// stamped further ahead than maxClockAhead is marked Bad, so it is kept in
// the history but never raises or clears an alarm by itself.
func qualityCheck(plan *Plan) func(*shouwang.Reading, time.Time) {
	type key struct{ device, point string }
	ranges := map[key]PointSpec{}
	for _, d := range plan.Devices {
		if prof := plan.Profiles[d.Profile]; prof != nil {
			for _, pt := range prof.Points {
				if pt.Min != nil || pt.Max != nil {
					ranges[key{d.ID, pt.Name}] = pt
				}
			}
		}
	}
	return func(r *shouwang.Reading, now time.Time) {
		if r.Quality != shouwang.Good {
			return
		}
		bad := math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || r.Time.Sub(now) > maxClockAhead
		if pt, ok := ranges[key{r.Device, r.Point}]; ok && !bad {
			bad = pt.Min != nil && r.Value < *pt.Min || pt.Max != nil && r.Value > *pt.Max
		}
		if bad {
			r.Quality = shouwang.Bad
		}
	}
}
