package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-iot/shouwang/internal/stamp"
	"github.com/tidwall/gjson"
)

// Bounds on a document, past the body size the driver already caps: the
// readers below recurse or allocate per element, and a camera's event
// nests a handful of levels.
const (
	maxDepth    = 32
	maxElements = 1 << 15 // XML elements; a full 1024-sample track of boxes is about 7000
)

// document is a parsed event document, or one element of it; paths are
// relative to it.
type document interface {
	// value is the field at path; ok is false when there is none.
	value(path string) (v value, ok bool)
	// list is what path names as a list: a JSON array's items (any other
	// JSON value is a list of one), or XML's elements of that name. ok is
	// false when there is nothing at path; more than max items is an error.
	list(path string, max int) (items []document, ok bool, err error)
	// values is list's items as values.
	values(path string, max int) (vs []value, ok bool, err error)
}

// value is one field: a JSON number, string or bool, or an XML element's
// text (always text).
type value struct {
	num    float64
	text   string
	isNum  bool
	isBool bool
	isText bool
	other  string // what it is otherwise, for messages: "an object", "an array", "an element with children"
}

// number reads v as a finite number; numbers sent as text ("812") are
// common and accepted.
func (v value) number() (float64, error) {
	n := v.num
	switch {
	case v.isText:
		var err error
		if n, err = strconv.ParseFloat(strings.TrimSpace(v.text), 64); err != nil {
			return 0, fmt.Errorf("%q is not a number", clip(v.text))
		}
	case v.isBool:
		return 0, fmt.Errorf("is a boolean, not a number")
	case !v.isNum:
		return 0, fmt.Errorf("is %s, not a number", v.other)
	}
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, fmt.Errorf("%v is not a finite number", n)
	}
	return n, nil
}

// time reads v as a timestamp in unit (one of stamp.Units).
func (v value) time(unit string) (time.Time, error) {
	if v.isText {
		return stamp.Text(v.text, unit)
	}
	n, err := v.number()
	if err != nil {
		return time.Time{}, err
	}
	return stamp.Number(n, unit)
}

// str reads v as text: a string as sent, a number or bool as written.
func (v value) str() (string, error) {
	switch {
	case v.isText:
		return v.text, nil
	case v.isNum:
		return strconv.FormatFloat(v.num, 'f', -1, 64), nil
	case v.isBool:
		return strconv.FormatBool(v.num != 0), nil
	}
	return "", fmt.Errorf("is %s, not a value", v.other)
}

// jsonDoc is a JSON document or one value in it.
type jsonDoc struct{ r gjson.Result }

// parseJSON checks body is one JSON object no deeper than maxDepth: gjson
// validates recursively, so depth is bounded before it looks.
func parseJSON(body []byte) (document, *Error) {
	if !jsonDepthOK(body, maxDepth) {
		return nil, fail(ReasonTooDeep, "the JSON document nests deeper than %d levels", maxDepth)
	}
	if !gjson.ValidBytes(body) {
		return nil, fail(ReasonMalformed, "the document is not valid JSON (truncated, or not JSON at all)")
	}
	if firstNonSpace(body) != '{' {
		return nil, fail(ReasonMalformed, "the JSON document is not an object")
	}
	return jsonDoc{gjson.ParseBytes(body)}, nil
}

func (d jsonDoc) value(path string) (value, bool) {
	r := d.r.Get(path)
	if !r.Exists() || r.Type == gjson.Null {
		return value{}, false
	}
	return jsonValue(r), true
}

func jsonValue(r gjson.Result) value {
	switch {
	case r.Type == gjson.Number:
		return value{num: r.Num, isNum: true}
	case r.Type == gjson.String:
		return value{text: r.Str, isText: true}
	case r.Type == gjson.True:
		return value{num: 1, isBool: true}
	case r.Type == gjson.False:
		return value{isBool: true}
	case r.Type == gjson.Null:
		return value{other: "null"}
	case r.IsArray():
		return value{other: "an array"}
	}
	return value{other: "an object"}
}

func (d jsonDoc) list(path string, max int) ([]document, bool, error) {
	r := d.r.Get(path)
	if !r.Exists() || r.Type == gjson.Null {
		return nil, false, nil
	}
	if !r.IsArray() {
		return []document{jsonDoc{r}}, true, nil
	}
	var out []document
	var err error
	r.ForEach(func(_, item gjson.Result) bool {
		if len(out) == max {
			err = fmt.Errorf("has more than %d items", max)
			return false
		}
		out = append(out, jsonDoc{item})
		return true
	})
	return out, true, err
}

func (d jsonDoc) values(path string, max int) ([]value, bool, error) {
	items, ok, err := d.list(path, max)
	vs := make([]value, len(items))
	for i, it := range items {
		vs[i] = jsonValue(it.(jsonDoc).r)
	}
	return vs, ok, err
}

// jsonDepthOK scans body's bracket nesting outside strings, without
// recursion.
func jsonDepthOK(body []byte, max int) bool {
	depth, inString, escaped := 0, false, false
	for _, c := range body {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			if depth++; depth > max {
				return false
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return true
}

// xmlNode is one XML element: its local name, its text (the character
// data directly inside it, trimmed), attributes and child elements.
type xmlNode struct {
	name     string
	text     string
	attrs    []xml.Attr
	children []*xmlNode
	buf      []byte // text while the element is open
}

// parseXML reads body into a tree of at most maxElements elements nested
// at most maxDepth deep, with exactly one root element.
func parseXML(body []byte) (document, *Error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	var root *xmlNode
	var stack []*xmlNode
	count := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fail(ReasonMalformed, "the document is not valid XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if count++; count > maxElements {
				return nil, fail(ReasonTooLarge, "the XML document has more than %d elements", maxElements)
			}
			if len(stack) == maxDepth {
				return nil, fail(ReasonTooDeep, "the XML document nests deeper than %d levels", maxDepth)
			}
			n := &xmlNode{name: t.Name.Local, attrs: t.Attr}
			switch {
			case len(stack) > 0:
				top := stack[len(stack)-1]
				top.children = append(top.children, n)
			case root != nil:
				return nil, fail(ReasonMalformed, "the XML document has a second root element <%s>", clip(n.name))
			default:
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			// The decoder has matched the tags already (Strict).
			n := stack[len(stack)-1]
			n.text, n.buf = string(bytes.TrimSpace(n.buf)), nil
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				n := stack[len(stack)-1]
				n.buf = append(n.buf, t...)
			}
		}
	}
	if root == nil {
		return nil, fail(ReasonMalformed, "the XML document has no root element")
	}
	return root, nil
}

// find resolves path below n: a name selects the children so named (or,
// failing those, the attribute so named) of the first node selected so
// far, a number picks one of the nodes selected.
func (n *xmlNode) find(path string) []*xmlNode {
	cur := []*xmlNode{n}
	for seg := range strings.SplitSeq(path, ".") {
		if i, err := strconv.Atoi(seg); err == nil {
			if i < 0 || i >= len(cur) {
				return nil
			}
			cur = cur[i : i+1]
			continue
		}
		parent := cur[0]
		cur = nil
		for _, c := range parent.children {
			if c.name == seg {
				cur = append(cur, c)
			}
		}
		if len(cur) == 0 {
			for _, a := range parent.attrs {
				if a.Name.Local == seg {
					cur = []*xmlNode{{name: seg, text: strings.TrimSpace(a.Value)}}
					break
				}
			}
		}
		if len(cur) == 0 {
			return nil
		}
	}
	return cur
}

func (n *xmlNode) value(path string) (value, bool) {
	found := n.find(path)
	if len(found) == 0 {
		return value{}, false
	}
	return found[0].asValue(), true
}

func (n *xmlNode) asValue() value {
	if len(n.children) > 0 {
		return value{other: "an element with children"}
	}
	return value{text: n.text, isText: true}
}

func (n *xmlNode) list(path string, max int) ([]document, bool, error) {
	found := n.find(path)
	if len(found) == 0 {
		return nil, false, nil
	}
	if len(found) > max {
		return nil, true, fmt.Errorf("has more than %d elements", max)
	}
	out := make([]document, len(found))
	for i, f := range found {
		out[i] = f
	}
	return out, true, nil
}

func (n *xmlNode) values(path string, max int) ([]value, bool, error) {
	items, ok, err := n.list(path, max)
	vs := make([]value, len(items))
	for i, it := range items {
		vs[i] = it.(*xmlNode).asValue()
	}
	return vs, ok, err
}

// firstNonSpace is the first byte of b past white space and a UTF-8 byte
// order mark, or 0.
func firstNonSpace(b []byte) byte {
	b = bytes.TrimPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("\xef\xbb\xbf"))
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// clip shortens what a camera sent for an error message.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}
