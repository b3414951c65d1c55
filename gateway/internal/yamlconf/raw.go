package yamlconf

import (
	"errors"

	"github.com/shouwang-iot/shouwang"
)

// Raw captures a value unparsed, so the caller can decode it later into a
// type chosen at run time: a driver or sink section whose "type" key picks
// the Config struct the rest of its keys belong to. A zero Raw stands for a
// value the file does not have (or sets to null); decoding it changes
// nothing.
type Raw struct {
	// Path is where the value is in the file, e.g. "sinks[0]".
	Path string
	doc  *Document
}

// Decode decodes the captured value into *target like Document.Decode,
// ignoring the keys in skip, which belong to the caller (the common "name"
// and "type" of a plugin section), not to target.
func (r Raw) Decode(target any, skip ...string) Errors {
	if r.doc == nil {
		return nil
	}
	return r.doc.decode(r.Path, target, skip)
}

// Has reports whether the value has key, or more generally the relative
// path key ("points[2].address").
func (r Raw) Has(key string) bool {
	return r.doc != nil && r.doc.Has(subPath(r.Path, key))
}

// String is the text of the scalar at key, or "" if it is missing, null or
// not a scalar. It is meant for selector keys such as "type", so it does not
// expand ${...} references: those are for secrets, not for choosing code.
func (r Raw) String(key string) string {
	if r.doc == nil {
		return ""
	}
	n, found, _, _ := r.doc.find(subPath(r.Path, key))
	if !found {
		return ""
	}
	v, ok := r.doc.idx.deref(n)
	if !ok || isNull(v) {
		return ""
	}
	text, _, _ := scalarText(v)
	return text
}

// Locate positions the problems in err under base: typically what a
// component's Validate returned for the section at base. A
// shouwang.FieldErrors becomes one Error per field, at the field if the
// file sets it and else at its nearest ancestor; Errors pass through; any
// other error becomes one Error at base.
func (d *Document) Locate(base string, err error) Errors {
	if err == nil {
		return nil
	}
	var out Errors
	var es Errors
	var fes shouwang.FieldErrors
	var fe *shouwang.FieldError
	switch {
	case errors.As(err, &es):
		out = append(out, es...)
	case errors.As(err, &fes):
		for _, fe := range fes {
			if fe != nil {
				out = append(out, d.Errorf(subPath(base, fe.Field), "%s", fe.Problem))
			}
		}
	case errors.As(err, &fe):
		out = append(out, d.Errorf(subPath(base, fe.Field), "%s", fe.Problem))
	default:
		out = append(out, d.Errorf(base, "%s", err.Error()))
	}
	out.Sort()
	return out
}
