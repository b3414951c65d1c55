package grading

import (
	"fmt"
	"time"
)

// MonthFormat is how a month is written in URLs and reports: "2026-11".
const MonthFormat = "2006-01"

// MonthRange is the month holding month, in month's time zone: from its
// first instant up to, not including, the first instant of the next.
// November 2026 in Beijing is [2026-11-01 00:00 +08:00, 2026-12-01 00:00
// +08:00), which begins at 16:00 UTC on 31 October.
func MonthRange(month time.Time) (from, to time.Time) {
	y, m, _ := month.Date()
	from = time.Date(y, m, 1, 0, 0, 0, 0, month.Location())
	return from, from.AddDate(0, 1, 0)
}

// ParseMonth reads a month written YYYY-MM ("2026-11") and returns its
// first instant in loc, the zone whose months the grades follow (UTC when
// loc is nil). The error quotes what it got and names the format.
func ParseMonth(s string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	t, err := time.ParseInLocation(MonthFormat, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("month %s is not a month (want YYYY-MM, e.g. 2026-11)", quoteShort(s))
	}
	return t, nil
}

// quoteShort quotes s for an error message, cut short when it is long:
// the month comes from a URL, and an error need not echo a page of it.
func quoteShort(s string) string {
	const limit = 32
	if len(s) > limit {
		return fmt.Sprintf("%q…", s[:limit])
	}
	return fmt.Sprintf("%q", s)
}
