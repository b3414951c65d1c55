package grading

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/shouwang-iot/shouwang"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	zero := DefaultConfig()
	zero.Weights = Weights{} // all zero: everyone green, which is allowed
	if err := zero.Validate(); err != nil {
		t.Fatalf("zero weights: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		fields []string
		says   string // part of the first problem
	}{
		{"negative weight", func(c *Config) { c.Weights.Fire = -5 }, []string{"weights.fire"}, "0 or more"},
		{"NaN weight", func(c *Config) { c.Weights.OfflineHour = math.NaN() }, []string{"weights.offline_hour"}, "device-hour offline"},
		{"infinite weight", func(c *Config) { c.Weights.Alarm = math.Inf(1) }, []string{"weights.alarm"}, "a number"},
		{"every weight negative", func(c *Config) {
			c.Weights = Weights{Alarm: -1, Fire: -1, Fault: -1, Unhandled: -1, OfflineHour: -1}
		}, []string{"weights.alarm", "weights.fire", "weights.fault", "weights.unhandled", "weights.offline_hour"}, "is -1"},
		{"yellow zero", func(c *Config) { c.Yellow = 0 }, []string{"yellow"}, "above 0"},
		{"red at yellow", func(c *Config) { c.Red = c.Yellow }, []string{"red"}, "red > yellow"},
		{"red below yellow", func(c *Config) { c.Yellow, c.Red = 30, 25 }, []string{"red"}, "not above yellow (30)"},
		{"red NaN", func(c *Config) { c.Red = math.NaN() }, []string{"red"}, "above yellow"},
		{"yellow and red negative", func(c *Config) { c.Yellow, c.Red = -1, -2 }, []string{"yellow", "red"}, "e.g. 10"},
		{"unhandled_after zero", func(c *Config) { c.UnhandledAfter = 0 }, []string{"unhandled_after"}, "positive duration, e.g. 5m"},
		{"unhandled_after negative", func(c *Config) { c.UnhandledAfter = -time.Minute }, []string{"unhandled_after"}, "-1m0s"},
		{"zero config", func(c *Config) { *c = Config{} }, []string{"yellow", "red", "unhandled_after"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.change(&c)
			err := c.Validate()
			var fe shouwang.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want shouwang.FieldErrors", err)
			}
			if !slices.Equal(fe.Fields(), tc.fields) {
				t.Errorf("fields %q, want %q (%v)", fe.Fields(), tc.fields, err)
			}
			if !strings.Contains(fe[0].Problem, tc.says) || !strings.Contains(fe[0].Problem, "(want") {
				t.Errorf("problem %q should say %q and what would be valid", fe[0].Problem, tc.says)
			}
		})
	}
}

// TestConfigYAML decodes a grading: section over the defaults the way the
// gateway's loader does: strictly, keys in snake_case.
func TestConfigYAML(t *testing.T) {
	src := "weights:\n  fire: 8\n  offline_hour: 0.5\nred: 30\nunhandled_after: 3m\n"
	c := DefaultConfig()
	if err := yaml.UnmarshalWithOptions([]byte(src), &c, yaml.Strict(), yaml.DisallowUnknownField()); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Weights.Fire, want.Weights.OfflineHour, want.Red, want.UnhandledAfter = 8, 0.5, 30, 3*time.Minute
	if c != want {
		t.Errorf("decoded %+v, want %+v", c, want)
	}
}
