package grading

import (
	"strings"
	"testing"
)

// FuzzParseMonth checks that ParseMonth never panics, that what it takes
// is a month's first instant written back as it came, and that what it
// refuses gets a short error naming the format.
func FuzzParseMonth(f *testing.F) {
	for _, s := range []string{"2026-11", "2026-13", "0000-01", "9999-12", "", "2026-1", "2026-11-01", "\xff\xfe", "２０２６-11"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMonth(s, beijing)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "month ") || !strings.HasSuffix(msg, "(want YYYY-MM, e.g. 2026-11)") || len(msg) > 200 {
				t.Fatalf("ParseMonth(%q): unclear error %q", s, msg)
			}
			return
		}
		if got := m.Format(MonthFormat); got != s {
			t.Fatalf("ParseMonth(%q) = %v, which writes as %q", s, m, got)
		}
		if from, _ := MonthRange(m); !from.Equal(m) || m.Location() != beijing {
			t.Fatalf("ParseMonth(%q) = %v, want the first instant of the month in the zone given", s, m)
		}
		if m.Day() != 1 || m.Hour() != 0 || m.Minute() != 0 || m.Second() != 0 || m.Nanosecond() != 0 {
			t.Fatalf("ParseMonth(%q) = %v", s, m)
		}
	})
}
