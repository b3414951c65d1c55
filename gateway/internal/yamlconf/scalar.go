package yamlconf

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
)

var (
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// scalarText is a scalar's text as written (quotes and block indentation
// removed). isString marks YAML strings, the only scalars that ${...}
// expansion applies to. ok is false for mappings, lists and anything else.
//
// The decoder reads every scalar from its text rather than from the value
// goccy computed, because the Go target type decides what the text means
// (and goccy turns integers too large for int64 into strings).
func scalarText(n ast.Node) (text string, isString, ok bool) {
	if isNilNode(n) {
		return "", false, false
	}
	switch n := n.(type) {
	case *ast.StringNode:
		if n != nil {
			return n.Value, true, true
		}
	case *ast.LiteralNode:
		if n != nil && n.Value != nil {
			return n.Value.Value, true, true
		}
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode,
		*ast.NanNode, *ast.MergeKeyNode, *ast.NullNode:
		if tk := n.GetToken(); tk != nil {
			return tk.Value, false, true
		}
	}
	return "", false, false
}

// isNull reports a YAML null (~, null, or nothing at all), which leaves the
// target's default in place.
func isNull(n ast.Node) bool {
	if isNilNode(n) {
		return true
	}
	_, ok := n.(*ast.NullNode)
	return ok
}

// describe says what was found, for "want X, found Y" messages.
func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	}
	if isNull(n) {
		return "nothing"
	}
	if text, isString, ok := scalarText(n); ok {
		return shown(text, isString)
	}
	return fmt.Sprintf("unsupported YAML (%s)", n.Type())
}

// shown is how a message quotes a scalar: strings quoted, numbers and
// booleans as written, both cut short so binary garbage stays readable.
// Text that reads as a number is shown as one even when goccy typed it a
// string (it does so for integers beyond 64 bits).
func shown(text string, isString bool) string {
	if _, isNum, _ := parseFloat(text, 64); isString && !isNum {
		return quoteShort(text)
	}
	return strings.Trim(strconv.Quote(shorten(text)), `"`)
}

func quoteShort(s string) string { return strconv.Quote(shorten(s)) }

func shorten(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max-3]) + "..."
}

// setScalar stores text into v, whose type is a scalar kind, a Duration or
// a TextUnmarshaler. It returns what is wrong, or "" on success. seen is the
// value as written; text may have come from ${env:...} or ${file:...}, so
// only seen appears in messages, and secret says text must not leak through
// another route (an UnmarshalText error quoting its input).
func setScalar(v reflect.Value, text, seen string, secret bool) string {
	t := v.Type()
	switch {
	case t == durationType:
		return setDuration(v, text, seen, secret)
	case v.CanAddr() && reflect.PointerTo(t).Implements(textUnmarshalerType):
		u := v.Addr().Interface().(encoding.TextUnmarshaler)
		if err := u.UnmarshalText([]byte(text)); err != nil {
			if secret {
				return fmt.Sprintf("cannot use %s as %s (the value it expands to is not valid; it is not shown as it may be secret)", seen, t)
			}
			return fmt.Sprintf("cannot use %s as %s: %v", seen, t, err)
		}
		return ""
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		switch text {
		case "true", "True", "TRUE":
			v.SetBool(true)
		case "false", "False", "FALSE":
			v.SetBool(false)
		default:
			return fmt.Sprintf("want true or false, found %s", seen)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		mag, neg, isInt, overflow := parseInteger(text)
		if !isInt {
			return fmt.Sprintf("cannot use %s as an integer (want a whole number like 502)", seen)
		}
		bits := t.Bits()
		limit := uint64(1) << (bits - 1) // magnitude of the minimum
		if overflow || (!neg && mag >= limit) || mag > limit {
			return fmt.Sprintf("%s does not fit in %s (want %d to %d)", seen, t.Kind(), -int64(limit-1)-1, int64(limit-1))
		}
		if neg {
			v.SetInt(-int64(mag-1) - 1)
		} else {
			v.SetInt(int64(mag))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		mag, neg, isInt, overflow := parseInteger(text)
		if !isInt {
			return fmt.Sprintf("cannot use %s as an integer (want a whole number like 502)", seen)
		}
		maxVal := uint64(math.MaxUint64) >> (64 - t.Bits())
		if overflow || (neg && mag != 0) || mag > maxVal {
			return fmt.Sprintf("%s does not fit in %s (want 0 to %d)", seen, t.Kind(), maxVal)
		}
		v.SetUint(mag)
	case reflect.Float32, reflect.Float64:
		f, isNum, overflow := parseFloat(text, t.Bits())
		if !isNum {
			return fmt.Sprintf("cannot use %s as a number (want a number like 0.5)", seen)
		}
		if overflow {
			return fmt.Sprintf("%s does not fit in %s", seen, t.Kind())
		}
		v.SetFloat(f)
	default:
		return fmt.Sprintf("cannot decode into Go type %s (a bug in the program, not in the config)", t)
	}
	return ""
}

// setDuration reads Go duration syntax. A bare number is refused: "30"
// could mean seconds or milliseconds, and guessing wrong silently is worse
// than asking.
func setDuration(v reflect.Value, text, seen string, secret bool) string {
	d, err := time.ParseDuration(text)
	if err == nil {
		v.SetInt(int64(d))
		return ""
	}
	if _, _, isInt, _ := parseInteger(text); isInt {
		want := `"30s"`
		if !secret {
			want = strconv.Quote(text + "s")
		}
		return fmt.Sprintf("cannot use %s as a duration, it has no unit (want e.g. %s)", seen, want)
	}
	return fmt.Sprintf(`cannot use %s as a duration (want a Go duration like "30s" or "1h30m")`, seen)
}

// parseInteger reads a YAML 1.2 integer: decimal (leading zeros allowed and
// still decimal), 0x hex, 0o octal or 0b binary, with an optional sign and
// "_" between digits. It returns the magnitude and sign; overflow means it
// is an integer too large for 64 bits.
func parseInteger(text string) (mag uint64, neg, isInt, overflow bool) {
	s := text
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	if len(s) > 2 && s[0] == '0' {
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 10 {
			s = s[2:]
		}
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' {
		return 0, false, false, false
	}
	mag, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), base, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, neg, true, true
		}
		return 0, false, false, false
	}
	return mag, neg, true, false
}

// parseFloat reads a YAML number: an integer as parseInteger does, a
// decimal with optional exponent, or .inf, -.inf, .nan.
func parseFloat(text string, bits int) (f float64, isNum, overflow bool) {
	switch text {
	case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF":
		return math.Inf(1), true, false
	case "-.inf", "-.Inf", "-.INF":
		return math.Inf(-1), true, false
	case ".nan", ".NaN", ".NAN":
		return math.NaN(), true, false
	}
	if mag, neg, isInt, over := parseInteger(text); isInt && !over {
		f = float64(mag)
		if neg {
			f = -f
		}
		if bits == 32 && f > math.MaxFloat32 {
			return 0, true, true
		}
		return f, true, false
	}
	// strconv also takes "inf", "NaN" and hex floats, which YAML does not.
	s := strings.ReplaceAll(text, "_", "")
	if s == "" || strings.Trim(s, "0123456789+-.eE") != "" || strings.IndexAny(s, "0123456789") < 0 {
		return 0, false, false
	}
	f, err := strconv.ParseFloat(s, bits)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, true, true
		}
		return 0, false, false
	}
	return f, true, false
}
