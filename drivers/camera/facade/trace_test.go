package facade

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang/drivers/camera/report"
)

// scene is a fixed 12-floor block (ground floor 4.2 m, then 3.0 m) and a
// camera 18 m out, for the edge cases.
func scene(t *testing.T) Scene {
	t.Helper()
	cal := Calibration{Width: 24, Floors: 12, FloorHeight: 3, GroundFloorHeight: 4.2}
	for i := range 6 {
		mid := (float64(i) + 0.5) * 4
		cal.Columns = append(cal.Columns, Column{Left: mid - 0.9, Right: mid + 0.9, Room: "0" + string(rune('1'+i))})
	}
	cal.Height = cal.FloorBase(13)
	s := Scene{Calibration: cal, Camera: Camera{Along: 12, Out: 18, Up: 1.5, Target: Point{12, cal.Height * 0.55}, Width: 3840, Height: 2160},
		FPS: 25, PixelNoise: 2, DropRate: 0.15, LateMin: 0.1, LateMax: 0.6}
	s.fit()
	if err := validate(&s.Calibration); err != nil {
		t.Fatal(err)
	}
	return s
}

// throwFrom films one dense object leaving w with velocity v.
func throwFrom(s *Scene, rng *rand.Rand, w Window, v vec) []report.Sample {
	mid := (w.Left + w.Right) / 2
	return s.film(rng, vec{mid, w.Bottom + 0.3, 0}, v, 40)
}

func TestTraceEdgeCases(t *testing.T) {
	s := scene(t)
	win := func(floor, col int) Window {
		for _, w := range s.Calibration.Grid() {
			if w.Floor == floor && w.Column == col {
				return w
			}
		}
		t.Fatalf("no window %dF-%d", floor, col)
		return Window{}
	}
	rng := rand.New(rand.NewPCG(11, 12))
	cases := []struct {
		name  string
		track func() []report.Sample
		// floor and column the trace must name, or 0 for none
		floor, column int
		weak          string // part of Weak, when no window is named
		// maybe says the window may instead be among the candidates, with
		// none named: the track leaves the origin uncertain.
		maybe bool
	}{
		{"dropped", func() []report.Sample { return throwFrom(&s, rng, win(9, 3), vec{0, 0, 0.5}) }, 9, 3, "", false},
		{"thrown outward hard", func() []report.Sample { return throwFrom(&s, rng, win(7, 2), vec{0.5, 0.5, 3}) }, 7, 2, "", false},
		{"tossed up", func() []report.Sample { return throwFrom(&s, rng, win(5, 5), vec{0, 1.5, 1}) }, 5, 5, "", false},
		{"detection starting low", func() []report.Sample {
			tr := throwFrom(&s, rng, win(11, 4), vec{0, 0, 1})
			return tr[len(tr)*2/3:] // only the last third, near the ground
		}, 11, 4, "", true},
		{"four points", func() []report.Sample { return throwFrom(&s, rng, win(8, 1), vec{0, 0, 1})[:4] }, 0, 0, "too few", false},
		{"two points", func() []report.Sample { return throwFrom(&s, rng, win(8, 1), vec{0, 0, 1})[:2] }, 0, 0, "too few", false},
		{"light object", func() []report.Sample {
			return s.film(rng, vec{win(10, 2).Left + 0.9, win(10, 2).Bottom + 0.3, 0}, vec{0, 0, 0.5}, 3)
		}, 0, 0, "slower than free fall", false},
		{"rising", func() []report.Sample {
			return []report.Sample{{X: 1000, Y: 1500, T: 0}, {X: 1000, Y: 1400, T: 0.1}, {X: 1000, Y: 1300, T: 0.2}, {X: 1000, Y: 1200, T: 0.3}, {X: 1000, Y: 1100, T: 0.4}}
		}, 0, 0, "", false},
		{"one instant", func() []report.Sample {
			return []report.Sample{{X: 1000, Y: 1500}, {X: 1001, Y: 1500}, {X: 1002, Y: 1500}}
		}, 0, 0, "do not span time", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			track := c.track()
			tr := s.Calibration.Trace(track)
			t.Logf("%d positions: release %+v ± %+v, g %.1f, floor %d (%.2f), window %v (%.2f), weak %q, %d candidates",
				len(track), tr.Release, tr.Spread, tr.Gravity, tr.Floor, tr.FloorConfidence, tr.Window, tr.Confidence, tr.Weak, len(tr.Candidates))
			if c.floor == 0 {
				if tr.Window != nil {
					t.Errorf("named window %s from weak evidence", tr.Window.Label())
				}
				if !strings.Contains(tr.Weak, c.weak) {
					t.Errorf("weak = %q, want it to say %q", tr.Weak, c.weak)
				}
				return
			}
			if c.maybe && tr.Window == nil {
				for _, cand := range tr.Candidates {
					if cand.Floor == c.floor && cand.Column == c.column {
						return
					}
				}
				t.Fatalf("%dF-%d is not among the candidates %v", c.floor, c.column, tr.Candidates)
			}
			if tr.Window == nil || tr.Window.Floor != c.floor || tr.Window.Column != c.column {
				t.Fatalf("window %v, want %dF-%d", tr.Window, c.floor, c.column)
			}
			if tr.Confidence < NameWindow || tr.Weak != "" {
				t.Errorf("confidence %.2f, weak %q", tr.Confidence, tr.Weak)
			}
		})
	}
}

func TestTraceCandidatesOfLightObjectIncludeTheOrigin(t *testing.T) {
	s := scene(t)
	rng := rand.New(rand.NewPCG(5, 6))
	for range 50 {
		th := s.Throw(rng, true)
		tr := s.Calibration.Trace(th.Track)
		if tr.Window != nil {
			t.Fatalf("light object from %s: named %s", th.Window.Label(), tr.Window.Label())
		}
		found := false
		for _, c := range tr.Candidates {
			found = found || c.Floor == th.Window.Floor && c.Column == th.Window.Column
		}
		if len(th.Track) >= 3 && !found {
			t.Errorf("light object from %s: not among %d candidates (%s)", th.Window.Label(), len(tr.Candidates), tr.Weak)
		}
	}
}

func TestCalibrationProblems(t *testing.T) {
	good := func() Calibration {
		return Calibration{Corners: Corners{TopLeft: []float64{900, 100}, TopRight: []float64{2900, 100}, BottomRight: []float64{3600, 2000}, BottomLeft: []float64{200, 2000}},
			Width: 20, Height: 36, Floors: 12, FloorHeight: 3, Columns: []Column{{Left: 1, Right: 2.8}, {Left: 5, Right: 6.8}}}
	}
	cases := []struct {
		name   string
		change func(*Calibration)
		field  string
		want   string
	}{
		{"crossed corners", func(c *Calibration) {
			c.Corners.TopRight, c.Corners.BottomRight = c.Corners.BottomRight, c.Corners.TopRight
		}, "calibration.corners", "convex"},
		{"concave", func(c *Calibration) { c.Corners.TopRight = []float64{1000, 1900} }, "calibration.corners", "convex"},
		{"three in a line", func(c *Calibration) {
			c.Corners.TopRight = []float64{1900, 1050}
			c.Corners.TopLeft = []float64{200, 100}
			c.Corners.BottomRight = []float64{3600, 2000}
		}, "calibration.corners", ""},
		{"upside down", func(c *Calibration) {
			c.Corners = Corners{TopLeft: []float64{200, 2000}, TopRight: []float64{3600, 2000}, BottomRight: []float64{2900, 100}, BottomLeft: []float64{900, 100}}
		}, "calibration.corners", ""},
		{"NaN corner", func(c *Calibration) { c.Corners.BottomLeft[0] = math.NaN() }, "calibration.corners.bottom_left", "not a position"},
		{"no floors", func(c *Calibration) { c.Floors = 0 }, "calibration.floors", "out of range"},
		{"floors do not reach", func(c *Calibration) { c.Floors = 6 }, "calibration.height", "reach"},
		{"column off the façade", func(c *Calibration) { c.Columns[1].Right = 21 }, "calibration.columns[1].right", "span"},
		{"columns overlap", func(c *Calibration) { c.Columns[1].Left = 2 }, "calibration.columns[1].left", "overlaps"},
		{"no windows", func(c *Calibration) { c.Columns = nil }, "calibration.columns", "is empty"},
		{"both", func(c *Calibration) {
			c.Windows = []WindowMap{{Floor: 1, Column: 1, Left: 1, Right: 2, Bottom: 0.9, Top: 2.4}}
		}, "calibration.windows", "not both"},
		{"grid window above the roof", func(c *Calibration) {
			c.Columns = nil
			c.Windows = []WindowMap{{Floor: 13, Column: 1, Left: 1, Right: 2, Bottom: 0.9, Top: 2.4}}
		}, "calibration.windows[0].floor", "out of range"},
	}
	c := good()
	if err := validate(&c); err != nil {
		t.Fatalf("good calibration: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.change(&c)
			err := validate(&c)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.field+": ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it at %s saying %q", err, tc.field, tc.want)
			}
		})
	}
}

func TestHomographyRoundTrip(t *testing.T) {
	src := [4]Point{{900, 100}, {2900, 140}, {3600, 2000}, {200, 1950}}
	dst := [4]Point{{0, 36}, {20, 36}, {20, 0}, {0, 0}}
	h, err := HomographyFrom(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		q, ok := h.Map(src[i])
		if !ok || math.Abs(q.X-dst[i].X) > 1e-9 || math.Abs(q.Y-dst[i].Y) > 1e-9 {
			t.Errorf("corner %d maps to %+v, want %+v", i, q, dst[i])
		}
	}
	if _, err := HomographyFrom([4]Point{{0, 0}, {1, 1}, {2, 2}, {0, 5}}, dst); err == nil {
		t.Error("three points on a line: no error")
	}
}
