package mqttconn

import (
	"fmt"
	"slices"
	"strings"
)

// TopicPattern is a subscription's topic filter with named captures:
// "community/{community}/building/{building}/+/{device}/state" subscribes
// to "community/+/building/+/+/+/state" and names the segments it
// captures. "+" and a trailing "#" match as in MQTT and capture nothing.
type TopicPattern struct {
	raw    string
	filter string
	segs   []segment
	names  []string // capture names, in order of their segments
	tail   bool     // ends in "#"
}

type segment struct {
	lit     string // the literal segment, when capture < 0 and !any
	any     bool   // "+"
	capture int    // index into names, or -1
}

// ParseTopicPattern parses a pattern and says exactly what is wrong with
// one that is not valid.
func ParseTopicPattern(s string) (TopicPattern, error) {
	p := TopicPattern{raw: s}
	if s == "" {
		return p, fmt.Errorf("is empty (want a topic filter, e.g. sensors/{device}/state)")
	}
	if strings.HasPrefix(s, "$share/") || strings.HasPrefix(s, "$queue/") {
		return p, fmt.Errorf("%q: shared subscriptions are not supported (one gateway reads a topic; give the plain filter)", s)
	}
	parts := strings.Split(s, "/")
	filter := make([]string, len(parts))
	for i, part := range parts {
		switch {
		case part == "#":
			if i != len(parts)-1 {
				return p, fmt.Errorf("%q: # may only be the last segment", s)
			}
			p.tail = true
			filter[i] = "#"
			continue
		case part == "+":
			p.segs = append(p.segs, segment{any: true, capture: -1})
			filter[i] = "+"
		case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}"):
			name := part[1 : len(part)-1]
			if !validName(name) {
				return p, fmt.Errorf("%q: capture {%s} needs a name of letters, digits and _ (e.g. {device})", s, name)
			}
			if slices.Contains(p.names, name) {
				return p, fmt.Errorf("%q: capture {%s} appears twice", s, name)
			}
			p.segs = append(p.segs, segment{capture: len(p.names)})
			p.names = append(p.names, name)
			filter[i] = "+"
		case strings.ContainsAny(part, "+#{}"):
			return p, fmt.Errorf("%q: segment %q mixes a wildcard or capture with text (a segment is text, +, # or one {capture})", s, part)
		default:
			p.segs = append(p.segs, segment{lit: part, capture: -1})
			filter[i] = part
		}
	}
	if strings.ContainsRune(s, 0) {
		return p, fmt.Errorf("%q holds a NUL character", s)
	}
	p.filter = strings.Join(filter, "/")
	return p, nil
}

func validName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// String is the pattern as written.
func (p TopicPattern) String() string { return p.raw }

// Filter is what is subscribed to: each capture replaced by "+".
func (p TopicPattern) Filter() string { return p.filter }

// Names lists the captures, in order.
func (p TopicPattern) Names() []string { return p.names }

// Match reports whether topic matches and fills caps (len(Names())) with
// the captured segments. It does not allocate: caps alias topic.
func (p TopicPattern) Match(topic string, caps []string) bool {
	// Topics beginning with $ are the broker's own ($SYS) and never match
	// a filter that starts with a wildcard (MQTT 3.1.1, 4.7.2).
	if strings.HasPrefix(topic, "$") && (len(p.segs) == 0 || p.segs[0].any || p.segs[0].capture >= 0) {
		return false
	}
	rest := topic
	for i, seg := range p.segs {
		var part string
		var more bool
		part, rest, more = strings.Cut(rest, "/")
		switch {
		case seg.capture >= 0:
			caps[seg.capture] = part
		case seg.any:
		case part != seg.lit:
			return false
		}
		last := i == len(p.segs)-1
		if !more {
			// "a/#" matches "a" too: the topic may end where "#" begins.
			return last
		}
		if last {
			return p.tail
		}
	}
	return p.tail // the pattern is "#"
}
