// Package stamp reads the timestamps devices write into their messages:
// Unix seconds, milliseconds, microseconds or nanoseconds (told apart by
// their size under Auto), or RFC 3339. Every driver that takes a device's
// own time reads it here, so a time means the same from any of them.
package stamp

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Units a message's timestamp may be in.
const (
	Auto    = "auto"    // a number by its magnitude (s, ms, µs or ns), a string as RFC 3339
	Seconds = "s"       // Unix seconds, fractions allowed
	Millis  = "ms"      // Unix milliseconds
	RFC3339 = "rfc3339" // "2026-11-24T08:00:00+08:00"
)

// Units lists the valid units, for config errors.
var Units = []string{Auto, Seconds, Millis, RFC3339}

// Text reads a timestamp written as text: a number under Seconds and
// Millis (and under Auto when it is one), RFC 3339 otherwise.
func Text(s, unit string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if unit != RFC3339 {
		if n, err := strconv.ParseFloat(s, 64); err == nil {
			return Number(n, unit)
		} else if unit != Auto {
			return time.Time{}, fmt.Errorf("%q is not a number of %s", clip(s), unit)
		}
	}
	t, err := ParseRFC3339(s)
	if err != nil {
		return t, err
	}
	return t, checkYear(t)
}

// Number reads a timestamp written as a number.
func Number(n float64, unit string) (time.Time, error) {
	if unit == RFC3339 {
		return time.Time{}, fmt.Errorf("is a number, not an RFC 3339 time (e.g. 2026-11-24T08:00:00+08:00)")
	}
	nsPer := 1e9 // seconds
	switch a := math.Abs(n); {
	case unit == Millis, unit == Auto && a >= 1e11 && a < 1e14:
		nsPer = 1e6
	case unit == Auto && a >= 1e14 && a < 1e17:
		nsPer = 1e3
	case unit == Auto && a >= 1e17:
		nsPer = 1
	}
	if math.IsNaN(n) || math.Abs(n*nsPer) >= 9e18 {
		return time.Time{}, fmt.Errorf("%g is out of range", n)
	}
	// Whole and fraction apart: 1795478400123 ms times 1e6 in one float64
	// lands a few ns off, and a message sent again must carry the same
	// time. A fraction of a second or millisecond is rounded to the
	// microsecond, all a float64 of that size holds.
	whole, frac := math.Modf(n)
	fracNs := math.Round(frac * nsPer)
	if nsPer >= 1e6 {
		fracNs = math.Round(frac*nsPer/1e3) * 1e3
	}
	t := time.Unix(0, int64(whole)*int64(nsPer)+int64(fracNs))
	return t, checkYear(t)
}

// ParseRFC3339 reads an RFC 3339 time; minutes without seconds
// ("2009-11-14T15:27Z", as Hikvision's ISAPI examples write) are taken
// too. A time without a zone is refused: the device's zone is unknown.
func ParseRFC3339(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time with a zone (e.g. 2026-11-24T08:00:00+08:00)", clip(s))
}

// checkYear refuses the times of a clock never set and of a unit
// mistaken (milliseconds read as seconds).
func checkYear(t time.Time) error {
	switch y := t.UTC().Year(); {
	case y < 2000:
		return fmt.Errorf("%s is before 2000 (a device clock never set?)", t.UTC().Format(time.RFC3339))
	case y >= 2200:
		return fmt.Errorf("%s is after 2200 (a unit mistaken?)", t.UTC().Format(time.RFC3339))
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
