package mqtt

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestReadme keeps README.md in step with the code: it shows the sample
// verbatim and documents every key of the driver's section, of a profile's
// mqtt section, and every reason a message is counted bad. The sample
// itself is loaded through the real loader by the gateway's
// TestSamplesLoad.
func TestReadme(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	if !strings.Contains(text, string(Sample)) {
		t.Error("README.md does not contain sample.yaml verbatim")
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[Config](), reflect.TypeFor[Subscription](), reflect.TypeFor[Model](),
		reflect.TypeFor[PointMap](), reflect.TypeFor[FlagMap](), reflect.TypeFor[EventMap]()} {
		for f := range typ.Fields() {
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if key != "" && !strings.Contains(text, "`"+key+"`") {
				t.Errorf("README.md does not mention %s's key `%s`", typ.Name(), key)
			}
		}
	}
	for f := range reflect.TypeFor[Config]().Field(0).Type.Fields() { // the inlined broker section
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !strings.Contains(text, "`"+key+"`") {
			t.Errorf("README.md does not mention the broker key `%s`", key)
		}
	}
	for _, name := range append(append([]string{}, reasons...), FormatJSON, FormatKV, FormatNumber, TimeAuto, TimeSeconds, TimeMillis, TimeRFC3339) {
		if !strings.Contains(text, "`"+name+"`") {
			t.Errorf("README.md does not mention `%s`", name)
		}
	}
}
