// Package textline reads text event lines: the one line per event that a
// fire alarm control panel prints on its printer port, such as
// "2026-11-24 08:15:03 火警 1回路023号 点型光电感烟 3号楼2单元1202". Many
// panels in service have no other output, so for them the printer port is
// the only way to get their alarms to the gateway. Each panel model lays
// out its lines in its own way. The installer describes the layout with
// regexps and says which words mean which events. Lines that match no
// regexp (headers, separators) are counted and skipped.
package textline

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/placeholder"
)

// The encodings a panel may print in.
const (
	EncodingGB18030 = "gb18030"
	EncodingUTF8    = "utf-8"
)

// Config is how to read one panel's printer output. Its fields are the
// protocol's keys in the serial driver's section.
type Config struct {
	// Encoding is what the panel prints in: gb18030 (the default: Chinese
	// panels print GB2312/GBK, which GB18030 contains) or utf-8.
	Encoding string `yaml:"encoding"`
	// MaxLine is the longest line read, in bytes, without its line ending
	// (default 512, valid 16 to 65536). A longer line is counted as
	// overlong and skipped up to the next newline. It is the limit on
	// what is held between reads, so a port that produces noise without
	// newlines cannot use up memory.
	MaxLine int `yaml:"max_line"`
	// Address builds a detector's device address from the loop and
	// address groups of a line. The default is "{loop}-{address}", so
	// "1回路023号" is device address 1-23. Group values made only of
	// digits lose their leading zeros, so the panel's "023" and the
	// programming list's "23" name the same detector. Lines that match a
	// pattern with neither group are about the panel itself (a reset,
	// its mains failing). Their device address is "panel"
	// (stream.PanelAddress).
	Address string `yaml:"address"`
	// Patterns are the layouts of the panel's event lines. They are tried
	// in order, and the first one that matches reads the line.
	Patterns []Pattern `yaml:"patterns"`
	// Kinds maps each word the panel prints in a kind group (火警, 故障,
	// 火警恢复, 复位) to the event it raises. A word that is not listed
	// here is counted as unknown_kind and raises nothing.
	Kinds map[string]Kind `yaml:"kinds"`
}

// Pattern is one layout of event line.
type Pattern struct {
	// Match is a Go regexp (RE2 syntax). Its named groups pick the parts
	// of the line: time, loop, address, kind and description. A pattern
	// may use any of them, but it needs a kind group unless kind is set.
	// The event's message is the description, or the whole line when
	// there is no description group or it is empty.
	Match string `yaml:"match"`
	// Kind is the kinds word to use for every line this pattern matches.
	// Set it when the pattern has no kind group (e.g. 复位 for a line
	// that reads "系统复位").
	Kind string `yaml:"kind"`
	// TimeLayout is how the time group is written, as a Go time layout
	// (e.g. "2006-01-02 15:04:05"). It is read at the serial driver's
	// utc_offset (default +08:00), unless the layout has a zone. A layout
	// without a year uses the current year, or the year before if that
	// would put the event more than a day ahead (as with a December line
	// read in January). A line with no time group, or an optional one
	// left empty, is timed when it is read.
	TimeLayout string `yaml:"time_layout"`
}

// Kind is the event a kind word raises.
type Kind struct {
	// Event is the event kind, e.g. fire_alarm, fault, fire_clear,
	// fault_clear. Use reset for the panel's reset (复位), which clears
	// every condition still active on the panel's devices.
	Event string `yaml:"event"`
	// Severity is required: info, fault, warning, alarm or fire. A
	// missing severity must not quietly turn a fire into info.
	Severity string `yaml:"severity"`
}

// DefaultConfig returns the defaults the config is decoded over. It has no
// patterns or kinds, because those depend on the panel.
func DefaultConfig() Config {
	return Config{Encoding: EncodingGB18030, MaxLine: 512, Address: "{loop}-{address}"}
}

// The group names a pattern may use.
const (
	groupTime        = "time"
	groupLoop        = "loop"
	groupAddress     = "address"
	groupKind        = "kind"
	groupDescription = "description"
)

var groupNames = []string{groupTime, groupLoop, groupAddress, groupKind, groupDescription}

// addressNames are the placeholders of the address template, in the order
// of the values the decoder gives it.
var addressNames = []string{groupLoop, groupAddress}

var eventKindRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// layoutRef is the time used to check a layout. It is written with the
// layout and read back. The hour is after noon, so a 12-hour layout
// without PM fails the check.
var layoutRef = time.Date(2026, time.November, 24, 20, 15, 3, 0, time.UTC)

// Validate reports every problem with the config, each named by its
// field path (patterns[2].match, kinds["火警"].severity). It does not
// change c.
func (c *Config) Validate() shouwang.FieldErrors {
	_, fe := c.compile()
	return fe
}

// plan is a config compiled for decoding.
type plan struct {
	utf8     bool
	maxLine  int
	address  placeholder.Template
	patterns []pattern
	kinds    map[string]kind
}

// pattern is a compiled Pattern. The group fields are indexes of the
// groups in the regexp, or -1 when the pattern does not have them.
type pattern struct {
	re                               *regexp.Regexp
	time, loop, address, kind, descr int
	fixed                            kind // the event when kind is -1
	layout                           string
	noYear                           bool // layout has no year
	panel                            bool // neither loop nor address: a line about the panel
}

type kind struct {
	event    string
	severity shouwang.Severity
}

// compile builds the plan and reports every problem with c.
func (c *Config) compile() (plan, shouwang.FieldErrors) {
	var fe shouwang.FieldErrors
	p := plan{maxLine: c.MaxLine, kinds: make(map[string]kind, len(c.Kinds))}
	switch c.Encoding {
	case EncodingGB18030:
	case EncodingUTF8:
		p.utf8 = true
	default:
		fe.Add("encoding", "%q is not an encoding this can read (valid: %s, %s)", c.Encoding, EncodingGB18030, EncodingUTF8)
	}
	if c.MaxLine < 16 || c.MaxLine > 65536 {
		fe.Add("max_line", "%d is out of range (valid: 16 to 65536 bytes, e.g. 512)", c.MaxLine)
	}
	var err error
	uses := make([]bool, len(addressNames))
	switch p.address, err = placeholder.Parse(c.Address, addressNames); {
	case err != nil:
		fe.Add("address", "%v", err)
	case !p.address.HasPlaceholder():
		fe.Add("address", "%q uses no group, so every detector would be one device (e.g. {loop}-{address})", c.Address)
	default:
		for _, part := range p.address {
			if part.Index >= 0 {
				uses[part.Index] = true
			}
		}
	}

	words := slices.Sorted(maps.Keys(c.Kinds))
	if len(words) == 0 {
		fe.Add("kinds", "is empty (want the words the panel prints, e.g. 火警: {event: fire_alarm, severity: fire})")
	}
	for _, w := range words {
		k, at := c.Kinds[w], fmt.Sprintf("kinds[%q]", w)
		if w == "" || strings.TrimSpace(w) != w {
			fe.Add(at, "is empty or has blanks around it, but the word read from a line is trimmed, so it would never match (want e.g. 火警)")
		}
		if !eventKindRE.MatchString(k.Event) {
			fe.Add(at+".event", "%q is not an event kind (want lower case letters, digits and _, starting with a letter, e.g. fire_alarm)", k.Event)
		}
		sev, ok := shouwang.ParseSeverity(k.Severity)
		if !ok {
			fe.Add(at+".severity", "%q is not a severity (valid: %s)", k.Severity, strings.Join(shouwang.SeverityNames(), ", "))
		}
		p.kinds[w] = kind{event: k.Event, severity: sev}
	}

	if len(c.Patterns) == 0 {
		fe.Add("patterns", `is empty (want at least one, e.g. - match: '^(?P<time>\S+ \S+) (?P<kind>\S+) (?P<loop>\d+)回路(?P<address>\d+)号 (?P<description>.*)')`)
	}
	p.patterns = make([]pattern, 0, len(c.Patterns))
	for i := range c.Patterns {
		if pt, ok := c.Patterns[i].compile(fmt.Sprintf("patterns[%d]", i), c, uses, words, &fe); ok {
			p.patterns = append(p.patterns, pt)
		}
	}
	return p, fe
}

// compile checks one pattern against the rest of c. uses says which
// address placeholders the template uses, and words are the kinds' words.
func (ps *Pattern) compile(at string, c *Config, uses []bool, words []string, fe *shouwang.FieldErrors) (pattern, bool) {
	pt := pattern{time: -1, loop: -1, address: -1, kind: -1, descr: -1, layout: ps.TimeLayout}
	var err error
	if pt.re, err = regexp.Compile(ps.Match); err != nil {
		fe.Add(at+".match", "%v", err)
		return pt, false
	}
	ok := true
	groups := map[string]*int{groupTime: &pt.time, groupLoop: &pt.loop, groupAddress: &pt.address,
		groupKind: &pt.kind, groupDescription: &pt.descr}
	for i, name := range pt.re.SubexpNames() {
		if name == "" {
			continue
		}
		switch g, known := groups[name]; {
		case !known:
			fe.Add(at+".match", "has a group named %q (valid: %s; leave other groups unnamed)", name, strings.Join(groupNames, ", "))
			ok = false
		case *g >= 0:
			fe.Add(at+".match", "names two groups %q (name it once)", name)
			ok = false
		default:
			*g = i
		}
	}

	switch {
	case pt.kind < 0 && ps.Kind == "":
		fe.Add(at+".kind", "is empty and match has no kind group (add (?P<kind>...) to match, or set kind to a word of kinds)")
		ok = false
	case pt.kind >= 0 && ps.Kind != "":
		fe.Add(at+".kind", "is %q, but match has a kind group too (keep one of them)", ps.Kind)
		ok = false
	case pt.kind < 0:
		k, found := c.Kinds[ps.Kind]
		if !found {
			fe.Add(at+".kind", "%q is not a word of kinds (valid: %s)", ps.Kind, strings.Join(words, ", "))
			ok = false
		}
		sev, _ := shouwang.ParseSeverity(k.Severity)
		pt.fixed = kind{event: k.Event, severity: sev}
	}

	switch {
	case pt.time >= 0 && ps.TimeLayout == "":
		fe.Add(at+".time_layout", "is empty, but match has a time group (want a Go layout, e.g. 2006-01-02 15:04:05)")
		ok = false
	case pt.time < 0 && ps.TimeLayout != "":
		fe.Add(at+".time_layout", "is %q, but match has no time group (add (?P<time>...) to match, or leave time_layout out)", ps.TimeLayout)
		ok = false
	case pt.time >= 0:
		t, err := time.Parse(ps.TimeLayout, layoutRef.Format(ps.TimeLayout))
		if err != nil || t.Month() != layoutRef.Month() || t.Day() != layoutRef.Day() ||
			t.Hour() != layoutRef.Hour() || t.Minute() != layoutRef.Minute() {
			fe.Add(at+".time_layout", "%q does not read back the month, day, hour and minute it writes (a Go layout spells the time Mon Jan 2 15:04:05 2006, e.g. 2006-01-02 15:04:05 or 01/02 15:04)", ps.TimeLayout)
			ok = false
		}
		pt.noYear = t.Year() == 0
	}

	pt.panel = pt.loop < 0 && pt.address < 0
	if !pt.panel {
		for i, name := range addressNames {
			if uses[i] && *groups[name] < 0 {
				fe.Add(at+".match", "has no %s group, which address %q uses (add (?P<%s>...) to match, or change address)", name, c.Address, name)
				ok = false
			}
		}
	}
	return pt, ok
}
