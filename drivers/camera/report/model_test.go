package report

import (
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/stamp"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		src    string
		fields []string // the fields named, in order; none for a valid model
	}{
		{"point and t", `{format: json, track: {path: track, point: {x: x, y: y}, t: t}}`, nil},
		{"box edges and frame", `{format: xml, track: {path: a.b, box: {left: l, top: t, right: r, bottom: b}, frame: f, fps: 25}}`, nil},
		{"box size and fps alone", `{format: json, track: {path: a, box: {x: x, y: y, width: w, height: h}, fps: 30}}`, nil},
		{"everything", `{format: json, match: [{field: type, values: [throw]}], camera: id, time: ts, time_unit: ms,
			track: {path: a, point: {x: p.0, y: p.1}, t: t, t_unit: rfc3339}, images: [img], urls: [u, v]}`, nil},
		{"format", `{format: yaml, track: {path: t, point: {x: x, y: y}, t: t}}`, []string{"format"}},
		{"no track", `{format: json}`, []string{"track.path", "track", "track.fps"}},
		{"point and box", `{format: json, track: {path: t, point: {x: x, y: y}, box: {left: l, top: t, right: r, bottom: b}, t: t}}`, []string{"track"}},
		{"half a point", `{format: json, track: {path: t, point: {x: x}, t: t}}`, []string{"track.point.y"}},
		{"mixed box", `{format: json, track: {path: t, box: {left: l, top: t, width: w, height: h}, t: t}}`, []string{"track.box"}},
		{"half a box", `{format: json, track: {path: t, box: {x: x, y: y, width: w}, t: t}}`, []string{"track.box.height"}},
		{"t and frame", `{format: json, track: {path: t, point: {x: x, y: y}, t: t, frame: f, fps: 25}}`, []string{"track.frame"}},
		{"t and fps", `{format: json, track: {path: t, point: {x: x, y: y}, t: t, fps: 25}}`, []string{"track.fps"}},
		{"frame without fps", `{format: json, track: {path: t, point: {x: x, y: y}, frame: f}}`, []string{"track.fps"}},
		{"fps out of range", `{format: json, track: {path: t, point: {x: x, y: y}, fps: 25000}}`, []string{"track.fps"}},
		{"t_unit", `{format: json, track: {path: t, point: {x: x, y: y}, t: t, t_unit: min}}`, []string{"track.t_unit"}},
		{"t_unit without t", `{format: json, track: {path: t, point: {x: x, y: y}, fps: 25, t_unit: ms}}`, []string{"track.t_unit"}},
		{"time_unit", `{format: json, time: ts, time_unit: us, track: {path: t, point: {x: x, y: y}, t: t}}`, []string{"time_unit"}},
		{"queries are not paths", `{format: json, camera: "a|b", time: "#.t", track: {path: "t.#", point: {x: "@this", y: "y..z"}, t: ".t"},
			images: ["i*"], urls: ["u?"]}`, []string{"camera", "time", "track.path", "track.point.x", "track.point.y", "track.t", "images[0]", "urls[0]"}},
		{"match", `{format: json, match: [{field: "", values: [a]}, {field: type}], track: {path: t, point: {x: x, y: y}, t: t}}`,
			[]string{"match[0].field", "match[1].values"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Model
			if err := yaml.UnmarshalWithOptions([]byte(tc.src), &m, yaml.DisallowUnknownField()); err != nil {
				t.Fatal(err)
			}
			err := m.Validate()
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			fe, ok := err.(shouwang.FieldErrors)
			if !ok {
				t.Fatalf("want FieldErrors, got %T %v", err, err)
			}
			if got := fe.Fields(); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %q, want %q (%v)", got, tc.fields, err)
			}
			for _, e := range fe {
				// Every problem says what would be valid.
				if !strings.ContainsAny(e.Problem, "(") {
					t.Errorf("%s: %q does not say what is valid", e.Field, e.Problem)
				}
			}
		})
	}
}

func TestValidateDefaults(t *testing.T) {
	m := MustModel(t, `{format: json, time: ts, track: {path: t, point: {x: x, y: y}, t: t}}`)
	if m.TimeUnit != stamp.Auto || m.Track.TUnit != TSeconds {
		t.Fatalf("time_unit %q, t_unit %q; want %q, %q", m.TimeUnit, m.Track.TUnit, stamp.Auto, TSeconds)
	}
}
