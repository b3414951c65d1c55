package yamlconf

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a config file, positioned at the text that caused
// it so an operator can jump straight there.
type Error struct {
	File      string
	Line, Col int
	// Path names the value in YAML terms: "devices[2].location.floor".
	Path string
	// Msg says what is wrong, then what would be valid in parentheses. It
	// never holds a value expanded from ${env:...} or ${file:...}.
	Msg string
}

// Error formats the problem as "file:line:col: path: msg", the shape editors
// and CI logs turn into links. The file and path parts are left out when
// empty.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	fmt.Fprintf(&b, "%d:%d: ", e.Line, e.Col)
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found, so a config check can print them all at
// once instead of making the operator fix them one run at a time.
type Errors []*Error

// Error prints one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find a single *Error in the list.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// Sort orders the problems as they appear in the file(s), which is how an
// operator reads and fixes them. Problems at one position keep their order.
func (es Errors) Sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}

// Err returns nil when there are no problems, so callers can write
// `if err := errs.Err(); err != nil` without the typed-nil trap.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// dedupe drops repeats of one problem at one place: an anchor used twice is
// decoded twice, but the operator has one thing to fix.
func (es Errors) dedupe() Errors {
	type at struct {
		file      string
		line, col int
		msg       string
	}
	seen := make(map[at]bool, len(es))
	out := es[:0]
	for _, e := range es {
		k := at{e.File, e.Line, e.Col, e.Msg}
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}
