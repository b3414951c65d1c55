package report

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/shouwang-iot/shouwang/internal/stamp"
)

// maxSpan is the longest a track may last, in seconds: a fall from 100 m
// takes under 5 s, so minutes mean a unit mistaken (ms read as s) or
// samples of several events run together. maxCoord bounds a coordinate:
// image pixels and models' own ranges (Dahua's 0–8191) stay far below it.
const (
	maxSpan  = 60.0
	maxCoord = 1e5
)

// readTrack reads the samples in document order. Their times must
// increase strictly: a track is the camera's record of one object, and a
// step back or a repeat means a broken clock or several objects mixed, so
// it is refused rather than reordered into a path nobody saw.
func (m *Model) readTrack(doc document) ([]Sample, *Error) {
	t := &m.Track
	items, ok, err := doc.list(t.Path, maxSamples)
	switch {
	case err != nil:
		return nil, fail(ReasonTooLarge, "the track %s %v (at most %d samples)", t.Path, err, maxSamples)
	case !ok:
		return nil, fail(ReasonNoTrack, "the document has no %s (the track)", t.Path)
	case len(items) == 0:
		return nil, fail(ReasonNoTrack, "the track %s is empty", t.Path)
	}
	out := make([]Sample, 0, len(items))
	var origin sampleTime
	for i, it := range items {
		at := t.Path + "." + strconv.Itoa(i)
		x, y, err := t.position(it, at)
		if err != nil {
			return nil, err
		}
		st, err := t.sampleTime(it, i, at)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			origin = st
		}
		sec := st.since(origin)
		switch {
		case i > 0 && !(sec > out[i-1].T):
			return nil, fail(ReasonBadTrack, "%s is %gs after the first sample, not after the previous one's %gs (times must increase: a repeat or a step back is malformed)",
				at, sec, out[i-1].T)
		case sec > maxSpan:
			return nil, fail(ReasonBadTrack, "%s is %gs after the first sample; a track lasts at most %gs (is t_unit or fps right?)", at, sec, maxSpan)
		}
		out = append(out, Sample{X: x, Y: y, T: sec})
	}
	return out, nil
}

// position reads a sample's position: the point, or the box's centre.
func (t *Track) position(it document, at string) (x, y float64, e *Error) {
	num := func(path string) float64 {
		if e != nil {
			return 0
		}
		v, ok := it.value(path)
		if !ok {
			e = fail(ReasonBadTrack, "%s has no %s", at, path)
			return 0
		}
		n, err := v.number()
		if err == nil && math.Abs(n) > maxCoord {
			err = fmt.Errorf("%g is out of range (at most %g)", n, float64(maxCoord))
		}
		if err != nil {
			e = fail(ReasonBadTrack, "%s.%s %v", at, path, err)
		}
		return n
	}
	switch b := t.Box; {
	case t.Point != nil:
		x, y = num(t.Point.X), num(t.Point.Y)
	case b.sized():
		bx, by, w, h := num(b.X), num(b.Y), num(b.Width), num(b.Height)
		if e == nil && (w < 0 || h < 0) {
			e = fail(ReasonBadTrack, "%s: the box is %g wide and %g high; a size cannot be negative", at, w, h)
		}
		x, y = bx+w/2, by+h/2
	default:
		l, tp, r, bt := num(b.Left), num(b.Top), num(b.Right), num(b.Bottom)
		if e == nil && (r < l || bt < tp) {
			e = fail(ReasonBadTrack, "%s: the box is inside out (left %g, right %g, top %g, bottom %g; right must be ≥ left and bottom ≥ top)", at, l, r, tp, bt)
		}
		x, y = (l+r)/2, (tp+bt)/2
	}
	if e == nil && (x < 0 || y < 0) {
		e = fail(ReasonBadTrack, "%s is at (%g, %g), outside the image (coordinates start at 0)", at, x, y)
	}
	return x, y, e
}

// sampleTime is one sample's time as read: a number in seconds' units
// (a t, a frame number), or an instant.
type sampleTime struct {
	n     float64   // t in its unit, a frame number, or an index
	scale float64   // seconds per unit of n
	at    time.Time // an RFC 3339 t
}

// since is the time from o to s in seconds. Numbers are subtracted before
// they are scaled, so epoch milliseconds keep their precision.
func (s sampleTime) since(o sampleTime) float64 {
	if !s.at.IsZero() {
		return s.at.Sub(o.at).Seconds()
	}
	return (s.n - o.n) * s.scale
}

func (t *Track) sampleTime(it document, i int, at string) (sampleTime, *Error) {
	if t.T == "" && t.Frame == "" {
		return sampleTime{n: float64(i), scale: 1 / t.FPS}, nil
	}
	path := t.T
	if path == "" {
		path = t.Frame
	}
	v, ok := it.value(path)
	if !ok {
		return sampleTime{}, fail(ReasonBadTrack, "%s has no %s (the sample's time)", at, path)
	}
	if t.TUnit == TRFC3339 {
		s, err := v.str()
		if err == nil {
			var ts time.Time
			if ts, err = stamp.ParseRFC3339(s); err == nil {
				return sampleTime{at: ts}, nil
			}
		}
		return sampleTime{}, fail(ReasonBadTrack, "%s.%s %v", at, path, err)
	}
	n, err := v.number()
	switch {
	case err != nil:
	case n < 0:
		err = fmt.Errorf("%g is negative", n)
	case t.Frame != "" && n != math.Trunc(n):
		err = fmt.Errorf("%g is not a frame number", n)
	}
	if err != nil {
		return sampleTime{}, fail(ReasonBadTrack, "%s.%s %v", at, path, err)
	}
	scale := 1.0
	switch {
	case t.Frame != "":
		scale = 1 / t.FPS
	case t.TUnit == TMillis:
		scale = 1e-3
	case t.TUnit == TMicros:
		scale = 1e-6
	}
	return sampleTime{n: n, scale: scale}, nil
}
