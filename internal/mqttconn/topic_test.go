package mqttconn

import (
	"slices"
	"strings"
	"testing"
)

func TestTopicPatternMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, topic string
		match          bool
		caps           []string
	}{
		{"community/{community}/building/{building}/+/{device}/state", "community/sunshine/building/3/gas/GD-1/state", true, []string{"sunshine", "3", "GD-1"}},
		{"community/{community}/building/{building}/+/{device}/state", "community/sunshine/building/3/gas/GD-1/status", false, nil},
		{"community/{community}/building/{building}/+/{device}/state", "community/sunshine/building/3/GD-1/state", false, nil},
		{"sensors/{device}/#", "sensors/a", true, []string{"a"}},
		{"sensors/{device}/#", "sensors/a/b/c", true, []string{"a"}},
		{"sensors/{device}/#", "sensors", false, nil},
		{"sensors/{device}", "sensors/a/b", false, nil},
		{"sensors/{device}", "sensors/", true, []string{""}},
		{"#", "anything/at/all", true, []string{}},
		{"#", "$SYS/broker/uptime", false, []string{}},
		{"{device}/state", "$SYS/state", false, nil},
		{"$SYS/{x}", "$SYS/uptime", true, []string{"uptime"}},
		{"a/+/c", "a/b/c", true, []string{}},
		{"a/+/c", "a//c", true, []string{}},
	} {
		p, err := ParseTopicPattern(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		caps := make([]string, len(p.Names()))
		if got := p.Match(tc.topic, caps); got != tc.match {
			t.Errorf("%s on %s = %v, want %v", tc.pattern, tc.topic, got, tc.match)
		} else if got && !slices.Equal(caps, tc.caps) {
			t.Errorf("%s on %s captured %q, want %q", tc.pattern, tc.topic, caps, tc.caps)
		}
	}
}

func TestTopicPatternFilter(t *testing.T) {
	p, err := ParseTopicPattern("community/{community}/building/{building}/+/{device}/#")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Filter(), "community/+/building/+/+/+/#"; got != want {
		t.Errorf("filter = %s, want %s", got, want)
	}
	if got := p.Names(); !slices.Equal(got, []string{"community", "building", "device"}) {
		t.Errorf("names = %q", got)
	}
}

func TestTopicPatternErrors(t *testing.T) {
	for pattern, want := range map[string]string{
		"":                "is empty",
		"a/#/b":           "# may only be the last segment",
		"a/{}/b":          "needs a name",
		"a/{dev-ice}":     "needs a name",
		"a/{x}/{x}":       "appears twice",
		"a/dev{x}":        "mixes a wildcard",
		"a/b+":            "mixes a wildcard",
		"a/{device}/x#":   "mixes a wildcard",
		"a/\x00/{device}": "NUL",
		"a/{device}}/b":   "needs a name",
		"sensors/{device": "mixes a wildcard",
	} {
		_, err := ParseTopicPattern(pattern)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one containing %q", pattern, err, want)
		}
	}
}

// FuzzTopicPattern checks that a pattern either fails to parse or
// matches the topic its own filter would deliver, without panicking.
func FuzzTopicPattern(f *testing.F) {
	f.Add("community/{community}/building/{building}/+/{device}/state", "community/a/building/3/x/d/state")
	f.Add("#", "$SYS/x")
	f.Add("{a}/#", "a")
	f.Fuzz(func(t *testing.T, pattern, topic string) {
		p, err := ParseTopicPattern(pattern)
		if err != nil {
			return
		}
		caps := make([]string, len(p.Names()))
		if p.Match(topic, caps) && !strings.HasPrefix(topic, "$") {
			for _, c := range caps {
				if strings.Contains(c, "/") {
					t.Fatalf("capture %q of %s holds a /", c, topic)
				}
			}
		}
	})
}
