package gateway

import (
	"math"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/deploy"
)

func TestQualityCheck(t *testing.T) {
	plan, err := LoadBytes("deploy/shouwang.example.yaml", deploy.Example)
	if err != nil {
		t.Fatal(err)
	}
	check := qualityCheck(plan)
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		point string
		value float64
		at    time.Duration
		want  shouwang.Quality
	}{
		{"gas", 12.5, 0, shouwang.Good},
		{"gas", 100, 0, shouwang.Good}, // the top of the range
		{"gas", 100.1, 0, shouwang.Bad},
		{"gas", -0.1, 0, shouwang.Bad},
		{"gas", math.NaN(), 0, shouwang.Bad},
		{"gas", math.Inf(1), 0, shouwang.Bad},
		{"gas", 12.5, 4 * time.Minute, shouwang.Good},
		{"gas", 12.5, 6 * time.Minute, shouwang.Bad},  // a clock far ahead
		{"gas", 12.5, -24 * time.Hour, shouwang.Good}, // late readings are real
		{"undeclared", 1e9, 0, shouwang.Good},         // no range known: trusted
	} {
		r := shouwang.Reading{Device: "1202-kitchen-gas", Point: tc.point, Value: tc.value, Time: now.Add(tc.at)}
		check(&r, now)
		if r.Quality != tc.want {
			t.Errorf("%s=%g at %s: %v, want %v", tc.point, tc.value, tc.at, r.Quality, tc.want)
		}
	}
}
