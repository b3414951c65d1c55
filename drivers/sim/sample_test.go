package sim

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSampleIsValid decodes the embedded sample strictly (unknown keys fail)
// over DefaultConfig and validates it against the devices it names. It is a
// stand-in, with the standard library only, for the gateway's test that
// loads every drivers/*/sample.yaml through the real loader.
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
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	if !strings.Contains(text, string(Sample)) {
		t.Error("README.md does not contain sample.yaml verbatim")
	}
	var words []string
	for _, typ := range []reflect.Type{reflect.TypeFor[Config](), reflect.TypeFor[Incident](), reflect.TypeFor[Load]()} {
		for f := range typ.Fields() {
			words = append(words, "`"+f.Tag.Get("yaml")+"`")
		}
	}
	for _, k := range kinds {
		words = append(words, "`"+k+"`")
	}
	for _, w := range words {
		if !strings.Contains(text, w) {
			t.Errorf("README.md does not mention %s", w)
		}
	}
}

// decodeSample decodes a driver section written as a `drivers:` list item,
// in the subset of YAML the sample uses: comments, `key: value` and lists of
// maps, nested by two-space indents.
func decodeSample(tb testing.TB, data []byte) (name, typ string, cfg Config) {
	tb.Helper()
	cfg = DefaultConfig()
	inIncidents, inLoad := false, false
	for i, line := range strings.Split(string(data), "\n") {
		if j := strings.Index(line, "#"); j >= 0 {
			line = line[:j]
		}
		text := strings.TrimSpace(line)
		if text == "" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		item := strings.HasPrefix(text, "- ")
		text = strings.TrimPrefix(text, "- ")
		key, val, ok := strings.Cut(text, ":")
		if !ok {
			tb.Fatalf("sample line %d: %q is not `key: value`", i+1, line)
		}
		val = strings.TrimSpace(val)
		at := func(v any) { setYAMLField(tb, i+1, reflect.ValueOf(v).Elem(), key, val) }
		switch {
		case indent == 0 && item && key == "name":
			name = val
		case indent == 2 && !item && key == "type":
			typ = val
		case indent == 2 && !item && key == "incidents" && val == "":
			inIncidents, inLoad = true, false
		case indent == 2 && !item && key == "load" && val == "":
			inIncidents, inLoad = false, true
		case indent == 2 && !item:
			inIncidents, inLoad = false, false
			at(&cfg)
		case indent == 4 && !item && inLoad:
			at(&cfg.Load)
		case indent == 4 && item && inIncidents:
			cfg.Incidents = append(cfg.Incidents, Incident{})
			at(&cfg.Incidents[len(cfg.Incidents)-1])
		case indent == 6 && !item && inIncidents && len(cfg.Incidents) > 0:
			at(&cfg.Incidents[len(cfg.Incidents)-1])
		default:
			tb.Fatalf("sample line %d: unexpected %q here", i+1, line)
		}
	}
	return name, typ, cfg
}

// setYAMLField sets the field of v whose yaml tag is key; unknown keys fail.
func setYAMLField(tb testing.TB, line int, v reflect.Value, key, val string) {
	tb.Helper()
	for i := range v.NumField() {
		if v.Type().Field(i).Tag.Get("yaml") != key {
			continue
		}
		f := v.Field(i)
		var err error
		switch {
		case f.Type() == reflect.TypeFor[time.Duration]():
			var d time.Duration
			d, err = time.ParseDuration(val)
			f.SetInt(int64(d))
		case f.Kind() == reflect.Int64, f.Kind() == reflect.Int:
			var n int64
			n, err = strconv.ParseInt(val, 10, 64)
			f.SetInt(n)
		case f.Kind() == reflect.Bool:
			var b bool
			b, err = strconv.ParseBool(val)
			f.SetBool(b)
		case f.Kind() == reflect.Float64:
			var x float64
			x, err = strconv.ParseFloat(val, 64)
			f.SetFloat(x)
		case f.Kind() == reflect.String:
			f.SetString(strings.Trim(val, `"'`))
		default:
			tb.Fatalf("sample line %d: cannot decode %s into %s", line, key, f.Type())
		}
		if err != nil {
			tb.Fatalf("sample line %d: %s: %v", line, key, err)
		}
		return
	}
	tb.Fatalf("sample line %d: unknown key %q in %s", line, key, v.Type())
}
