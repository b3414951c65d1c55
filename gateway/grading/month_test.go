package grading

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestMonthRange(t *testing.T) {
	for _, tc := range []struct {
		name     string
		month    time.Time
		from, to time.Time
	}{
		{"November in Beijing", nov(15, 12, 0), nov(1, 0, 0), nov(31, 0, 0)},
		{"its first instant", nov(1, 0, 0), nov(1, 0, 0), nov(31, 0, 0)},
		{"its last", time.Date(2026, 11, 30, 23, 59, 59, 999999999, beijing), nov(1, 0, 0), nov(31, 0, 0)},
		{"an instant of UTC October that is November here", time.Date(2026, 10, 31, 16, 0, 0, 0, time.UTC).In(beijing), nov(1, 0, 0), nov(31, 0, 0)},
		{"the same instant in UTC is October", time.Date(2026, 10, 31, 16, 0, 0, 0, time.UTC),
			time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"December runs into the next year", time.Date(2026, 12, 31, 23, 0, 0, 0, beijing),
			time.Date(2026, 12, 1, 0, 0, 0, 0, beijing), time.Date(2027, 1, 1, 0, 0, 0, 0, beijing)},
		{"February of a leap year", time.Date(2028, 2, 10, 0, 0, 0, 0, beijing),
			time.Date(2028, 2, 1, 0, 0, 0, 0, beijing), time.Date(2028, 3, 1, 0, 0, 0, 0, beijing)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from, to := MonthRange(tc.month)
			if !from.Equal(tc.from) || !to.Equal(tc.to) {
				t.Errorf("MonthRange(%v) = [%v, %v), want [%v, %v)", tc.month, from, to, tc.from, tc.to)
			}
			if from.Location() != tc.month.Location() {
				t.Errorf("from is in %v, want the month's zone %v", from.Location(), tc.month.Location())
			}
		})
	}
	if _, to := MonthRange(nov(1, 0, 0)); to.Sub(nov(1, 0, 0)) != 30*24*time.Hour {
		t.Errorf("November is %v long, want 30 days", to.Sub(nov(1, 0, 0)))
	}
}

func TestParseMonth(t *testing.T) {
	got, err := ParseMonth("2026-11", beijing)
	if err != nil || !got.Equal(nov(1, 0, 0)) || got.Location() != beijing {
		t.Errorf(`ParseMonth("2026-11", beijing) = %v, %v; want %v`, got, err, nov(1, 0, 0))
	}
	got, err = ParseMonth("2026-01", nil)
	if want := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); err != nil || !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf(`ParseMonth("2026-01", nil) = %v, %v; want %v`, got, err, want)
	}
}

func TestParseMonthErrors(t *testing.T) {
	for _, s := range []string{
		"", "2026", "2026-1", "2026-13", "2026-00", "26-11", "2026/11", "2026-11-01", " 2026-11", "2026-11 ",
		"November", "2026-Nov", "２０２６-11", "-2026-11", "2026-+1",
	} {
		_, err := ParseMonth(s, beijing)
		if err == nil {
			t.Errorf("ParseMonth(%q) gave no error", s)
			continue
		}
		want := fmt.Sprintf("month %q is not a month (want YYYY-MM, e.g. 2026-11)", s)
		if err.Error() != want {
			t.Errorf("ParseMonth(%q): %q, want %q", s, err, want)
		}
	}
	_, err := ParseMonth(strings.Repeat("2026-11", 100), beijing)
	if err == nil || len(err.Error()) > 100 || !strings.Contains(err.Error(), "…") {
		t.Errorf("a long month: %v, want a short error that cuts it", err)
	}
}
