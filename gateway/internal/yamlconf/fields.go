package yamlconf

import (
	"reflect"
	"slices"
	"strings"
)

// field is a struct field a key decodes into; index may pass through
// embedded structs merged with ",inline".
type field struct{ index []int }

type fieldSet struct {
	byName map[string]field
	names  []string // sorted, for "valid: ..." lists
}

// fieldsOf lists the keys a struct takes: the yaml tag's name, or the
// lowercased field name when untagged; "-" skips a field and ",inline"
// merges an embedded struct's keys. A field of the outer struct wins over
// an inlined one of the same name.
func fieldsOf(t reflect.Type) fieldSet {
	fs := fieldSet{byName: map[string]field{}}
	collectFields(t, nil, &fs, map[reflect.Type]bool{t: true})
	slices.Sort(fs.names)
	return fs
}

func collectFields(t reflect.Type, index []int, fs *fieldSet, inlining map[reflect.Type]bool) {
	type inlined struct {
		t     reflect.Type
		index []int
	}
	var later []inlined
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		idx := append(slices.Clone(index), i)
		if slices.Contains(strings.Split(opts, ","), "inline") {
			et := f.Type
			if et.Kind() == reflect.Pointer && f.IsExported() {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct && !inlining[et] {
				later = append(later, inlined{et, idx})
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if _, taken := fs.byName[name]; !taken {
			fs.byName[name] = field{index: idx}
			fs.names = append(fs.names, name)
		}
	}
	for _, in := range later {
		inlining[in.t] = true
		collectFields(in.t, in.index, fs, inlining)
		delete(inlining, in.t)
	}
}

// fieldByIndex is v's field, allocating inlined struct pointers on the way.
func fieldByIndex(v reflect.Value, f field) (reflect.Value, bool) {
	for i, x := range f.index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, false
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, v.CanSet()
}
