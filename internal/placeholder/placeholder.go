// Package placeholder parses text with {name} placeholders once, so that
// filling it in is only concatenation: the uplink's topic templates, the
// MQTT driver's device address built from a topic's captures.
package placeholder

import (
	"fmt"
	"strings"
)

// Template is text split into literal runs and placeholders, in order.
type Template []Part

// Part is a literal run (Index -1) or a placeholder: Index is its name's
// position in the names Parse was given.
type Part struct {
	Lit   string
	Index int
}

// Parse splits s. names are the placeholders allowed (an empty name
// allows nothing, so a caller may index names by its own constants).
func Parse(s string, names []string) (Template, error) {
	var t Template
	for rest := s; rest != ""; {
		open, end := strings.IndexByte(rest, '{'), strings.IndexByte(rest, '}')
		switch {
		case open < 0 && end < 0:
			return append(t, Part{Lit: rest, Index: -1}), nil
		case end >= 0 && (open < 0 || end < open):
			return nil, fmt.Errorf("%q has a } without its { (placeholders: %s)", s, list(names))
		case end < 0:
			return nil, fmt.Errorf("%q has a { without its } (placeholders: %s)", s, list(names))
		}
		if open > 0 {
			t = append(t, Part{Lit: rest[:open], Index: -1})
		}
		name := rest[open+1 : end]
		i := -1
		for j, n := range names {
			if n != "" && n == name {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("%q has an unknown placeholder {%s} (valid: %s)", s, name, list(names))
		}
		t = append(t, Part{Index: i})
		rest = rest[end+1:]
	}
	return t, nil
}

func list(names []string) string {
	var out []string
	for _, n := range names {
		if n != "" {
			out = append(out, "{"+n+"}")
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, " ")
}

// HasPlaceholder reports whether t names anything.
func (t Template) HasPlaceholder() bool {
	for _, p := range t {
		if p.Index >= 0 {
			return true
		}
	}
	return false
}

// Append appends t to dst with values[i] for the placeholder names[i].
func (t Template) Append(dst []byte, values []string) []byte {
	for _, p := range t {
		if p.Index < 0 {
			dst = append(dst, p.Lit...)
		} else {
			dst = append(dst, values[p.Index]...)
		}
	}
	return dst
}
