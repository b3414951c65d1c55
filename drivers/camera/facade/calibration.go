// Package facade traces a falling object seen by a camera at the foot of
// a building back to the window it left from. A calibration ties the
// camera's image to the façade (a plane homography from four corners) and
// lays out its floors and windows; Trace maps a track onto the façade,
// fits a fall under gravity to it, and weighs every window as the origin.
package facade

import (
	"fmt"
	"math"
	"slices"

	"github.com/shouwang-iot/shouwang"
)

// Calibration is what an installer measures once per camera: where the
// façade's corners are in the image, how large it is, and where its
// floors and windows are. Metres are along the façade from its left edge
// (as the camera sees it) and up from the ground.
type Calibration struct {
	// Corners are the façade's corners in the camera's image coordinates
	// (pixels, or the camera's own range such as 0-8191): the same
	// coordinates its events report positions in.
	Corners Corners `yaml:"corners"`
	// Width is the façade's width between the left and right corners;
	// Height from the bottom corners up to the top ones.
	Width  float64 `yaml:"width"`
	Height float64 `yaml:"height"`
	// Bottom is how high above the ground the bottom corners are (a
	// camera that cannot see the podium). Default 0.
	Bottom float64 `yaml:"bottom"`
	// Floors is the number of floors above ground.
	Floors int `yaml:"floors"`
	// FloorHeight is the storey height: 2.8 m in much older housing
	// (GB 50096), 3.0 m in new builds. GroundFloorHeight is the ground
	// floor's, when it is taller (shops, a lobby). Default FloorHeight.
	FloorHeight       float64 `yaml:"floor_height"`
	GroundFloorHeight float64 `yaml:"ground_floor_height"`
	// Sill is a window's sill above its floor (default 0.9 m) and
	// WindowHeight its opening (default 1.5 m), for Columns.
	Sill         float64 `yaml:"sill"`
	WindowHeight float64 `yaml:"window_height"`
	// Columns are the window columns, the same on every floor; Windows is
	// a full grid instead, for a façade whose floors differ.
	Columns []Column    `yaml:"columns"`
	Windows []WindowMap `yaml:"windows"`
	// PixelNoise is one reported position's noise, in image units (one
	// sigma). Default 2.
	PixelNoise float64 `yaml:"pixel_noise"`

	toFacade, toImage Homography
	grid              []Window
}

// Corners are four image positions, each [x, y].
type Corners struct {
	TopLeft     []float64 `yaml:"top_left"`
	TopRight    []float64 `yaml:"top_right"`
	BottomRight []float64 `yaml:"bottom_right"`
	BottomLeft  []float64 `yaml:"bottom_left"`
}

// points gives the corners in order; one that is not [x, y] is NaN.
func (c Corners) points() [4]Point {
	var out [4]Point
	for i, xy := range [4][]float64{c.TopLeft, c.TopRight, c.BottomRight, c.BottomLeft} {
		if len(xy) != 2 {
			out[i] = Point{math.NaN(), math.NaN()}
			continue
		}
		out[i] = Point{xy[0], xy[1]}
	}
	return out
}

// Column is one column of windows: its left and right edges in metres
// from the façade's left edge. Room, if set, is the door number's last
// digits ("02" gives room 1202 on the 12th floor); Unit the unit (单元)
// the column's flats belong to, when the façade spans several.
type Column struct {
	Left  float64 `yaml:"left"`
	Right float64 `yaml:"right"`
	Room  string  `yaml:"room"`
	Unit  string  `yaml:"unit"`
}

// WindowMap is one window of a full grid: its floor, its edges in metres
// (Bottom and Top above its floor), and its room.
type WindowMap struct {
	Floor  int     `yaml:"floor"`
	Column int     `yaml:"column"`
	Left   float64 `yaml:"left"`
	Right  float64 `yaml:"right"`
	Bottom float64 `yaml:"bottom"`
	Top    float64 `yaml:"top"`
	Room   string  `yaml:"room"`
	Unit   string  `yaml:"unit"`
}

// Window is one window on the façade, in absolute metres.
type Window struct {
	Floor, Column            int
	Left, Right, Bottom, Top float64
	Room, Unit               string
}

// Label names the window for people: "12F-3 (1202)".
func (w Window) Label() string {
	if w.Room != "" {
		return fmt.Sprintf("%dF-%d (%s)", w.Floor, w.Column, w.Room)
	}
	return fmt.Sprintf("%dF-%d", w.Floor, w.Column)
}

// Validate reports every problem, each field named below at, and
// prepares the calibration for Trace when there is none.
func (c *Calibration) Validate(fe *shouwang.FieldErrors, at string) {
	n := len(*fe)
	if c.GroundFloorHeight == 0 {
		c.GroundFloorHeight = c.FloorHeight
	}
	if c.Sill == 0 {
		c.Sill = 0.9
	}
	if c.WindowHeight == 0 {
		c.WindowHeight = 1.5
	}
	if c.PixelNoise == 0 {
		c.PixelNoise = 2
	}
	if !(c.PixelNoise > 0 && c.PixelNoise < 1000) {
		fe.Add(at+".pixel_noise", "%g is out of range (valid: above 0, in image units, e.g. 2)", c.PixelNoise)
	}
	corners := c.Corners.points()
	for i, p := range corners {
		if !finite(p.X) || !finite(p.Y) {
			fe.Add(at+".corners."+cornerNames[i], "is not a position (want [x, y] in the camera's image coordinates)")
		}
	}
	switch {
	case len(*fe) > n:
	case !convex(corners):
		fe.Add(at+".corners", "top_left, top_right, bottom_right, bottom_left do not make a convex quadrilateral in that order (corners crossed, swapped, or three in a line)")
	case corners[0].Y >= corners[3].Y || corners[1].Y >= corners[2].Y:
		fe.Add(at+".corners", "a top corner is not above its bottom corner in the image (image y grows downwards)")
	}
	positive := func(field string, v, lo, hi float64) {
		if !(v >= lo && v <= hi) {
			fe.Add(at+"."+field, "%g is out of range (valid: %g to %g m)", v, lo, hi)
		}
	}
	positive("width", c.Width, 1, 500)
	positive("height", c.Height, 2, 500)
	positive("floor_height", c.FloorHeight, 2, 8)
	positive("ground_floor_height", c.GroundFloorHeight, 2, 12)
	positive("sill", c.Sill, 0.05, 2)
	positive("window_height", c.WindowHeight, 0.3, 4)
	if c.Bottom < 0 || c.Bottom > 200 || !finite(c.Bottom) {
		fe.Add(at+".bottom", "%g is out of range (valid: 0 to 200 m above ground)", c.Bottom)
	}
	if c.Floors < 1 || c.Floors > 150 {
		fe.Add(at+".floors", "%d is out of range (valid: 1 to 150)", c.Floors)
	}
	if len(*fe) > n {
		return
	}
	if roof := c.FloorBase(c.Floors + 1); c.Bottom+c.Height > roof+c.FloorHeight+3 || c.Bottom >= roof {
		fe.Add(at+".height", "the façade seen spans %.1f to %.1f m, but %d floors (ground %.2f m, then %.2f m) reach %.1f m: check floors and the heights",
			c.Bottom, c.Bottom+c.Height, c.Floors, c.GroundFloorHeight, c.FloorHeight, roof)
	}
	switch {
	case len(c.Columns) > 0 && len(c.Windows) > 0:
		fe.Add(at+".windows", "give columns or a full grid of windows, not both")
	case len(c.Columns) == 0 && len(c.Windows) == 0:
		fe.Add(at+".columns", "is empty (want the window columns, e.g. - {left: 1.2, right: 2.8, room: \"01\"}, or a full grid under windows)")
	}
	c.grid = c.grid[:0]
	for i, col := range c.Columns {
		field := fmt.Sprintf("%s.columns[%d]", at, i)
		if !c.span(fe, field, col.Left, col.Right) {
			continue
		}
		if i > 0 && col.Left < c.Columns[i-1].Right {
			fe.Add(field+".left", "%g overlaps columns[%d], which ends at %g (list columns left to right)", col.Left, i-1, c.Columns[i-1].Right)
		}
		for f := 1; f <= c.Floors; f++ {
			base := c.FloorBase(f)
			w := Window{Floor: f, Column: i + 1, Left: col.Left, Right: col.Right,
				Bottom: base + c.Sill, Top: base + c.Sill + c.WindowHeight, Unit: col.Unit}
			if col.Room != "" {
				w.Room = fmt.Sprintf("%d%s", f, col.Room)
			}
			c.grid = append(c.grid, w)
		}
	}
	seen := map[[2]int]int{}
	for i, wm := range c.Windows {
		field := fmt.Sprintf("%s.windows[%d]", at, i)
		if wm.Floor < 1 || wm.Floor > c.Floors {
			fe.Add(field+".floor", "%d is out of range (valid: 1 to floors, %d)", wm.Floor, c.Floors)
			continue
		}
		if j, dup := seen[[2]int{wm.Floor, wm.Column}]; dup {
			fe.Add(field+".column", "floor %d column %d is also windows[%d]", wm.Floor, wm.Column, j)
		}
		seen[[2]int{wm.Floor, wm.Column}] = i
		if wm.Column < 1 {
			fe.Add(field+".column", "%d is out of range (columns count from 1, left to right)", wm.Column)
		}
		if !(wm.Bottom >= 0 && wm.Top > wm.Bottom && wm.Top <= 12) {
			fe.Add(field+".top", "bottom %g and top %g are not an opening above the floor (want 0 <= bottom < top <= 12 m, e.g. 0.9 and 2.4)", wm.Bottom, wm.Top)
			continue
		}
		if c.span(fe, field, wm.Left, wm.Right) {
			base := c.FloorBase(wm.Floor)
			c.grid = append(c.grid, Window{Floor: wm.Floor, Column: wm.Column, Left: wm.Left, Right: wm.Right,
				Bottom: base + wm.Bottom, Top: base + wm.Top, Room: wm.Room, Unit: wm.Unit})
		}
	}
	if len(*fe) > n {
		return
	}
	slices.SortFunc(c.grid, func(a, b Window) int { return cmpWindow(a, b) })
	top := c.Bottom + c.Height
	onFacade := [4]Point{{0, top}, {c.Width, top}, {c.Width, c.Bottom}, {0, c.Bottom}}
	h, err := HomographyFrom(corners, onFacade)
	if err != nil {
		fe.Add(at+".corners", "%v", err)
		return
	}
	c.toFacade = h
	c.toImage, _ = HomographyFrom(onFacade, corners) // a rectangle: never degenerate
}

var cornerNames = [4]string{"top_left", "top_right", "bottom_right", "bottom_left"}

// span checks a window's horizontal edges against the façade.
func (c *Calibration) span(fe *shouwang.FieldErrors, field string, left, right float64) bool {
	if !(left >= 0 && right > left && right <= c.Width) {
		fe.Add(field+".right", "left %g and right %g are not a span of the façade (want 0 <= left < right <= width, %g m)", left, right, c.Width)
		return false
	}
	return true
}

// FloorBase is the height of floor f's floor above the ground: floor 1
// at 0, floor 2 on top of the ground floor, and so on; Floors+1 is the
// roof.
func (c *Calibration) FloorBase(f int) float64 {
	if f <= 1 {
		return 0
	}
	return c.GroundFloorHeight + float64(f-2)*c.FloorHeight
}

// FloorAt is the floor whose storey holds height z (0 below ground,
// Floors+1 above the roof).
func (c *Calibration) FloorAt(z float64) int {
	switch {
	case z < 0:
		return 0
	case z < c.GroundFloorHeight:
		return 1
	}
	return min(c.Floors+1, 2+int((z-c.GroundFloorHeight)/c.FloorHeight))
}

// Grid lists the windows, floor by floor from the bottom, left to right.
func (c *Calibration) Grid() []Window { return c.grid }

// ToFacade maps an image position onto the façade, in metres.
func (c *Calibration) ToFacade(p Point) (Point, bool) { return c.toFacade.Map(p) }

// ToImage maps a façade position (metres) to where the camera sees it.
func (c *Calibration) ToImage(p Point) (Point, bool) { return c.toImage.Map(p) }

func cmpWindow(a, b Window) int {
	if a.Floor != b.Floor {
		return a.Floor - b.Floor
	}
	return a.Column - b.Column
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
