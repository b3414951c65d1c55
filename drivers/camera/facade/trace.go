package facade

import (
	"fmt"
	"math"
	"slices"

	"github.com/shouwang-iot/shouwang/drivers/camera/report"
)

// Thresholds of Trace. A window is named only when it holds at least
// NameWindow of the probability; below that, the candidates are named.
const (
	NameWindow = 0.6
	NameFloor  = 0.6
	// MinSamples is the shortest track a window is named from: with
	// fewer positions one outlier decides the fit.
	MinSamples = 5
	// slowFall is the fraction of gravity below which a fall is a light
	// object's (paper, a bag), whose start a parabola cannot find.
	slowFall = 0.6
	// maxRise is the fastest upward speed a throw is believed to start
	// with; a fit needing more is not a throw.
	maxRise = 8.0
	// releaseDrop is how far below the apex a tossed object left the
	// hand on average, and releaseSpread the model's own uncertainty.
	releaseDrop   = 0.1
	releaseSpread = 0.3
	// reach widens a window: a hand holds an object out of it.
	reach = 0.3
	// maxCandidates bounds the list given when no window is named.
	maxCandidates = 12
)

// Trace is where a track says the object came from.
type Trace struct {
	// Release is where the object left the façade, in metres, and
	// Spread its one-sigma uncertainty; both zero when the track is too
	// short to say.
	Release, Spread Point
	// Gravity is the fall's fitted acceleration (m/s²) and GravitySpread
	// its uncertainty; NaN when the track is too short to tell.
	Gravity, GravitySpread float64
	// Window is the window named, when one holds NameWindow of the
	// probability; Confidence is that probability (or the best
	// candidate's when none is named).
	Window     *Window
	Confidence float64
	// Floor is the floor named (0 when none holds NameFloor of the
	// probability) and FloorConfidence its probability.
	Floor           int
	FloorConfidence float64
	// Candidates are the likeliest windows, most likely first.
	Candidates []Candidate
	// Weak says why no window is named, or "" when one is.
	Weak string
	// Samples is how many positions were used, of those reported.
	Samples, Reported int
}

// Candidate is a window the object may have come from.
type Candidate struct {
	Window
	P float64
}

// Trace maps a track onto the façade and traces it back to its window.
// The calibration must be valid (Validate ran without problems).
func (c *Calibration) Trace(track []report.Sample) Trace {
	pixelNoise := c.PixelNoise
	tr := Trace{Reported: len(track), Gravity: math.NaN(), GravitySpread: math.Inf(1)}
	ss := make([]sample, 0, len(track))
	for _, s := range track {
		p := Point{s.X, s.Y}
		q, ok := c.toFacade.Map(p)
		if !ok {
			continue
		}
		sx, sy := c.toFacade.Scale(p)
		ss = append(ss, sample{u: q.X, z: q.Y, t: s.T, sigma: pixelNoise * max(sx, sy, 1e-3)})
	}
	tr.Samples = len(ss)
	if len(ss) < 3 {
		return c.above(tr, ss, fmt.Sprintf("%d positions are too few to fit a fall", len(ss)))
	}
	f, ok := fitFall(ss)
	if !ok {
		return c.above(tr, ss, "the positions do not span time")
	}
	tr.Samples = f.used
	tr.Gravity, tr.GravitySpread = f.gravity, f.gSpread
	if !math.IsNaN(f.gravity) && f.gravity+2*f.gSpread < slowFall*g {
		return c.above(tr, ss, fmt.Sprintf("it falls at %.1f m/s², far slower than free fall (a light object: paper, a bag?)", f.gravity))
	}
	t, z, zs := f.apex()
	if rise := f.z.coef[1] + 2*f.z.coef[2]*ss[0].t; rise > maxRise {
		return c.above(tr, ss, fmt.Sprintf("the fit starts rising at %.0f m/s, which is no throw", rise))
	}
	// A tossed object left the hand before its apex, by up to ~0.3 s.
	u, us := f.along(t - 0.1)
	tr.Release = Point{u, z - releaseDrop}
	tr.Spread = Point{math.Hypot(math.Hypot(us, 0.15*math.Abs(f.u.coef[1])), 0.15), math.Hypot(zs, releaseSpread)}
	floor := c.weigh(&tr)
	switch {
	case tr.Weak != "": // at no window
	case f.used < MinSamples:
		tr.Weak = fmt.Sprintf("%d positions are too few to name a window (want %d)", f.used, MinSamples)
	default:
		if tr.FloorConfidence >= NameFloor {
			tr.Floor = floor // the floor may be sure where the column is not
		}
		if tr.Candidates[0].P < NameWindow {
			tr.Weak = "no window stands out"
		} else {
			w := tr.Candidates[0].Window
			tr.Window = &w
		}
	}
	return tr
}

// weigh gives every window its probability of being the origin, given
// the release point and its spread, and returns the likeliest floor
// (its probability in tr.FloorConfidence).
func (c *Calibration) weigh(tr *Trace) (floor int) {
	r, s := tr.Release, tr.Spread
	total, best := 0.0, 0.0
	cands := make([]Candidate, 0, len(c.grid))
	for _, w := range c.grid {
		p := mass(r.X, s.X, w.Left-reach, w.Right+reach) * mass(r.Y, s.Y, w.Bottom-reach, w.Top+reach)
		total += p
		best = max(best, p)
		if p > 0 {
			cands = append(cands, Candidate{w, p})
		}
	}
	if best < 0.02 {
		tr.Weak = fmt.Sprintf("the release point (%.1f m along, %.1f m up) is at no window", r.X, r.Y)
	}
	if total == 0 {
		return 0
	}
	floors := map[int]float64{}
	for i := range cands {
		cands[i].P /= total
		floors[cands[i].Floor] += cands[i].P
	}
	slices.SortStableFunc(cands, func(a, b Candidate) int {
		if a.P != b.P {
			if a.P > b.P {
				return -1
			}
			return 1
		}
		return cmpWindow(a.Window, b.Window)
	})
	floor, tr.FloorConfidence = cands[0].Floor, floors[cands[0].Floor]
	for f, p := range floors {
		if p > tr.FloorConfidence {
			floor, tr.FloorConfidence = f, p
		}
	}
	tr.Confidence = cands[0].P
	n := 0
	for n < len(cands) && n < maxCandidates && (n < 2 || cands[n].P >= 0.02) {
		n++
	}
	tr.Candidates = cands[:n]
	return floor
}

// above names, for a track that cannot be traced back, every window at
// or above where the object was first seen in the columns it fell past:
// it came from one of them, and the console says so.
func (c *Calibration) above(tr Trace, ss []sample, why string) Trace {
	tr.Weak = why
	if len(ss) == 0 {
		return tr
	}
	first := ss[0]
	lo, hi := first.u, first.u
	for _, s := range ss {
		lo, hi = min(lo, s.u), max(hi, s.u)
	}
	lo, hi = lo-1, hi+1 // drift on the way down
	var cands []Candidate
	for _, w := range c.grid {
		if w.Right >= lo && w.Left <= hi && w.Top+reach >= first.z {
			cands = append(cands, Candidate{Window: w})
		}
	}
	for i := range cands {
		cands[i].P = 1 / float64(len(cands))
	}
	if len(cands) > 0 {
		tr.Confidence = cands[0].P
	}
	tr.Candidates = cands
	return tr
}

// mass is the probability that a normal variable of mean m and spread s
// lies in [lo, hi].
func mass(m, s, lo, hi float64) float64 {
	if s <= 0 {
		if m >= lo && m <= hi {
			return 1
		}
		return 0
	}
	return 0.5 * (math.Erf((hi-m)/(s*math.Sqrt2)) - math.Erf((lo-m)/(s*math.Sqrt2)))
}
