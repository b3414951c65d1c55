package facade

import (
	"math"
	"math/rand/v2"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/camera/report"
)

// Scene is a building and a camera at its foot, for throws whose origin
// is known: tests and the accuracy benchmark trace them back and compare.
// The camera is a pinhole in three dimensions, so an object that moves
// out from the wall is seen the way a real camera sees it, off the plane
// the calibration describes.
type Scene struct {
	Calibration Calibration
	Camera      Camera
	// FPS is the camera's frame rate, PixelNoise one position's noise
	// (pixels, one sigma) and DropRate the share of frames in which the
	// detector misses the object.
	FPS, PixelNoise, DropRate float64
	// LateMin and LateMax bound how long after the release the object is
	// first detected (seconds).
	LateMin, LateMax float64
}

// Camera is where a camera stands and looks: Along the wall from its left
// edge, Out from it, Up from the ground, in metres; Target is the façade
// point at the image's centre. Focal is in pixels.
type Camera struct {
	Along, Out, Up float64
	Target         Point
	Focal          float64
	Width, Height  int
}

type vec [3]float64 // along the wall, up, out from it

func (a vec) sub(b vec) vec     { return vec{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func (a vec) dot(b vec) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func (a vec) cross(b vec) vec {
	return vec{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
func (a vec) unit() vec {
	n := math.Sqrt(a.dot(a))
	return vec{a[0] / n, a[1] / n, a[2] / n}
}

// project gives the image position of a point, and false when it is
// behind the camera or outside the image.
func (c *Camera) project(p vec) (Point, bool) {
	eye := vec{c.Along, c.Up, c.Out}
	fwd := vec{c.Target.X, c.Target.Y, 0}.sub(eye).unit()
	right := fwd.cross(vec{0, 1, 0}).unit()
	up := right.cross(fwd)
	d := p.sub(eye)
	depth := d.dot(fwd)
	if depth <= 0.1 {
		return Point{}, false
	}
	x := float64(c.Width)/2 + c.Focal*d.dot(right)/depth
	y := float64(c.Height)/2 - c.Focal*d.dot(up)/depth
	return Point{x, y}, x >= 0 && y >= 0 && x <= float64(c.Width) && y <= float64(c.Height)
}

// RandomScene is a residential block, calibrated and validated, of 6 to 18 floors and a 4K camera
// 12 to 25 m out, looking up its façade, with realistic detector noise.
func RandomScene(rng *rand.Rand) Scene {
	fh := []float64{2.8, 2.9, 3.0}[rng.IntN(3)]
	floors := 6 + rng.IntN(13)
	ground := fh
	if rng.IntN(2) == 0 {
		ground = 3.6 + rng.Float64()*0.9 // shops or a lobby
	}
	bays := 5 + rng.IntN(6)
	bay := 3.3 + rng.Float64()*0.9
	cal := Calibration{Width: float64(bays) * bay, Floors: floors, FloorHeight: fh, GroundFloorHeight: ground}
	for i := range bays {
		w := 1.5 + rng.Float64()*0.6
		mid := (float64(i) + 0.5) * bay
		cal.Columns = append(cal.Columns, Column{Left: mid - w/2, Right: mid + w/2})
	}
	cal.Height = cal.FloorBase(floors + 1)
	cam := Camera{Along: cal.Width * (0.3 + 0.4*rng.Float64()), Out: 12 + 13*rng.Float64(), Up: 0.5 + 2.5*rng.Float64(),
		Target: Point{cal.Width / 2, cal.Height * 0.55}, Width: 3840, Height: 2160}
	cal.PixelNoise = 2
	s := Scene{Calibration: cal, Camera: cam, FPS: 25, PixelNoise: 2, DropRate: 0.15, LateMin: 0.1, LateMax: 0.6}
	s.fit()
	var fe shouwang.FieldErrors
	if s.Calibration.Validate(&fe, "calibration"); fe.Err() != nil {
		panic("facade: a generated scene is not valid: " + fe.Error())
	}
	return s
}

// fit chooses the focal length and orientation that frame the façade,
// then calibrates from where its corners land, as an installer would.
func (s *Scene) fit() {
	c := &s.Calibration
	corners := [4]vec{{0, c.Height, 0}, {c.Width, c.Height, 0}, {c.Width, 0, 0}, {0, 0, 0}}
	for range 2 { // portrait ("corridor mode") for a tall façade
		s.Camera.Focal = 1
		mx, my := 0.0, 0.0
		for _, p := range corners {
			q, _ := s.Camera.project(p)
			mx = max(mx, math.Abs(q.X-float64(s.Camera.Width)/2))
			my = max(my, math.Abs(q.Y-float64(s.Camera.Height)/2))
		}
		if my > mx && s.Camera.Height < s.Camera.Width {
			s.Camera.Width, s.Camera.Height = s.Camera.Height, s.Camera.Width
			continue
		}
		s.Camera.Focal = 0.95 * min(float64(s.Camera.Width)/2/mx, float64(s.Camera.Height)/2/my)
		break
	}
	var img [4]Point
	for i, p := range corners {
		img[i], _ = s.Camera.project(p)
	}
	c.Corners = Corners{TopLeft: []float64{img[0].X, img[0].Y}, TopRight: []float64{img[1].X, img[1].Y},
		BottomRight: []float64{img[2].X, img[2].Y}, BottomLeft: []float64{img[3].X, img[3].Y}}
}

// Throw is one generated throw and where it truly came from.
type Throw struct {
	Window  Window
	Release Point
	Light   bool // a light object, falling far slower than free fall
	Track   []report.Sample
}

// Throw drops an object from a random window above the ground floor with
// a random initial velocity (out from the wall 0.3-2.5 m/s, along it and
// up or down), lets it fall with air drag, and films it.
func (s *Scene) Throw(rng *rand.Rand, light bool) Throw {
	var wins []Window
	for _, w := range s.Calibration.Grid() {
		if w.Floor >= 2 {
			wins = append(wins, w)
		}
	}
	w := wins[rng.IntN(len(wins))]
	u0 := w.Left + 0.1 + rng.Float64()*(w.Right-w.Left-0.2)
	z0 := w.Bottom + rng.Float64()*0.6
	v := vec{rng.NormFloat64() * 0.5, -0.5 + 2*rng.Float64(), 0.3 + 2.2*rng.Float64()}
	terminal := 40.0 // a bottle, a fruit: drag barely shows
	if light {
		terminal = 2 + 4*rng.Float64()
	}
	return Throw{Window: w, Release: Point{u0, z0}, Light: light, Track: s.film(rng, vec{u0, z0, 0}, v, terminal)}
}

// film integrates the fall (gravity and quadratic drag) and samples it
// at the frame rate from the first detection on.
func (s *Scene) film(rng *rand.Rand, p, v vec, terminal float64) []report.Sample {
	const dt = 0.001
	k := g / (terminal * terminal)
	late := s.LateMin + rng.Float64()*(s.LateMax-s.LateMin)
	frame := 1 / s.FPS
	next := late + rng.Float64()*frame
	var track []report.Sample
	for t := 0.0; p[1] > 0 && t < 20; t += dt {
		if t >= next {
			next += frame
			if rng.Float64() >= s.DropRate {
				if q, ok := s.Camera.project(p); ok {
					track = append(track, report.Sample{X: q.X + rng.NormFloat64()*s.PixelNoise,
						Y: q.Y + rng.NormFloat64()*s.PixelNoise, T: t})
				}
			}
		}
		speed := math.Sqrt(v.dot(v))
		for i := range 3 {
			v[i] -= k * speed * v[i] * dt
		}
		v[1] -= g * dt
		for i := range 3 {
			p[i] += v[i] * dt
		}
	}
	if len(track) > 0 {
		t0 := track[0].T
		for i := range track {
			track[i].T -= t0
		}
	}
	return track
}
