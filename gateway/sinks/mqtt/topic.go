package mqtt

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shouwang-iot/shouwang"
)

// field is one value a topic template can name.
type field uint8

const (
	literal field = iota
	fGateway
	fSite
	fBuilding
	fUnit
	fFloor
	fRoom
	fDevice
	fType
	fPoint // readings only
	fKind  // events only
	numFields
)

var fieldNames = [numFields]string{
	fGateway: "gateway", fSite: "site", fBuilding: "building", fUnit: "unit", fFloor: "floor",
	fRoom: "room", fDevice: "device", fType: "type", fPoint: "point", fKind: "kind",
}

// readingFields and eventFields are the placeholders each template may use,
// in the order error messages list them.
var (
	readingFields = []field{fGateway, fSite, fBuilding, fUnit, fFloor, fRoom, fDevice, fType, fPoint}
	eventFields   = []field{fGateway, fSite, fBuilding, fUnit, fFloor, fRoom, fDevice, fType, fKind}
)

// part is a run of literal text, or a placeholder.
type part struct {
	field field
	text  string // for literal
}

// template is a topic template parsed once, so Write only concatenates.
type template []part

// parseTemplate parses s, allowing the placeholders in allowed. problem
// says what is wrong and what would be valid, for a FieldError; example
// is a valid template to show.
func parseTemplate(s string, allowed []field, example string) (t template, problem string) {
	valid := func() string {
		names := make([]string, len(allowed))
		for i, f := range allowed {
			names[i] = "{" + fieldNames[f] + "}"
		}
		return strings.Join(names, " ")
	}
	switch {
	case s == "":
		return nil, "is required (e.g. " + example + ")"
	case strings.ContainsAny(s, "+#"):
		return nil, fmt.Sprintf("%q holds a wildcard (+ or #); a topic to publish to names one topic", s)
	case strings.HasPrefix(s, "$"):
		return nil, fmt.Sprintf("%q starts with $, which brokers keep for their own topics ($SYS)", s)
	case s[0] == '/' || s[len(s)-1] == '/' || strings.Contains(s, "//"):
		return nil, fmt.Sprintf("%q has an empty level (a leading or trailing /, or //); write levels between single slashes, e.g. shouwang/{gateway}/{device}", s)
	case !validTopicText(s):
		return nil, fmt.Sprintf("%q holds invalid UTF-8 or a control character", s)
	}
	rest := s
	for rest != "" {
		open, close := strings.IndexByte(rest, '{'), strings.IndexByte(rest, '}')
		switch {
		case open < 0 && close < 0:
			t = append(t, part{text: rest})
			rest = ""
			continue
		case close >= 0 && (open < 0 || close < open):
			return nil, fmt.Sprintf("%q has a } without its { (placeholders: %s)", s, valid())
		}
		if open > 0 {
			t = append(t, part{text: rest[:open]})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Sprintf("%q has a { without its } (placeholders: %s)", s, valid())
		}
		name := rest[open+1 : open+end]
		f := lookupField(name, allowed)
		if f == literal {
			return nil, fmt.Sprintf("%q has an unknown placeholder {%s} (valid: %s)", s, name, valid())
		}
		t = append(t, part{field: f})
		rest = rest[open+end+1:]
	}
	return t, ""
}

func lookupField(name string, allowed []field) field {
	for _, f := range allowed {
		if fieldNames[f] == name {
			return f
		}
	}
	return literal
}

// values holds one topic level per placeholder, already made safe with
// level.
type values [numFields]string

// appendTo renders t with v.
func (t template) appendTo(dst []byte, v *values) []byte {
	start := len(dst)
	for _, p := range t {
		if p.field == literal {
			dst = append(dst, p.text...)
		} else {
			dst = append(dst, v[p.field]...)
		}
	}
	if len(dst) > start && dst[start] == '$' {
		dst[start] = '_' // a value at the start must not make it a $SYS-like topic
	}
	return dst
}

// deviceValues are the levels a device contributes: its location and type.
// A device the gateway does not know gets "_" for each.
func deviceValues(gateway, id string, d shouwang.Device, known bool) values {
	var v values
	v[fGateway] = level(gateway)
	v[fDevice] = level(id)
	if known {
		v[fSite] = level(d.Location.Community)
		v[fBuilding] = level(d.Location.Building)
		v[fUnit] = level(d.Location.Unit)
		if d.Location.Floor != 0 {
			v[fFloor] = strconv.Itoa(d.Location.Floor)
		}
		v[fRoom] = level(d.Location.Room)
		v[fType] = level(d.Type)
	}
	for f := range v {
		if v[f] == "" && field(f) != fPoint && field(f) != fKind {
			v[f] = "_"
		}
	}
	return v
}

// level makes s one topic level: "_" when empty; a slash, a wildcard, a
// control character, a noncharacter or invalid UTF-8 each become "_", so
// a name can neither add a level nor make a topic the broker refuses (an
// MQTT broker drops the connection of a client that publishes to one).
func level(s string) string {
	if s == "" {
		return "_"
	}
	if validTopicText(s) && !strings.ContainsAny(s, "/+#") {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				b.WriteByte('_')
				continue
			}
		}
		if r == '/' || r == '+' || r == '#' || !topicRune(r) {
			b.WriteByte('_')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// validTopicText reports whether s is valid UTF-8 with no character an
// MQTT broker may refuse in a topic (Mosquitto refuses them all).
func validTopicText(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return false
			}
		}
		if !topicRune(r) {
			return false
		}
	}
	return true
}

// topicRune excludes what MQTT 3.1.1 section 1.5.3 forbids or advises
// against: U+0000, the C0 and C1 controls, and noncharacters.
func topicRune(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7F && r <= 0x9F:
		return false
	case r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE:
		return false
	}
	return true
}
