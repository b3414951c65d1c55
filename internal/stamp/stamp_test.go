package stamp

import (
	"strings"
	"testing"
	"time"
)

func TestTimestamps(t *testing.T) {
	want := time.Date(2026, 11, 24, 0, 0, 0, 123000000, time.UTC)
	cases := []struct {
		text, unit string
		want       time.Time
		err        string
	}{
		{"1795478400.123", Auto, want, ""},
		{"1795478400123", Auto, want, ""},
		{"1795478400123000", Auto, want, ""},
		{"1795478400123000064", Auto, want.Add(64), ""}, // ns: a float64 holds 256 ns steps here
		{"1795478400123", Millis, want, ""},
		{"1795478400.123", Seconds, want, ""},
		{"2026-11-24T08:00:00.123+08:00", Auto, want, ""},
		{"2026-11-24T08:00:00.123+08:00", RFC3339, want, ""},
		{"2026-11-24T08:00+08:00", RFC3339, want.Truncate(time.Second), ""},
		{"2026-11-24T08:00:00", Auto, time.Time{}, "with a zone"},
		{"1795478400", RFC3339, time.Time{}, "with a zone"},
		{"soon", Seconds, time.Time{}, "not a number of s"},
		{"0", Auto, time.Time{}, "before 2000"},
		{"1795478400123", Seconds, time.Time{}, "out of range"},
		{"7300000000", Seconds, time.Time{}, "after 2200"},
		{"NaN", Auto, time.Time{}, "out of range"},
	}
	for _, c := range cases {
		got, err := Text(c.text, c.unit)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s as %s: %v, %v; want an error saying %q", c.text, c.unit, got, err, c.err)
		case c.err == "" && (err != nil || !got.Equal(c.want)):
			t.Errorf("%s as %s: %v, %v; want %v", c.text, c.unit, got, err, c.want)
		}
	}
	if _, err := Number(1795478400, RFC3339); err == nil {
		t.Error("a number under rfc3339 was taken")
	}
}
