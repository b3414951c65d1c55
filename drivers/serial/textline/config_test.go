package textline

import (
	"slices"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		field string // the field named, or "" for valid
		want  string // part of its problem
	}{
		{"valid", func(c *Config) {}, "", ""},
		{"valid utf-8 without year", func(c *Config) { *c = sanjiangConfig() }, "", ""},
		{"encoding", func(c *Config) { c.Encoding = "gbk" }, "encoding", `"gbk" is not an encoding this can read (valid: gb18030, utf-8)`},
		{"max_line small", func(c *Config) { c.MaxLine = 8 }, "max_line", "8 is out of range (valid: 16 to 65536"},
		{"max_line large", func(c *Config) { c.MaxLine = 1 << 20 }, "max_line", "out of range"},
		{"address unknown group", func(c *Config) { c.Address = "{loop}-{point}" }, "address", "unknown placeholder {point} (valid: {loop} {address})"},
		{"address unclosed", func(c *Config) { c.Address = "{loop" }, "address", "a { without its }"},
		{"address without group", func(c *Config) { c.Address = "panel-1" }, "address", `"panel-1" uses no group`},
		{"address group a pattern lacks", func(c *Config) {
			c.Patterns[0].Match = `^(?P<time>\S+ \S+) (?P<kind>\S+) (?P<address>\d+)号`
		}, "patterns[0].match", `has no loop group, which address "{loop}-{address}" uses`},
		{"address of one group", func(c *Config) {
			c.Address = "{address}"
			c.Patterns[0].Match = `^(?P<time>\S+ \S+) (?P<kind>\S+) (?P<address>\d+)号`
		}, "", ""},
		{"no patterns", func(c *Config) { c.Patterns = nil }, "patterns", "is empty (want at least one"},
		{"bad regexp", func(c *Config) { c.Patterns[1].Match = `^(?P<kind>\S+` }, "patterns[1].match", "missing closing )"},
		{"unknown group", func(c *Config) { c.Patterns[1].Match = `^(?P<kind>\S+) (?P<zone>\d+)` }, "patterns[1].match",
			`has a group named "zone" (valid: time, loop, address, kind, description`},
		{"group twice", func(c *Config) { c.Patterns[1].Match = `^(?P<kind>\S+) (?P<kind>\d+)` }, "patterns[1].match", `names two groups "kind"`},
		{"no kind at all", func(c *Config) { c.Patterns[1].Match = `^(?P<time>\S+ \S+) 复位$` }, "patterns[1].kind", "is empty and match has no kind group"},
		{"kind twice", func(c *Config) { c.Patterns[1].Kind = "复位" }, "patterns[1].kind", `is "复位", but match has a kind group too`},
		{"fixed kind not in kinds", func(c *Config) {
			c.Patterns[1] = Pattern{Match: `系统复位`, Kind: "系统复位"}
		}, "patterns[1].kind", `"系统复位" is not a word of kinds (valid: 主电恢复, 主电故障, 复位, 故障, 故障恢复, 火警, 火警恢复)`},
		{"fixed kind", func(c *Config) { c.Patterns[1] = Pattern{Match: `系统复位`, Kind: "复位"} }, "", ""},
		{"time without layout", func(c *Config) { c.Patterns[0].TimeLayout = "" }, "patterns[0].time_layout", "is empty, but match has a time group"},
		{"layout without time", func(c *Config) {
			c.Patterns[1] = Pattern{Match: `^(?P<kind>复位)$`, TimeLayout: gstLayout}
		}, "patterns[1].time_layout", "but match has no time group"},
		{"layout not Go's", func(c *Config) { c.Patterns[0].TimeLayout = "yyyy-MM-dd HH:mm:ss" }, "patterns[0].time_layout",
			`"yyyy-MM-dd HH:mm:ss" does not read back the month, day, hour and minute`},
		{"layout 12-hour without PM", func(c *Config) { c.Patterns[0].TimeLayout = "2006-01-02 03:04:05" }, "patterns[0].time_layout", "does not read back"},
		{"layout without minutes", func(c *Config) { c.Patterns[0].TimeLayout = "2006-01-02 15" }, "patterns[0].time_layout", "does not read back"},
		{"layout without year", func(c *Config) { c.Patterns[0].TimeLayout = "01-02 15:04" }, "", ""},
		{"no kinds", func(c *Config) { c.Kinds = nil }, "kinds", "is empty (want the words the panel prints"},
		{"kind word blank", func(c *Config) { c.Kinds[" 火警"] = c.Kinds["火警"] }, `kinds[" 火警"]`, "has blanks around it"},
		{"event kind", func(c *Config) { c.Kinds["火警"] = Kind{Event: "Fire-Alarm", Severity: "fire"} }, `kinds["火警"].event`,
			`"Fire-Alarm" is not an event kind`},
		{"no event kind", func(c *Config) { c.Kinds["火警"] = Kind{Severity: "fire"} }, `kinds["火警"].event`, `"" is not an event kind`},
		{"no severity", func(c *Config) { c.Kinds["火警"] = Kind{Event: "fire_alarm"} }, `kinds["火警"].severity`,
			`"" is not a severity (valid: info, fault, warning, alarm, fire)`},
		{"bad severity", func(c *Config) { c.Kinds["火警"] = Kind{Event: "fire_alarm", Severity: "critical"} }, `kinds["火警"].severity`, `"critical" is not a severity`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := gstConfig()
			tc.edit(&c)
			fe := c.Validate()
			if tc.field == "" {
				if fe != nil {
					t.Fatalf("valid config refused: %v", fe)
				}
				return
			}
			for _, e := range fe {
				if e.Field == tc.field && strings.Contains(e.Problem, tc.want) {
					return
				}
			}
			t.Fatalf("got %v, want %s: ...%s...", fe, tc.field, tc.want)
		})
	}
}

// TestValidateAll checks that every problem is reported, not the first.
func TestValidateAll(t *testing.T) {
	c := gstConfig()
	c.Encoding = "ascii"
	c.MaxLine = 0
	c.Patterns = append(c.Patterns, Pattern{Match: `(`}, Pattern{Match: `^(?P<time>\S+) (?P<kind>\S+)`, TimeLayout: "HH:mm"})
	c.Kinds["故障"] = Kind{Event: "fault"}
	want := []string{"encoding", "max_line", `kinds["故障"].severity`, "patterns[2].match", "patterns[3].time_layout"}
	if got := c.Validate().Fields(); !slices.Equal(got, want) {
		t.Errorf("fields %q, want %q", got, want)
	}

	var zero Config
	want = []string{"encoding", "max_line", "address", "kinds", "patterns"}
	if got := zero.Validate().Fields(); !slices.Equal(got, want) {
		t.Errorf("zero config: fields %q, want %q", got, want)
	}
}

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	want := []string{"kinds", "patterns"} // the panel's to say
	if got := c.Validate().Fields(); !slices.Equal(got, want) {
		t.Errorf("fields %q, want %q", got, want)
	}
}

func TestNewInvalid(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New took an invalid config")
		}
	}()
	New(Config{}, cst, nil)
}
