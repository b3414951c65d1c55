package yamlconf

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
)

// A path names a value the way an operator would: YAML keys joined with
// dots and list indexes in brackets, "devices[2].location.floor". A key that
// would not read back unambiguously (it holds ".", "[", a quote, a control
// character, or is empty) is written quoted in brackets: `tags["a.b"]`.

// segment is one step of a path: a key, or an index when isIndex.
type segment struct {
	key     string
	index   int
	isIndex bool
}

var errBadPath = errors.New("malformed path")

// parsePath splits a path into segments. On a malformed path it returns the
// segments before the fault and errBadPath.
func parsePath(p string) ([]segment, error) {
	var segs []segment
	for i := 0; i < len(p); {
		if p[i] == '[' {
			rest := p[i+1:]
			if strings.HasPrefix(rest, `"`) {
				q, err := strconv.QuotedPrefix(rest)
				if err != nil || !strings.HasPrefix(rest[len(q):], "]") {
					return segs, errBadPath
				}
				key, _ := strconv.Unquote(q)
				segs = append(segs, segment{key: key})
				i += 1 + len(q) + 1
				continue
			}
			end := strings.IndexByte(rest, ']')
			if end <= 0 || strings.Trim(rest[:end], "0123456789") != "" {
				return segs, errBadPath
			}
			n, err := strconv.Atoi(rest[:end])
			if err != nil {
				return segs, errBadPath
			}
			segs = append(segs, segment{index: n, isIndex: true})
			i += 1 + end + 1
			continue
		}
		if len(segs) > 0 {
			if p[i] != '.' {
				return segs, errBadPath
			}
			i++
		}
		j := i
		for j < len(p) && p[j] != '.' && p[j] != '[' {
			j++
		}
		if j == i {
			return segs, errBadPath
		}
		segs = append(segs, segment{key: p[i:j]})
		i = j
	}
	return segs, nil
}

// joinKey is the path of key inside the value at base.
func joinKey(base, key string) string {
	if needsQuote(key) {
		return base + "[" + strconv.Quote(key) + "]"
	}
	if base == "" {
		return key
	}
	return base + "." + key
}

// joinIndex is the path of item i of the list at base.
func joinIndex(base string, i int) string {
	return base + "[" + strconv.Itoa(i) + "]"
}

// subPath appends a relative path ("port", "points[2]", "[0]") to base.
func subPath(base, rel string) string {
	switch {
	case rel == "":
		return base
	case base == "" || rel[0] == '[':
		return base + rel
	}
	return base + "." + rel
}

func needsQuote(key string) bool {
	if key == "" || strings.ContainsAny(key, `.[]"`) || !utf8.ValidString(key) {
		return true
	}
	return strings.IndexFunc(key, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) >= 0
}

// find looks a path up. trail holds the nodes passed through, root first,
// so a missing path can be reported at its nearest existing ancestor.
func (d *Document) find(path string) (n ast.Node, found bool, trail []ast.Node, err error) {
	segs, err := parsePath(path)
	if d == nil || d.root == nil {
		return nil, false, nil, err
	}
	cur := d.root
	trail = []ast.Node{cur}
	for _, s := range segs {
		next, ok := d.child(cur, s)
		if !ok {
			return nil, false, trail, err
		}
		cur = next
		trail = append(trail, cur)
	}
	return cur, err == nil, trail, err
}

// child is the value a segment names inside n, following aliases and merges.
func (d *Document) child(n ast.Node, s segment) (ast.Node, bool) {
	v, ok := d.idx.deref(n)
	if !ok {
		return nil, false
	}
	if s.isIndex {
		seq, isSeq := v.(*ast.SequenceNode)
		if !isSeq || seq == nil || s.index >= len(seq.Values) {
			return nil, false
		}
		return seq.Values[s.index], true
	}
	m, isMap := v.(*ast.MappingNode)
	if !isMap || d.idx.maps[m] == nil {
		return nil, false
	}
	for _, e := range d.idx.maps[m].entries {
		if e.key == s.key {
			return e.value, true
		}
	}
	return nil, false
}

// Has reports whether the file sets the value at path, even to null.
// Path "" is the whole document, which an empty file does not have.
func (d *Document) Has(path string) bool {
	_, found, _, _ := d.find(path)
	return found
}

// Pos is where the value at path is written. For a missing path it is the
// nearest existing ancestor's position, so "missing field" errors point at
// the mapping that lacks the field; for an empty file it is 1, 1.
func (d *Document) Pos(path string) (line, col int) {
	_, _, trail, _ := d.find(path)
	for i := len(trail) - 1; i >= 0; i-- {
		if line, col := posOf(trail[i]); line >= 1 {
			return line, col
		}
	}
	return 1, 1
}
