package facade

import "math"

// lsq accumulates a weighted linear least-squares problem of up to three
// unknowns, row by row, and solves its normal equations.
type lsq struct {
	n    int
	a    [3][3]float64
	b    [3]float64
	rows int
}

func (l *lsq) add(row *[3]float64, y, w float64) {
	for r := range l.n {
		l.b[r] += w * row[r] * y
		for c := range l.n {
			l.a[r][c] += w * row[r] * row[c]
		}
	}
	l.rows++
}

// solve returns the solution and its covariance (for unit-variance
// weights); ok is false when the problem is singular.
func (l *lsq) solve() (x [3]float64, cov [3][3]float64, ok bool) {
	if l.rows < l.n {
		return x, cov, false
	}
	if cov, ok = invert(l.a, l.n); !ok {
		return x, cov, false
	}
	for r := range l.n {
		for c := range l.n {
			x[r] += cov[r][c] * l.b[c]
		}
	}
	return x, cov, true
}

// invert inverts the top-left n×n of a symmetric positive matrix by
// Gauss-Jordan elimination with partial pivoting.
func invert(a [3][3]float64, n int) (inv [3][3]float64, ok bool) {
	scale := 0.0
	for i := range n {
		inv[i][i] = 1
		scale = max(scale, math.Abs(a[i][i]))
	}
	for col := range n {
		pivot := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[pivot][col]) {
				pivot = r
			}
		}
		if math.Abs(a[pivot][col]) < 1e-13*max(1e-300, scale) {
			return inv, false
		}
		a[col], a[pivot] = a[pivot], a[col]
		inv[col], inv[pivot] = inv[pivot], inv[col]
		d := a[col][col]
		for c := range n {
			a[col][c] /= d
			inv[col][c] /= d
		}
		for r := range n {
			if r != col {
				f := a[r][col]
				for c := range n {
					a[r][c] -= f * a[col][c]
					inv[r][c] -= f * inv[col][c]
				}
			}
		}
	}
	return inv, true
}
