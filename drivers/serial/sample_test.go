package serial

import (
	"reflect"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/serial/frames"
	"github.com/shouwang-iot/shouwang/drivers/serial/gbt26875"
	"github.com/shouwang-iot/shouwang/drivers/serial/textline"
	"github.com/shouwang-iot/shouwang/internal/readme"
	"github.com/shouwang-iot/shouwang/internal/serialline"
)

// sampleSections decodes sample.yaml's sections over DefaultConfig, as the
// gateway does (strictly), without their name and type.
func sampleSections(t *testing.T) []Config {
	t.Helper()
	var raw []map[string]any
	if err := yaml.Unmarshal(Sample, &raw); err != nil {
		t.Fatal(err)
	}
	var out []Config
	for _, m := range raw {
		delete(m, "name")
		delete(m, "type")
		b, err := yaml.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		c := DefaultConfig()
		if err := yaml.UnmarshalWithOptions(b, &c, yaml.Strict()); err != nil {
			t.Fatalf("sample section %v: %v", m, err)
		}
		out = append(out, c)
	}
	return out
}

// sampleFor is the sample's section of protocol.
func sampleFor(t *testing.T, protocol string) Config {
	t.Helper()
	for _, c := range sampleSections(t) {
		if c.Protocol == protocol {
			return c
		}
	}
	t.Fatalf("the sample has no %s section", protocol)
	return Config{}
}

// TestReadme keeps README.md in step with the code: the sample verbatim,
// every key of the driver's section and its protocols', every error kind.
func TestReadme(t *testing.T) {
	words := readme.Keys(reflect.TypeFor[Config](), reflect.TypeFor[RS485](), reflect.TypeFor[serialline.Line](),
		reflect.TypeFor[gbt26875.Config](), reflect.TypeFor[textline.Config](), reflect.TypeFor[textline.Pattern](),
		reflect.TypeFor[textline.Kind](), reflect.TypeFor[frames.Config](), reflect.TypeFor[frames.LengthField](),
		reflect.TypeFor[frames.Check](), reflect.TypeFor[frames.Field](), reflect.TypeFor[frames.Point](), reflect.TypeFor[frames.Flag]())
	words = append(words, protocols...)
	words = append(words, gbt26875.ErrorKinds...)
	words = append(words, textline.ErrorKinds...)
	words = append(words, frames.ErrorKinds...)
	words = append(words, ErrUnknownDevice, gbt26875.AddressLoopPoint, gbt26875.AddressNumber)
	for _, k := range gbt26875.EventKinds() {
		if !shouwang.IsClearKind(k) {
			words = append(words, k) // the README's table of what each type raises
		}
	}
	readme.Check(t, Sample, words...)
}

// TestSampleValid: every section of the sample validates.
func TestSampleValid(t *testing.T) {
	for i, c := range sampleSections(t) {
		if err := c.Validate(nil, nil); err != nil {
			t.Errorf("sample section %d: %v", i, err)
		}
	}
}
