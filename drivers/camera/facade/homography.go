package facade

import (
	"errors"
	"math"
)

// Point is a position: pixels in an image (X right, Y down), or metres on
// a façade (X from its left edge, Y up from the ground).
type Point struct{ X, Y float64 }

// Homography maps one plane onto another: here the image of a façade onto
// the façade itself. It is the 3×3 matrix of projective geometry, row by
// row, with the last element 1.
type Homography [9]float64

var errDegenerate = errors.New("the four points do not span a plane (three lie on one line)")

// HomographyFrom returns the homography taking each src point to the dst
// point at the same index. It solves the 8×8 linear system of the direct
// linear transform; an error means three points lie on one line.
func HomographyFrom(src, dst [4]Point) (Homography, error) {
	// Each pair gives two rows of A·h = b, for h = (h0..h7), h8 = 1:
	//   x'(h6 x + h7 y + 1) = h0 x + h1 y + h2, likewise for y'.
	var a [8][9]float64 // the augmented matrix [A | b]
	for i := range 4 {
		x, y, u, v := src[i].X, src[i].Y, dst[i].X, dst[i].Y
		a[2*i] = [9]float64{x, y, 1, 0, 0, 0, -u * x, -u * y, u}
		a[2*i+1] = [9]float64{0, 0, 0, x, y, 1, -v * x, -v * y, v}
	}
	scale := 0.0
	for _, p := range src {
		scale = max(scale, math.Abs(p.X), math.Abs(p.Y))
	}
	for col := range 8 {
		pivot := col
		for r := col + 1; r < 8; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[pivot][col]) {
				pivot = r
			}
		}
		// Relative to the coordinates' size: pixels reach thousands, and
		// their products millions.
		if math.Abs(a[pivot][col]) < 1e-12*max(1, scale*scale) {
			return Homography{}, errDegenerate
		}
		a[col], a[pivot] = a[pivot], a[col]
		for r := range 8 {
			if r == col {
				continue
			}
			f := a[r][col] / a[col][col]
			for c := col; c < 9; c++ {
				a[r][c] -= f * a[col][c]
			}
		}
	}
	var h Homography
	for i := range 8 {
		h[i] = a[i][8] / a[i][i]
	}
	h[8] = 1
	for _, p := range src {
		if w := h[6]*p.X + h[7]*p.Y + h[8]; math.Abs(w) < 1e-9 {
			return Homography{}, errDegenerate
		}
	}
	return h, nil
}

// Map takes p through the homography. ok is false for a point on the
// horizon line, which maps to infinity.
func (h *Homography) Map(p Point) (q Point, ok bool) {
	w := h[6]*p.X + h[7]*p.Y + h[8]
	if math.Abs(w) < 1e-12 {
		return Point{}, false
	}
	return Point{(h[0]*p.X + h[1]*p.Y + h[2]) / w, (h[3]*p.X + h[4]*p.Y + h[5]) / w}, true
}

// Scale is how far the mapped point moves per unit moved at p, along X
// and along Y of the source: metres per pixel when mapping an image onto
// a façade. It turns a pixel's noise into metres.
func (h *Homography) Scale(p Point) (sx, sy float64) {
	const d = 0.5
	q, _ := h.Map(p)
	qx, _ := h.Map(Point{p.X + d, p.Y})
	qy, _ := h.Map(Point{p.X, p.Y + d})
	return math.Hypot(qx.X-q.X, qx.Y-q.Y) / d, math.Hypot(qy.X-q.X, qy.Y-q.Y) / d
}

// convex reports whether the quadrilateral a-b-c-d, in that order, is
// convex: every turn goes the same way and no three corners are in line.
func convex(q [4]Point) bool {
	sign := 0.0
	for i := range 4 {
		a, b, c := q[i], q[(i+1)%4], q[(i+2)%4]
		cross := (b.X-a.X)*(c.Y-b.Y) - (b.Y-a.Y)*(c.X-b.X)
		if math.Abs(cross) < 1e-9 {
			return false
		}
		if sign != 0 && (cross > 0) != (sign > 0) {
			return false
		}
		sign = cross
	}
	return true
}
