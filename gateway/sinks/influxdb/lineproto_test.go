package influxdb

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A small line-protocol parser, written from the InfluxDB v2 reference
// rather than from the encoder, so the tests can read back what the
// encoder wrote: measurement, tag set, field set, timestamp.

type lpTag struct{ Key, Value string }

type lpPoint struct {
	Measurement string
	Tags        []lpTag
	Fields      map[string]any // float64, int64 or string
	FieldOrder  []string
	Time        int64
}

// Tag returns a tag's value and whether it is there.
func (p lpPoint) Tag(key string) (string, bool) {
	for _, t := range p.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// parseLine parses one line, strictly: anything InfluxDB would refuse is
// an error, and so is anything this encoder should never write (a missing
// timestamp, a NaN, invalid UTF-8, control characters).
func parseLine(line string) (lpPoint, error) {
	var p lpPoint
	if line == "" || line[0] == '#' {
		return p, fmt.Errorf("empty or comment line %q", line)
	}
	if !utf8.ValidString(line) {
		return p, fmt.Errorf("invalid UTF-8 in %q", line)
	}
	for _, r := range line {
		if r < 0x20 || r == 0x7f {
			return p, fmt.Errorf("control character %U in %q", r, line)
		}
	}
	s := line
	var err error
	// Measurement: escapes for comma, space, backslash.
	p.Measurement, s, err = scanToken(s, ", ", ", \\")
	if err != nil || p.Measurement == "" {
		return p, fmt.Errorf("measurement: %v in %q", err, line)
	}
	// Tag set.
	for s != "" && s[0] == ',' {
		var t lpTag
		t.Key, s, err = scanToken(s[1:], "=", ",= \\")
		if err != nil || t.Key == "" || s == "" || s[0] != '=' {
			return p, fmt.Errorf("tag key: %v in %q", err, line)
		}
		t.Value, s, err = scanToken(s[1:], ", ", ",= \\")
		if err != nil || t.Value == "" {
			return p, fmt.Errorf("tag %q value: %v in %q", t.Key, err, line)
		}
		p.Tags = append(p.Tags, t)
	}
	if s == "" || s[0] != ' ' {
		return p, fmt.Errorf("no field set in %q", line)
	}
	s = s[1:]
	// Field set.
	p.Fields = map[string]any{}
	for {
		var key string
		key, s, err = scanToken(s, "=", ",= \\")
		if err != nil || key == "" || s == "" || s[0] != '=' {
			return p, fmt.Errorf("field key: %v in %q", err, line)
		}
		if _, dup := p.Fields[key]; dup {
			return p, fmt.Errorf("field %q twice in %q", key, line)
		}
		s = s[1:]
		var v any
		if s != "" && s[0] == '"' {
			v, s, err = scanString(s[1:])
		} else {
			v, s, err = scanNumber(s)
		}
		if err != nil {
			return p, fmt.Errorf("field %q: %v in %q", key, err, line)
		}
		p.Fields[key] = v
		p.FieldOrder = append(p.FieldOrder, key)
		if s == "" || s[0] != ',' {
			break
		}
		s = s[1:]
	}
	if s == "" || s[0] != ' ' {
		return p, fmt.Errorf("no timestamp in %q", line)
	}
	p.Time, err = strconv.ParseInt(s[1:], 10, 64)
	if err != nil {
		return p, fmt.Errorf("timestamp: %v in %q", err, line)
	}
	return p, nil
}

// scanToken reads up to the first unescaped byte in stops. A backslash
// before a byte in escapable stands for that byte; before anything else
// it is a literal backslash.
func scanToken(s, stops, escapable string) (tok, rest string, err error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && strings.IndexByte(escapable, s[i+1]) >= 0 {
			b.WriteByte(s[i+1])
			i++
			continue
		}
		if c == '\\' && i+1 == len(s) {
			return "", "", fmt.Errorf("trailing backslash")
		}
		if strings.IndexByte(stops, c) >= 0 {
			return b.String(), s[i:], nil
		}
		b.WriteByte(c)
	}
	return b.String(), "", nil
}

// scanString reads a string field after its opening quote.
func scanString(s string) (string, string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
			b.WriteByte(s[i+1])
			i++
		case c == '"':
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("unterminated string")
}

// scanNumber reads a float, or an integer with an i suffix.
func scanNumber(s string) (any, string, error) {
	n := strings.IndexAny(s, ", ")
	if n < 0 {
		n = len(s)
	}
	tok, rest := s[:n], s[n:]
	if strings.HasSuffix(tok, "i") {
		v, err := strconv.ParseInt(tok[:len(tok)-1], 10, 64)
		return v, rest, err
	}
	// Go's ParseFloat takes "NaN", "Inf", "0x1p3" and "1_0"; line protocol
	// does not.
	if strings.ContainsAny(tok, "xXnN_") {
		return nil, "", fmt.Errorf("not a line-protocol float: %q", tok)
	}
	v, err := strconv.ParseFloat(tok, 64)
	if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
		err = fmt.Errorf("not finite: %q", tok)
	}
	return v, rest, err
}
