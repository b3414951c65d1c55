package modbus

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestReadme keeps README.md in step with the code: it shows the sample
// verbatim and documents every key of the driver's section and of a
// profile's modbus section. The sample itself is loaded through the real
// loader by the gateway's TestSamplesLoad.
func TestReadme(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	if !strings.Contains(text, string(Sample)) {
		t.Error("README.md does not contain sample.yaml verbatim")
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[Config](), reflect.TypeFor[Line](), reflect.TypeFor[Model](),
		reflect.TypeFor[Register](), reflect.TypeFor[StatusMap](), reflect.TypeFor[BitEvent](), reflect.TypeFor[ValueEvent](),
		reflect.TypeFor[Setting](), reflect.TypeFor[Identify]()} {
		for f := range typ.Fields() {
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if key != "" && !strings.Contains(text, "`"+key+"`") {
				t.Errorf("README.md does not mention %s's key `%s`", typ.Name(), key)
			}
		}
	}
	for _, name := range append(append([]string{}, typeNames[1:]...), orderNames[:]...) {
		if !strings.Contains(text, "`"+name+"`") {
			t.Errorf("README.md does not mention `%s`", name)
		}
	}
}
