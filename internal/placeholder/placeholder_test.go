package placeholder

import (
	"strings"
	"testing"
)

func TestParseAndAppend(t *testing.T) {
	names := []string{"", "building", "device"} // index 0 allows nothing
	for s, want := range map[string]string{
		"{building}-{device}": "3-GD-1",
		"a/{device}/b":        "a/GD-1/b",
		"plain":               "plain",
		"{device}{device}x":   "GD-1GD-1x",
		"":                    "",
	} {
		tpl, err := Parse(s, names)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if got := string(tpl.Append(nil, []string{"zero", "3", "GD-1"})); got != want {
			t.Errorf("%q -> %q, want %q", s, got, want)
		}
	}
	for s, want := range map[string]string{
		"{device":    "a { without its }",
		"device}":    "a } without its {",
		"}{device}":  "a } without its {",
		"{room}":     "unknown placeholder {room} (valid: {building} {device})",
		"{}":         "unknown placeholder {}",
		"{device}}x": "a } without its {",
	} {
		if _, err := Parse(s, names); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one containing %q", s, err, want)
		}
	}
	if tpl, _ := Parse("fixed", names); tpl.HasPlaceholder() {
		t.Error("a literal has a placeholder")
	}
}
