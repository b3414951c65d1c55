package yamlconf

import (
	"errors"
	"reflect"
	"testing"

	"github.com/shouwang-iot/shouwang"
)

const posDoc = `gateway:
  name: edge
  listen:
devices:
  - id: d1
    location:
      floor: 12
  - id: d2
tags: {"a.b": x, elderly: "1"}
`

func TestPosHas(t *testing.T) {
	d := MustParse(t, "f.yaml", posDoc)
	tests := []struct {
		path      string
		has       bool
		line, col int
	}{
		{"", true, 1, 1},
		{"gateway", true, 2, 3},
		{"gateway.name", true, 2, 9},
		{"gateway.listen", true, 3, 10}, // set, to nothing
		{"gateway.port", false, 2, 3},   // missing: at the mapping that lacks it
		{"devices[0].location.floor", true, 7, 14},
		{"devices[1]", true, 8, 5},
		{"devices[1].location.floor", false, 8, 5},
		{"devices[2].id", false, 5, 3},
		{"devices.x", false, 5, 3},
		{"tags.elderly", true, 9, 27},
		{`tags["a.b"]`, true, 9, 15},
		{"tags.a.b", false, 9, 7},
		{"nothing.at.all", false, 1, 1},
		{"devices[x]", false, 5, 3}, // malformed: nearest valid prefix
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := d.Has(tt.path); got != tt.has {
				t.Errorf("Has = %v, want %v", got, tt.has)
			}
			if line, col := d.Pos(tt.path); line != tt.line || col != tt.col {
				t.Errorf("Pos = %d:%d, want %d:%d", line, col, tt.line, tt.col)
			}
		})
	}
}

func TestPosEmptyFile(t *testing.T) {
	d := MustParse(t, "f.yaml", "")
	if d.Has("") || d.Has("a") {
		t.Error("an empty file has nothing")
	}
	if line, col := d.Pos("a.b"); line != 1 || col != 1 {
		t.Errorf("Pos = %d:%d, want 1:1", line, col)
	}
}

func TestErrorf(t *testing.T) {
	d := MustParse(t, "conf/gw.yaml", posDoc)
	got := d.Errorf("devices[1].location", "missing location (want community, building, floor)").Error()
	want := "conf/gw.yaml:8:5: devices[1].location: missing location (want community, building, floor)"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestLocate(t *testing.T) {
	d := MustParse(t, "f.yaml", posDoc)
	var fes shouwang.FieldErrors
	fes.Add("location.floor", "floor %d is above the building (want 1 to 11)", 12)
	fes.Add("id", "duplicate id")
	fes.Add("driver", "missing driver (want the name of a driver section)")
	got := lines(d.Locate("devices[0]", fes))
	want := `f.yaml:5:5: devices[0].driver: missing driver (want the name of a driver section)
f.yaml:5:9: devices[0].id: duplicate id
f.yaml:7:14: devices[0].location.floor: floor 12 is above the building (want 1 to 11)`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got, want := lines(d.Locate("gateway", errors.New("boom"))), "f.yaml:2:3: gateway: boom"; got != want {
		t.Errorf("plain error: got %s, want %s", got, want)
	}
	if d.Locate("gateway", nil) != nil {
		t.Error("nil error should locate to nil")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unclosed quote", "a: 1\nb: \"open\nc: 3\n", `f.yaml:2:4: syntax error: could not find end character of double-quoted text`},
		{"bad indentation", "a:\n  b: 1\n c: 2\n", "f.yaml:3:2: syntax error: value is not allowed in this context"},
		{"unclosed flow", "a: [1, 2\n", "f.yaml:1:4: syntax error: sequence end token ']' not found"},
		{"tab indentation", "a:\n\tb: 1\n", "f.yaml:2:1: syntax error: found character '\\t' that cannot start any token"},
		{"two documents", "a: 1\n---\nb: 2\n", `f.yaml:3:1: a second YAML document (a config file holds one; remove the "---" before this)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse("f.yaml", []byte(tt.src))
			if d != nil {
				t.Error("a failed Parse should return no Document")
			}
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("want one Error, got %T %v", err, err)
			}
			if got := errs.Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseOneDocument(t *testing.T) {
	for _, src := range []string{
		"---\na: 1\n---\n",
		"%YAML 1.2\n---\na: 1\n",
		"a: 1\n...\n",
	} {
		d, err := Parse("f.yaml", []byte(src))
		if err != nil || !d.Has("a") {
			t.Errorf("%q is one document: %v", src, err)
		}
	}
}

func TestPaths(t *testing.T) {
	tests := []struct {
		path string
		segs []segment
		ok   bool
	}{
		{"", nil, true},
		{"a", []segment{{key: "a"}}, true},
		{"devices[2].location.floor", []segment{{key: "devices"}, {index: 2, isIndex: true}, {key: "location"}, {key: "floor"}}, true},
		{"[0][1]", []segment{{index: 0, isIndex: true}, {index: 1, isIndex: true}}, true},
		{`tags["a.b"].c`, []segment{{key: "tags"}, {key: "a.b"}, {key: "c"}}, true},
		{"a..b", []segment{{key: "a"}}, false},
		{".a", nil, false},
		{"a[-1]", []segment{{key: "a"}}, false},
		{"a[1]b", []segment{{key: "a"}, {index: 1, isIndex: true}}, false},
		{`a["x`, []segment{{key: "a"}}, false},
	}
	for _, tt := range tests {
		segs, err := parsePath(tt.path)
		if (err == nil) != tt.ok || !reflect.DeepEqual(segs, tt.segs) {
			t.Errorf("parsePath(%q) = %v, %v; want %v, ok %v", tt.path, segs, err, tt.segs, tt.ok)
		}
	}
	for _, key := range []string{"plain", "a.b", "", `q"`, "x[0]", "tab\there", "楼"} {
		p := joinKey("tags", key)
		segs, err := parsePath(p)
		if err != nil || len(segs) != 2 || segs[1].key != key {
			t.Errorf("joinKey(%q) = %q does not read back: %v %v", key, p, segs, err)
		}
	}
}

func TestErrors(t *testing.T) {
	var none Errors
	if none.Err() != nil {
		t.Error("empty Errors should give a nil error")
	}
	es := Errors{
		{File: "f.yaml", Line: 9, Col: 1, Path: "b", Msg: "second"},
		{File: "f.yaml", Line: 2, Col: 5, Msg: "no path"},
		{File: "f.yaml", Line: 2, Col: 3, Path: "a", Msg: "first"},
	}
	es.Sort()
	want := "f.yaml:2:3: a: first\nf.yaml:2:5: no path\nf.yaml:9:1: b: second"
	if got := es.Err().Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var one *Error
	if !errors.As(es.Err(), &one) || one.Path != "a" {
		t.Error("errors.As should find an *Error in Errors")
	}
}

func TestSuggest(t *testing.T) {
	valid := []string{"host", "port", "timeout", "unit_id"}
	for key, want := range map[string]string{
		"prot": "port", "hots": "host", "timeuot": "timeout", "unitid": "unit_id",
		"Port": "port", "po": "", "x": "", "address": "",
	} {
		if got := closest(key, valid); got != want {
			t.Errorf("closest(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestConcurrentDecode backs the promise that a Document is read-only after
// Parse: run with -race.
func TestConcurrentDecode(t *testing.T) {
	d := MustParse(t, "f.yaml", posDoc)
	done := make(chan Errors)
	for range 4 {
		go func() {
			var v any
			errs := d.Decode("", &v)
			d.Pos("devices[1].id")
			d.Has("tags.elderly")
			done <- errs
		}()
	}
	for range 4 {
		if errs := <-done; errs != nil {
			t.Error(errs)
		}
	}
}
