package yamlconf

import (
	"math"

	"github.com/goccy/go-yaml/ast"
)

// plain decodes n into plain Go values (map[string]any, []any, string,
// bool, int, float64), for targets of type any.
func (dc *decoder) plain(n ast.Node, path string, depth int, fb pos) any {
	n, at, ok := dc.enter(n, path, depth, fb)
	if !ok {
		return nil
	}
	return dc.plainOf(n, path, depth, at)
}

func (dc *decoder) plainOf(n ast.Node, path string, depth int, at pos) any {
	switch x := n.(type) {
	case *ast.MappingNode:
		mp, ok := dc.mappingOf(x, path, at)
		if !ok {
			return nil
		}
		m := make(map[string]any, len(mp.entries))
		for _, e := range mp.entries {
			kl, kc := posOr(e.keyNode, at.line, at.col)
			m[e.key] = dc.plain(e.value, joinKey(path, e.key), depth+1, pos{kl, kc})
		}
		return m
	case *ast.SequenceNode:
		s := make([]any, len(x.Values))
		for i, item := range x.Values {
			s[i] = dc.plain(item, joinIndex(path, i), depth+1, at)
		}
		return s
	}
	text, isString, ok := scalarText(n)
	if !ok {
		dc.add(at, path, "unsupported YAML here (%s)", describe(n))
		return nil
	}
	if !isString {
		return plainScalar(n, text)
	}
	text, _, problems := dc.d.expand(text)
	for _, p := range problems {
		dc.add(at, path, "%s", p)
	}
	if len(problems) > 0 {
		return nil
	}
	return text
}

// plainScalar is a scalar as a plain Go value, for targets of type any:
// booleans and numbers as YAML types them, everything else a string.
func plainScalar(n ast.Node, text string) any {
	switch n.(type) {
	case *ast.BoolNode:
		switch text {
		case "true", "True", "TRUE":
			return true
		case "false", "False", "FALSE":
			return false
		}
	case *ast.IntegerNode:
		// int when it fits, Go's usual type for a whole number; else
		// int64 or uint64; beyond 64 bits the text as written.
		mag, neg, isInt, overflow := parseInteger(text)
		var i int64
		switch {
		case !isInt || overflow:
			return text
		case neg && mag <= 1<<63:
			i = -int64(mag-1) - 1
		case !neg && mag <= math.MaxInt64:
			i = int64(mag)
		case !neg:
			return mag
		default:
			return text
		}
		if i >= math.MinInt && i <= math.MaxInt {
			return int(i)
		}
		return i
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		if f, ok, _ := parseFloat(text, 64); ok {
			return f
		}
	}
	return text
}
