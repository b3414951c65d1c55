package mqtt

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/placeholder"
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

// readingNames and eventNames are the placeholders each template may use,
// indexed by field (the other's and literal's left empty).
var readingNames, eventNames = fieldNamesBut(fKind), fieldNamesBut(fPoint)

func fieldNamesBut(f field) [numFields]string {
	names := fieldNames
	names[f] = ""
	return names
}

// template is a topic template parsed once, so Write only concatenates.
type template struct{ placeholder.Template }

// parseTemplate parses s, allowing the placeholders in names. problem
// says what is wrong and what would be valid, for a FieldError; example
// is a valid template to show.
func parseTemplate(s string, names [numFields]string, example string) (t template, problem string) {
	switch {
	case s == "":
		return t, "is required (e.g. " + example + ")"
	case strings.ContainsAny(s, "+#"):
		return t, fmt.Sprintf("%q holds a wildcard (+ or #); a topic to publish to names one topic", s)
	case strings.HasPrefix(s, "$"):
		return t, fmt.Sprintf("%q starts with $, which brokers keep for their own topics ($SYS)", s)
	case s[0] == '/' || s[len(s)-1] == '/' || strings.Contains(s, "//"):
		return t, fmt.Sprintf("%q has an empty level (a leading or trailing /, or //); write levels between single slashes, e.g. shouwang/{gateway}/{device}", s)
	case !validTopicText(s):
		return t, fmt.Sprintf("%q holds invalid UTF-8 or a control character", s)
	}
	var err error
	if t.Template, err = placeholder.Parse(s, names[:]); err != nil {
		return t, err.Error()
	}
	return t, ""
}

// values holds one topic level per placeholder, already made safe with
// level.
type values [numFields]string

// appendTo renders t with v.
func (t template) appendTo(dst []byte, v *values) []byte {
	start := len(dst)
	dst = t.Append(dst, v[:])
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
