package yamlconf

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/goccy/go-yaml/ast"
)

const (
	// maxDepth bounds nesting, so a hostile file cannot run the decoder's
	// recursion out of stack. Real configs nest a handful of levels.
	maxDepth = 500
	// maxValues bounds the values one Decode visits, so aliases that expand
	// exponentially ("billion laughs") end in an error instead of memory
	// exhaustion.
	maxValues = 1 << 20
)

var rawType = reflect.TypeFor[Raw]()

// Decode decodes the value at path ("" for the whole file) into *target,
// strictly: unknown keys and values of the wrong type are errors. Keys
// present overwrite target's fields; keys absent, null or empty leave them,
// so target can be pre-filled with defaults. Every problem is returned, in
// file order; nil means none. A path the file does not have decodes nothing.
// Keys in skip are left for the caller to decode: a profile's driver
// sections, a plugin section's "name" and "type".
func (d *Document) Decode(path string, target any, skip ...string) Errors {
	return d.decode(path, target, skip)
}

func (d *Document) decode(path string, target any, skip []string) Errors {
	rv := reflect.ValueOf(target)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return Errors{d.Errorf(path, "cannot decode into %T (want a non-nil pointer; a bug in the program, not in the config)", target)}
	}
	n, found, _, err := d.find(path)
	if err != nil {
		return Errors{d.Errorf(path, "malformed path (a bug in the program, not in the config)")}
	}
	if !found {
		return nil
	}
	line, col := d.Pos(path)
	dc := &decoder{d: d}
	var skipSet map[string]bool
	if len(skip) > 0 {
		skipSet = map[string]bool{}
		for _, k := range skip {
			skipSet[k] = true
		}
	}
	dc.value(rv.Elem(), n, path, 0, pos{line, col}, skipSet)
	errs := dc.errs.dedupe()
	errs.Sort()
	if len(errs) == 0 {
		return nil
	}
	return errs
}

type pos struct{ line, col int }

// decoder holds one Decode call's state.
type decoder struct {
	d       *Document
	errs    Errors
	values  int
	stopped bool
}

func (dc *decoder) add(at pos, path, format string, args ...any) {
	dc.errs = append(dc.errs, &Error{File: dc.d.File, Line: at.line, Col: at.col, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// enter does what every value needs first: counting, the depth check, and
// following aliases. at is where to report problems with the value as a
// whole: at the alias if it came through one, else where it is written, else
// fb (its key's position). ok is false when there is nothing to decode.
func (dc *decoder) enter(n ast.Node, path string, depth int, fb pos) (v ast.Node, at pos, ok bool) {
	if dc.stopped {
		return nil, fb, false
	}
	target, via, found := dc.d.idx.derefVia(n)
	at = fb
	for _, p := range []ast.Node{n, target, via} {
		if l, c := posOf(p); l >= 1 {
			at = pos{l, c} // later wins: the alias, else the value itself
		}
	}
	dc.values++
	switch {
	case dc.values > maxValues:
		dc.add(at, path, "too many values (the file expands to more than %d, probably through aliases)", maxValues)
		dc.stopped = true
		return nil, at, false
	case depth > maxDepth:
		dc.add(at, path, "nested more than %d levels deep", maxDepth)
		return nil, at, false
	case !found:
		dc.add(at, path, "%s", unknownAnchor(via))
		return nil, at, false
	}
	return target, at, !isNull(target)
}

// value decodes node n into v. skip lists keys to ignore in n itself.
func (dc *decoder) value(v reflect.Value, n ast.Node, path string, depth int, fb pos, skip map[string]bool) {
	n, at, ok := dc.enter(n, path, depth, fb)
	if !ok {
		return // null, or reported
	}
	// Allocate pointers only now that there is a value, so a null leaves a
	// nil default nil. The bound stops a self-referential pointer type.
	for range 8 {
		if v.Kind() != reflect.Pointer {
			break
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	t := v.Type()
	switch {
	case t == rawType:
		v.Set(reflect.ValueOf(Raw{Path: path, doc: dc.d}))
		return
	case t == durationType || reflect.PointerTo(t).Implements(textUnmarshalerType):
		dc.scalar(v, n, path, at)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		dc.structure(v, n, path, depth, at, skip)
	case reflect.Map:
		dc.mapping(v, n, path, depth, at, skip)
	case reflect.Slice:
		seq, isSeq := n.(*ast.SequenceNode)
		if !isSeq {
			dc.add(at, path, "want a list, found %s", describe(n))
			return
		}
		// A list replaces the default list; it is not merged item by item.
		s := reflect.MakeSlice(t, len(seq.Values), len(seq.Values))
		for i, item := range seq.Values {
			dc.value(s.Index(i), item, joinIndex(path, i), depth+1, at, nil)
		}
		v.Set(s)
	case reflect.Interface:
		if t.NumMethod() != 0 {
			dc.add(at, path, "cannot decode into Go type %s (a bug in the program, not in the config)", t)
			return
		}
		if x := dc.plainOf(n, path, depth, at); x != nil {
			v.Set(reflect.ValueOf(x))
		}
	case reflect.String, reflect.Bool, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		dc.scalar(v, n, path, at)
	default:
		dc.add(at, path, "cannot decode into Go type %s (a bug in the program, not in the config)", t)
	}
}

// mappingOf returns n's keys, reporting the mapping's own problems once per
// decode, or reports what was found instead of a mapping.
func (dc *decoder) mappingOf(n ast.Node, path string, at pos) (*mapping, bool) {
	m, isMap := n.(*ast.MappingNode)
	if !isMap {
		dc.add(at, path, "want a mapping, found %s", describe(n))
		return nil, false
	}
	mp := dc.d.idx.maps[m]
	if mp == nil {
		dc.add(at, path, "nested too deeply")
		return nil, false
	}
	for _, p := range mp.problems {
		l, c := posOr(p.node, at.line, at.col)
		pp := path
		if p.key != "" {
			pp = joinKey(path, p.key)
		}
		dc.add(pos{l, c}, pp, "%s", p.msg)
	}
	return mp, true
}

func (dc *decoder) structure(v reflect.Value, n ast.Node, path string, depth int, at pos, skip map[string]bool) {
	mp, ok := dc.mappingOf(n, path, at)
	if !ok {
		return
	}
	fields := fieldsOf(v.Type())
	for _, e := range mp.entries {
		if skip[e.key] {
			continue
		}
		kp := joinKey(path, e.key)
		kl, kc := posOr(e.keyNode, at.line, at.col)
		f, known := fields.byName[e.key]
		if !known {
			valid := fields.names
			if len(skip) > 0 {
				valid = slices.Clone(valid)
				for k := range skip {
					valid = append(valid, k)
				}
				slices.Sort(valid)
			}
			dc.add(pos{kl, kc}, kp, "%s", unknownField(e.key, valid))
			continue
		}
		fv, settable := fieldByIndex(v, f)
		if !settable {
			dc.add(pos{kl, kc}, kp, "cannot set field %s (a bug in the program, not in the config)", e.key)
			continue
		}
		dc.value(fv, e.value, kp, depth+1, pos{kl, kc}, nil)
	}
}

func (dc *decoder) mapping(v reflect.Value, n ast.Node, path string, depth int, at pos, skip map[string]bool) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		dc.add(at, path, "cannot decode into Go type %s, map keys must be strings (a bug in the program, not in the config)", t)
		return
	}
	mp, ok := dc.mappingOf(n, path, at)
	if !ok {
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(t, len(mp.entries)))
	}
	for _, e := range mp.entries {
		if skip[e.key] {
			continue
		}
		k := reflect.ValueOf(e.key).Convert(t.Key())
		// Decode over the existing entry, so a default entry keeps what
		// the file does not set.
		elem := reflect.New(t.Elem()).Elem()
		if old := v.MapIndex(k); old.IsValid() {
			elem.Set(old)
		}
		kl, kc := posOr(e.keyNode, at.line, at.col)
		dc.value(elem, e.value, joinKey(path, e.key), depth+1, pos{kl, kc}, nil)
		v.SetMapIndex(k, elem)
	}
}

// scalar decodes a scalar node into a scalar kind, a Duration or a
// TextUnmarshaler.
func (dc *decoder) scalar(v reflect.Value, n ast.Node, path string, at pos) {
	text, isString, ok := scalarText(n)
	if !ok {
		dc.add(at, path, "want %s, found %s", wantOf(v.Type()), describe(n))
		return
	}
	seen := shown(text, isString)
	secret := false
	if isString {
		var problems []string
		text, secret, problems = dc.d.expand(text)
		for _, p := range problems {
			dc.add(at, path, "%s", p)
		}
		if len(problems) > 0 {
			return
		}
	}
	if msg := setScalar(v, text, seen, secret); msg != "" {
		dc.add(at, path, "%s", msg)
	}
}

// wantOf names what a scalar target takes, for "want X, found a list".
func wantOf(t reflect.Type) string {
	switch {
	case t == durationType:
		return `a duration like "30s"`
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		return "a single value (" + t.String() + ")"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number like 0.5"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a whole number like 502"
	}
	return "a single value"
}
