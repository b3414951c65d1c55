package sim

import (
	"reflect"
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang/internal/readme"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// TestSampleIsValid decodes the embedded sample strictly (unknown keys fail)
// over DefaultConfig and validates it against the devices it names. The
// gateway's TestSamplesLoad loads it through the real loader; this checks
// what the demo needs of it.
func TestSampleIsValid(t *testing.T) {
	name, typ, cfg := decodeSample(t, Sample)
	if name != "sim" || typ != "sim" {
		t.Errorf("sample name %q type %q, want sim and sim", name, typ)
	}
	if len(cfg.Incidents) == 0 || cfg.Incidents[0].Kind != KindGasLeak {
		t.Errorf("sample incidents %+v, want a gas leak first", cfg.Incidents)
	}
	if err := cfg.Validate(testDevices(), nil); err != nil {
		t.Errorf("sample does not validate: %v", err)
	}
	if cfg.Load.Rate != 0 {
		t.Errorf("sample turns the load generator on (rate %d); the demo must not run it", cfg.Load.Rate)
	}
}

// TestSampleLoadExampleIsValid uncomments the sample's load section and
// checks that it decodes, turns the generator on and validates.
func TestSampleLoadExampleIsValid(t *testing.T) {
	var lines []string
	inLoad := false
	for _, line := range strings.Split(string(Sample), "\n") {
		switch {
		case line == "  # load:":
			inLoad = true
			line = "  load:"
		case inLoad && strings.HasPrefix(line, "  #   "):
			line = "    " + strings.TrimPrefix(line, "  #   ")
		default:
			inLoad = false
		}
		lines = append(lines, line)
	}
	_, _, cfg := decodeSample(t, []byte(strings.Join(lines, "\n")))
	want := Load{Rate: 10000, Devices: 100, Batch: 100}
	if cfg.Load != want {
		t.Errorf("uncommented load section %+v, want %+v", cfg.Load, want)
	}
	cfg.Incidents = nil // they name the demo's devices
	if err := cfg.Validate(nil, nil); err != nil {
		t.Errorf("uncommented load section does not validate without devices: %v", err)
	}
}

// TestReadme keeps README.md in step with the code: it shows the sample
// verbatim and documents every config key and incident kind.
func TestReadme(t *testing.T) {
	words := readme.Keys(reflect.TypeFor[Config](), reflect.TypeFor[Incident](), reflect.TypeFor[Load]())
	readme.Check(t, Sample, append(words, kinds...)...)
}

// decodeSample decodes a driver section written as a `drivers:` list item
// strictly (unknown keys fail) over DefaultConfig, with the YAML library
// the gateway's loader uses.
func decodeSample(tb testing.TB, data []byte) (name, typ string, cfg Config) {
	tb.Helper()
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		tb.Fatalf("sample: %v", err)
	}
	seq, ok := f.Docs[0].Body.(*ast.SequenceNode)
	if !ok || len(seq.Values) != 1 {
		tb.Fatalf("sample: want one `- name: ...` list item, got %s", f.Docs[0].Body.Type())
	}
	item := struct {
		Name   string `yaml:"name"`
		Type   string `yaml:"type"`
		Config `yaml:",inline"`
	}{Config: DefaultConfig()}
	if err := yaml.NodeToValue(seq.Values[0], &item, yaml.Strict()); err != nil {
		tb.Fatalf("sample: %v", err)
	}
	return item.Name, item.Type, item.Config
}
