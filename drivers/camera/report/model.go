package report

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/stamp"
)

// Event document formats a model may send.
const (
	FormatJSON = "json" // an object; fields by path ("track.0.x")
	FormatXML  = "xml"  // one root element; paths start below it (see Model)
)

// Units of a track sample's time (Track.TUnit). Numbers may be relative
// (0, 0.04, ...) or absolute (epoch milliseconds, a stream's PTS): the
// first sample's is subtracted either way.
const (
	TSeconds = "s"
	TMillis  = "ms"
	TMicros  = "us"
	TRFC3339 = "rfc3339"
)

// minFPS and maxFPS bound a model's frame rate: outside them a typo
// (25000 for 25) is likelier than a camera.
const (
	minFPS = 1
	maxFPS = 1000
)

// Model is the "camera:" section of a device profile: how one camera
// model's throw event reads.
//
// Paths name fields the same way in both formats: names separated by
// dots, a number indexing an array ("track.0.x"). In XML a path starts
// below the root element ("eventType" in <EventNotificationAlert>),
// namespaces are ignored, a name selects the child elements so named and
// a number picks one of them ("TrackList.Point.2.X"); an attribute reads
// like a child element of its name when the element has no such child.
type Model struct {
	// Format is json or xml.
	Format string `yaml:"format"`
	// Match lists conditions that must all hold for a document to be a
	// throw; others (heartbeats, other alarms pushed to the same host)
	// decode to ErrNotThrow. Left out, every document is a throw.
	Match []Match `yaml:"match"`
	// Camera is the path of the camera's own id (a serial, a MAC, a
	// channel); left out, Report.Camera is "".
	Camera string `yaml:"camera"`
	// Time is the path of the event's timestamp; left out, Report.Time is
	// zero and the driver takes the receive time.
	Time string `yaml:"time"`
	// TimeUnit is auto (default), s, ms or rfc3339.
	TimeUnit string `yaml:"time_unit"`
	// Track says where the object's positions are and how they read.
	Track Track `yaml:"track"`
	// Images are paths of base64 pictures in the document (a string or an
	// array of strings each; a data: URI prefix is allowed). Pictures sent
	// as multipart parts need no path.
	Images []string `yaml:"images"`
	// URLs are paths of picture or clip URLs the camera keeps (a string or
	// an array of strings each).
	URLs []string `yaml:"urls"`
}

// Match is one condition: the field holds one of Values (compared as
// text, ignoring case and surrounding space; a number as written, 1 as "1").
type Match struct {
	Field  string   `yaml:"field"`
	Values []string `yaml:"values"`
}

// Track is where the object's path is: an array (JSON) or repeated element
// (XML) at Path, one position per element, read by Point or Box through
// paths relative to the element. Each sample's time comes from T (in
// TUnit), from Frame at FPS frames a second, or, with neither, from its
// index at FPS. Coordinates are the camera's own (pixels, or a model's
// range such as 0–8191): calibration uses the same, so none are scaled.
type Track struct {
	Path  string  `yaml:"path"`
	Point *Point  `yaml:"point"`
	Box   *Box    `yaml:"box"`
	T     string  `yaml:"t"`
	TUnit string  `yaml:"t_unit"`
	Frame string  `yaml:"frame"`
	FPS   float64 `yaml:"fps"`
}

// Point reads a position from two fields.
type Point struct {
	X string `yaml:"x"`
	Y string `yaml:"y"`
}

// Box reads a bounding box, either by its edges (Left, Top, Right,
// Bottom) or by its top left corner and size (X, Y, Width, Height); the
// position is its centre.
type Box struct {
	Left   string `yaml:"left"`
	Top    string `yaml:"top"`
	Right  string `yaml:"right"`
	Bottom string `yaml:"bottom"`
	X      string `yaml:"x"`
	Y      string `yaml:"y"`
	Width  string `yaml:"width"`
	Height string `yaml:"height"`
}

func (b *Box) edges() bool { return b.Left != "" || b.Top != "" || b.Right != "" || b.Bottom != "" }
func (b *Box) sized() bool { return b.X != "" || b.Y != "" || b.Width != "" || b.Height != "" }

// Validate reports every problem with the section.
func (m *Model) Validate() error {
	var fe shouwang.FieldErrors
	if m.TimeUnit == "" {
		m.TimeUnit = stamp.Auto
	}
	if m.Track.T != "" && m.Track.TUnit == "" {
		m.Track.TUnit = TSeconds
	}
	if m.Format != FormatJSON && m.Format != FormatXML {
		fe.Add("format", "%q is not an event format (valid: %s, %s)", m.Format, FormatJSON, FormatXML)
	}
	for i, c := range m.Match {
		at := fmt.Sprintf("match[%d]", i)
		checkPath(&fe, at+".field", c.Field, false)
		if len(c.Values) == 0 {
			fe.Add(at+".values", "is required (the values that make the document a throw, e.g. [HighTossDetect])")
		}
	}
	checkPath(&fe, "camera", m.Camera, true)
	checkPath(&fe, "time", m.Time, true)
	if !slices.Contains(stamp.Units, m.TimeUnit) {
		fe.Add("time_unit", "%q is not a time unit (valid: %s)", m.TimeUnit, strings.Join(stamp.Units, ", "))
	}
	m.Track.validate(&fe)
	for i, p := range m.Images {
		checkPath(&fe, fmt.Sprintf("images[%d]", i), p, false)
	}
	for i, p := range m.URLs {
		checkPath(&fe, fmt.Sprintf("urls[%d]", i), p, false)
	}
	return fe.Err()
}

func (t *Track) validate(fe *shouwang.FieldErrors) {
	checkPath(fe, "track.path", t.Path, false)
	switch {
	case t.Point != nil && t.Box != nil:
		fe.Add("track", "has both point and box (a sample is read one way)")
	case t.Point != nil:
		checkPath(fe, "track.point.x", t.Point.X, false)
		checkPath(fe, "track.point.y", t.Point.Y, false)
	case t.Box != nil:
		b := t.Box
		switch {
		case b.edges() && b.sized():
			fe.Add("track.box", "mixes edges (left, top, right, bottom) with corner and size (x, y, width, height); use one")
		case b.sized():
			checkPath(fe, "track.box.x", b.X, false)
			checkPath(fe, "track.box.y", b.Y, false)
			checkPath(fe, "track.box.width", b.Width, false)
			checkPath(fe, "track.box.height", b.Height, false)
		default:
			checkPath(fe, "track.box.left", b.Left, false)
			checkPath(fe, "track.box.top", b.Top, false)
			checkPath(fe, "track.box.right", b.Right, false)
			checkPath(fe, "track.box.bottom", b.Bottom, false)
		}
	default:
		fe.Add("track", "has neither point nor box (valid: point {x, y}, box {left, top, right, bottom} or box {x, y, width, height})")
	}
	checkPath(fe, "track.t", t.T, true)
	checkPath(fe, "track.frame", t.Frame, true)
	switch {
	case t.T != "" && t.Frame != "":
		fe.Add("track.frame", "is set beside t (a sample's time comes from one: t, or frame with fps)")
	case t.T != "" && t.FPS != 0:
		fe.Add("track.fps", "is for frame numbers or sample indexes; t gives the time itself (leave fps out)")
	case t.T == "" && t.FPS == 0:
		fe.Add("track.fps", "is required when no t is given (the frame rate of frame numbers, or of the samples themselves)")
	}
	if t.FPS != 0 && (t.FPS < minFPS || t.FPS > maxFPS) {
		fe.Add("track.fps", "%g is not a frame rate in frames a second (valid: %d to %d)", t.FPS, minFPS, maxFPS)
	}
	switch {
	case t.T == "" && t.TUnit != "":
		fe.Add("track.t_unit", "has no t field to apply to (set t, or leave t_unit out)")
	case t.T != "" && !slices.Contains([]string{TSeconds, TMillis, TMicros, TRFC3339}, t.TUnit):
		fe.Add("track.t_unit", "%q is not a sample time unit (valid: %s, %s, %s, %s)", t.TUnit, TSeconds, TMillis, TMicros, TRFC3339)
	}
}

// checkPath checks a field path: plain names and indexes, so that neither
// gjson nor the XML reader takes it for a query or modifier.
func checkPath(fe *shouwang.FieldErrors, at, path string, optional bool) {
	switch {
	case path == "" && optional:
	case path == "":
		fe.Add(at, "is required (a field path, e.g. track or data.track.0.x)")
	case !validPath(path):
		fe.Add(at, "%q is not a field path (names of letters, digits, _ or -, and array indexes, separated by dots, e.g. data.track.0.x)", path)
	}
}

func validPath(p string) bool {
	for seg := range strings.SplitSeq(p, ".") {
		if seg == "" || strings.IndexFunc(seg, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-'
		}) >= 0 {
			return false
		}
	}
	return p != ""
}
