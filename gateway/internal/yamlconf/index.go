package yamlconf

import (
	"fmt"

	"github.com/goccy/go-yaml/ast"
)

// walkDepth bounds the AST walk in newIndex. It is well above what decoding
// at maxDepth can reach (each level of a value is a few AST nodes), so every
// mapping the decoder visits has been indexed.
const walkDepth = 8*maxDepth + 16

// index is what Parse learns about the AST once, so that decoding and path
// look-ups are simple and a Document is read-only afterwards.
type index struct {
	// aliases maps each alias to the value of the anchor it names; an alias
	// absent here names no anchor before it.
	aliases map[*ast.AliasNode]ast.Node
	// maps holds every mapping's keys with merge keys applied.
	maps map[*ast.MappingNode]*mapping
	// anchors is only used while walking: the latest value for each name.
	anchors map[string]ast.Node
}

// mapping is a mapping's keys as the decoder sees them.
type mapping struct {
	entries []entry
	// problems are found while indexing (duplicate keys, bad merges) and
	// reported each time the mapping is decoded, under the decoder's path.
	problems []problem
}

// entry is one key and its value, written in the mapping or merged in.
type entry struct {
	key     string
	keyNode ast.Node
	value   ast.Node
}

type problem struct {
	key  string   // the key it concerns, joined to the mapping's path
	node ast.Node // where it is reported
	msg  string
}

func newIndex(root ast.Node) *index {
	ix := &index{
		aliases: map[*ast.AliasNode]ast.Node{},
		maps:    map[*ast.MappingNode]*mapping{},
		anchors: map[string]ast.Node{},
	}
	ix.walk(root, 0)
	ix.anchors = nil
	return ix
}

// walk visits the AST in document order, which is the order YAML resolves
// aliases in: an alias names the latest anchor completed before it. An
// anchor is registered after its value, so no alias can form a cycle.
func (ix *index) walk(n ast.Node, depth int) {
	if depth > walkDepth {
		return
	}
	switch n := n.(type) {
	case *ast.MappingNode:
		if n == nil {
			return
		}
		for _, mv := range n.Values {
			if mv != nil {
				ix.walk(mv.Key, depth+1)
				ix.walk(mv.Value, depth+1)
			}
		}
		ix.maps[n] = ix.build(n)
	case *ast.SequenceNode:
		if n == nil {
			return
		}
		for _, v := range n.Values {
			ix.walk(v, depth+1)
		}
	case *ast.AnchorNode:
		if n == nil {
			return
		}
		ix.walk(n.Value, depth+1)
		if n.Name != nil && n.Name.GetToken() != nil {
			ix.anchors[n.Name.GetToken().Value] = n.Value
		}
	case *ast.AliasNode:
		if n == nil {
			return
		}
		if v, ok := ix.anchors[aliasName(n)]; ok {
			ix.aliases[n] = v
		}
	case *ast.TagNode:
		if n != nil {
			ix.walk(n.Value, depth+1)
		}
	case *ast.MappingKeyNode:
		if n != nil {
			ix.walk(n.Value, depth+1)
		}
	}
}

func aliasName(n *ast.AliasNode) string {
	if n.Value == nil || n.Value.GetToken() == nil {
		return ""
	}
	return n.Value.GetToken().Value
}

// build lists a mapping's keys. Keys written in the mapping win over merged
// ones, and earlier merge sources over later ones, as the YAML merge key
// spec says; a key written twice is an error at the second.
func (ix *index) build(m *ast.MappingNode) *mapping {
	mp := &mapping{}
	seen := map[string]ast.Node{}
	var merged []entry
	for _, mv := range m.Values {
		if mv == nil {
			continue
		}
		if !isNilNode(mv.Key) && mv.Key.IsMergeKey() {
			merged = append(merged, ix.merge(mp, mv)...)
			continue
		}
		key, ok := ix.keyText(mv.Key)
		if !ok {
			msg := ""
			if k, via, found := ix.derefVia(mv.Key); !found {
				msg = unknownAnchor(via)
			} else {
				msg = fmt.Sprintf("a key must be a name, found %s", describe(k))
			}
			mp.problems = append(mp.problems, problem{node: mv.Key, msg: msg})
			continue
		}
		if first, dup := seen[key]; dup {
			line, _ := posOf(first)
			mp.problems = append(mp.problems, problem{key: key, node: mv.Key,
				msg: fmt.Sprintf("duplicate key %s (first set on line %d; each key may appear once)", quoteShort(key), line)})
			continue
		}
		seen[key] = mv.Key
		mp.entries = append(mp.entries, entry{key: key, keyNode: mv.Key, value: mv.Value})
	}
	for _, e := range merged {
		if _, ok := seen[e.key]; !ok {
			seen[e.key] = e.keyNode
			mp.entries = append(mp.entries, e)
		}
	}
	return mp
}

// merge returns the entries a "<<" key brings in. The sources were indexed
// already: an inline mapping is walked before its parent is built, and an
// alias names an anchor completed earlier.
func (ix *index) merge(mp *mapping, mv *ast.MappingValueNode) []entry {
	const want = "the merge key << takes a mapping or a list of mappings"
	v, via, ok := ix.derefVia(mv.Value)
	if !ok {
		mp.problems = append(mp.problems, problem{key: "<<", node: via, msg: unknownAnchor(via)})
		return nil
	}
	var sources []ast.Node
	if seq, isSeq := v.(*ast.SequenceNode); isSeq && seq != nil {
		sources = seq.Values
	} else {
		sources = []ast.Node{mv.Value}
	}
	var out []entry
	for _, s := range sources {
		m, via, ok := ix.derefVia(s)
		if !ok {
			mp.problems = append(mp.problems, problem{key: "<<", node: via, msg: unknownAnchor(via)})
			continue
		}
		mm, isMap := m.(*ast.MappingNode)
		if !isMap || ix.maps[mm] == nil {
			node := s
			if node == nil {
				node = mv.Key
			}
			mp.problems = append(mp.problems, problem{key: "<<", node: node,
				msg: fmt.Sprintf("%s, found %s", want, describe(m))})
			continue
		}
		out = append(out, ix.maps[mm].entries...)
	}
	return out
}

// deref strips what only decorates a value (anchors, tags, "?" key markers)
// and follows aliases. ok is false for an alias that names no anchor.
func (ix *index) deref(n ast.Node) (v ast.Node, ok bool) {
	v, _, ok = ix.derefVia(n)
	return v, ok
}

// derefVia is deref that also returns the first alias it followed, because
// a value used through an alias is best reported where the alias is.
func (ix *index) derefVia(n ast.Node) (v ast.Node, via *ast.AliasNode, ok bool) {
	// Anchors and tags nest only a few levels; the bound guards the loop
	// against an AST shape this code did not foresee.
	for range 32 {
		switch x := n.(type) {
		case *ast.AnchorNode:
			if x == nil {
				return nil, via, true
			}
			n = x.Value
		case *ast.TagNode:
			if x == nil {
				return nil, via, true
			}
			n = x.Value
		case *ast.MappingKeyNode:
			if x == nil {
				return nil, via, true
			}
			n = x.Value
		case *ast.AliasNode:
			if x == nil {
				return nil, via, true
			}
			target, found := ix.aliases[x]
			if !found {
				return nil, x, false
			}
			if via == nil {
				via = x
			}
			n = target
		default:
			return n, via, true
		}
	}
	return nil, via, true
}

// keyText is a mapping key as a string; keys must be scalars.
func (ix *index) keyText(k ast.Node) (string, bool) {
	v, ok := ix.deref(k)
	if !ok || v == nil {
		return "", false
	}
	text, _, isScalar := scalarText(v)
	return text, isScalar
}

func unknownAnchor(a *ast.AliasNode) string {
	name := ""
	if a != nil {
		name = shorten(aliasName(a))
	}
	return fmt.Sprintf("unknown anchor %q (an alias *%s needs an anchor &%s earlier in the file)", name, name, name)
}
