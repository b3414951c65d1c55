// Package readme keeps a plugin's README.md in step with its code: a test
// calls Check with the sample section and the words the README must show.
package readme

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// Check fails tb unless README.md in the test's directory holds sample
// verbatim and mentions each word in backquotes (`word`).
func Check(tb testing.TB, sample []byte, words ...string) {
	tb.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		tb.Fatal(err)
	}
	text := string(data)
	if !strings.Contains(text, string(sample)) {
		tb.Error("README.md does not contain sample.yaml verbatim")
	}
	for _, w := range words {
		if !strings.Contains(text, "`"+w+"`") {
			tb.Errorf("README.md does not mention `%s`", w)
		}
	}
}

// Keys lists the YAML keys of types' fields, following ",inline" structs
// into their own keys.
func Keys(types ...reflect.Type) []string {
	var keys []string
	for _, typ := range types {
		for f := range typ.Fields() {
			key, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			switch {
			case strings.Contains(opts, "inline"):
				keys = append(keys, Keys(f.Type)...)
			case key != "" && key != "-":
				keys = append(keys, key)
			}
		}
	}
	return keys
}
