package facade

import "math"

// g is standard gravity. Over a fall of a few seconds, drag slows a dense
// object (a bottle, a brick) by a few per cent; light ones far more.
const g = 9.807

// sample is one track position on the façade, with its noise in metres.
type sample struct {
	u, z, t float64
	sigma   float64
}

// line is a weighted least-squares fit of y = Σ coef[k]·t^k (k < n), with
// the coefficients' covariance scaled by how well the fit holds.
type line struct {
	coef [3]float64
	cov  [3][3]float64
	chi2 float64 // Σ ((y - fit)/σ)²
	dof  int
}

// polyFit fits the first n powers of t to y(s) over the samples used,
// with the t² coefficient held near prior's when prior is set. ok is
// false when the samples do not determine it (all at one time).
func polyFit(ss []sample, use []bool, n int, y func(sample) float64, prior *curvature) (l line, ok bool) {
	p := lsq{n: n}
	for i, s := range ss {
		if use[i] {
			p.add(&[3]float64{1, s.t, s.t * s.t}, y(s), 1/(s.sigma*s.sigma))
		}
	}
	if prior != nil {
		p.add(&[3]float64{2: 1}, prior.c, 1/(prior.spread*prior.spread))
	}
	x, inv, ok := p.solve()
	if !ok {
		return l, false
	}
	l.coef = x
	for i, s := range ss {
		if use[i] {
			r := (y(s) - l.at(s.t)) / s.sigma
			l.chi2 += r * r
		}
	}
	l.dof = p.rows - n
	// Noise the pixel estimate understated widens the spread with it.
	scale := 1.0
	if l.dof > 0 {
		scale = max(1, l.chi2/float64(l.dof))
	}
	for r := range n {
		for c := range n {
			l.cov[r][c] = inv[r][c] * scale
		}
	}
	return l, true
}

func (l *line) at(t float64) float64 { return l.coef[0] + l.coef[1]*t + l.coef[2]*t*t }

// fall is a track fitted to a fall under gravity: height
// z(t) = a + b·t - g·t²/2 and position u(t) = c + d·t on the façade.
type fall struct {
	z, u    line
	used    int
	gravity float64 // fitted freely, NaN when the track is too short to tell
	gSpread float64
}

// fitFall fits the samples, sets aside those far off the fit (a false
// detection, a swapped object) and fits again.
func fitFall(ss []sample) (f fall, ok bool) {
	use := make([]bool, len(ss))
	for i := range use {
		use[i] = true
	}
	along := func(s sample) float64 { return s.u }
	height := func(s sample) float64 { return s.z }
	for pass := 0; ; pass++ {
		if f.z, ok = polyFit(ss, use, 3, height, &denseFall); !ok {
			return f, false
		}
		if f.u, ok = polyFit(ss, use, 2, along, nil); !ok {
			return f, false
		}
		if pass == 1 || f.z.dof < 4 {
			break
		}
		limit := 4 * math.Sqrt(max(1, f.z.chi2/float64(f.z.dof)))
		dropped := 0
		for i, s := range ss {
			if use[i] && math.Abs(s.z-f.z.at(s.t))/s.sigma > limit {
				use[i] = false
				dropped++
			}
		}
		if dropped == 0 || dropped > len(ss)/4 {
			break
		}
	}
	f.used = 0
	for _, u := range use {
		if u {
			f.used++
		}
	}
	f.gravity, f.gSpread = math.NaN(), math.Inf(1)
	if f.used >= 4 {
		if free, ok := polyFit(ss, use, 3, height, nil); ok {
			f.gravity, f.gSpread = -2*free.coef[2], 2*math.Sqrt(free.cov[2][2])
		}
	}
	return f, true
}

// apex is when the fitted fall was highest: where a dropped object (no
// vertical speed) left the hand, and above where a tossed one did.
func (f *fall) apex() (t, z, zSpread float64) {
	a, b, c := f.z.coef[0], f.z.coef[1], f.z.coef[2]
	acc := -2 * c
	t = b / acc
	z = a + b*b/(2*acc)
	// z = a - b²/4c: its gradient over (a, b, c).
	j := [3]float64{1, b / acc, b * b / (4 * c * c)}
	v := 0.0
	for r := range 3 {
		for k := range 3 {
			v += j[r] * j[k] * f.z.cov[r][k]
		}
	}
	return t, z, math.Sqrt(max(0, v))
}

// curvature is a prior on a fit's t² coefficient.
type curvature struct{ c, spread float64 }

// denseFall is the prior of a fall: dense objects (a bottle, fruit, a
// brick) reach 35-50 m/s at most, so over the speeds of a few floors'
// fall drag takes 3-10 % off gravity; the fit takes the acceleration as
// 9.3 ± 0.6 m/s², and the t² coefficient is half of it, downwards.
var denseFall = curvature{c: -9.3 / 2, spread: 0.6 / 2}

// along is the fitted position at t and its spread.
func (f *fall) along(t float64) (u, spread float64) {
	c := f.u.cov
	v := c[0][0] + 2*t*c[0][1] + t*t*c[1][1]
	return f.u.coef[0] + f.u.coef[1]*t, math.Sqrt(max(0, v))
}
