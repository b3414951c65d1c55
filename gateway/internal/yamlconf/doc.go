// Package yamlconf decodes a YAML config file strictly and reports every
// problem at once, each as "file:line:col: path: what is wrong (what would be
// valid)".
//
// goccy/go-yaml's own Unmarshal stops at the first error, which turns a config
// check into a fix-one-rerun loop, so this package parses with goccy and then
// walks its AST itself. A Document remembers where each value came from, so
// problems found later by a component's Validate can be pointed at the file
// too (see Errorf and Locate).
//
// Paths name values the way an operator reads them: "devices[2].location.floor".
// String values may hold ${env:NAME} and ${file:PATH} so secrets stay out
// of the file; "$${" writes a literal "${". Expanded values never appear in
// an error message, which quotes the text as written.
package yamlconf

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Document is a parsed YAML file that remembers where each value came from.
// It is read-only after Parse, so it may be decoded from several goroutines.
type Document struct {
	// File is the name errors carry; ${file:PATH} references are resolved
	// relative to its directory.
	File string
	root ast.Node // body of the file's one document; nil when it is empty
	idx  *index
}

// Parse reads a YAML file. Syntax errors come back as Errors with positions
// and a nil Document. A file may hold one YAML document only: a second one
// after "---" would be ignored silently by most readers, so it is an error.
func Parse(file string, src []byte) (*Document, error) {
	d := &Document{File: file}
	f, err := parseBytes(src)
	if err != nil {
		line, col, msg := 1, 1, "cannot parse the file (the YAML parser failed on it)"
		var se interface {
			GetToken() *token.Token
			GetMessage() string
		}
		if errors.As(err, &se) {
			msg = "syntax error: " + printable(se.GetMessage())
			if tk := se.GetToken(); tk != nil && tk.Position != nil && tk.Position.Line >= 1 {
				line, col = tk.Position.Line, max(tk.Position.Column, 1)
			}
		}
		return nil, Errors{{File: file, Line: line, Col: col, Msg: msg}}
	}
	var bodies []ast.Node
	for _, doc := range f.Docs {
		if doc == nil || isNilNode(doc.Body) {
			continue
		}
		// goccy gives a %YAML or %TAG directive a document of its own; it
		// belongs to the document after it.
		if _, isDirective := doc.Body.(*ast.DirectiveNode); !isDirective {
			bodies = append(bodies, doc.Body)
		}
	}
	if len(bodies) > 1 {
		line, col := posOr(bodies[1], 1, 1)
		return nil, Errors{{File: file, Line: line, Col: col,
			Msg: `a second YAML document (a config file holds one; remove the "---" before this)`}}
	}
	if len(bodies) == 1 {
		d.root = bodies[0]
	}
	d.idx = newIndex(d.root)
	return d, nil
}

// parseBytes runs goccy's parser, turning a panic inside it into an error:
// a config check must report a broken file, not crash on it.
func parseBytes(src []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, errors.New("yaml parser panicked")
		}
	}()
	// Duplicate keys are allowed here and reported by the decoder, because
	// the parser would stop at the first one.
	return parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
}

// Errorf builds a positioned error for a value, for problems found after
// decoding (by Validate). For a missing path it points at the nearest
// existing ancestor, so "missing field" errors land on the mapping that lacks
// the field.
func (d *Document) Errorf(path, format string, args ...any) *Error {
	line, col := d.Pos(path)
	return &Error{File: d.File, Line: line, Col: col, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// posOf is where a node's text starts, or 0, 0 if goccy did not record it.
func posOf(n ast.Node) (line, col int) {
	if isNilNode(n) {
		return 0, 0
	}
	var tk *token.Token
	switch n := n.(type) {
	case *ast.MappingNode:
		// A block mapping's own token is the first ":", which is not where
		// a reader sees the mapping start; its first key is.
		if !n.IsFlowStyle && len(n.Values) > 0 && n.Values[0] != nil && n.Values[0].Key != nil {
			return posOf(n.Values[0].Key)
		}
		tk = n.Start
	case *ast.MappingValueNode:
		if n.Key != nil {
			return posOf(n.Key)
		}
		tk = n.Start
	case *ast.LiteralNode:
		// The text of a "|" block has column 0 in goccy; point at the "|".
		tk = n.Start
	default:
		tk = n.GetToken()
	}
	if tk == nil || tk.Position == nil || tk.Position.Line < 1 {
		return 0, 0
	}
	return tk.Position.Line, max(tk.Position.Column, 1)
}

// posOr is posOf with a fallback for nodes without a position.
func posOr(n ast.Node, line, col int) (int, int) {
	if l, c := posOf(n); l >= 1 {
		return l, c
	}
	return line, col
}

// isNilNode reports a nil node, including a typed nil pointer, whose
// methods would dereference nil.
func isNilNode(n ast.Node) bool {
	if n == nil {
		return true
	}
	v := reflect.ValueOf(n)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// printable escapes control characters goccy quotes from the input (a tab,
// binary garbage), so a message cannot garble the terminal it prints on.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || (!unicode.IsPrint(r) && r != ' ') {
			b.WriteString(strings.Trim(strconv.QuoteRune(r), "'"))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
