package mqtt

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang/gateway/internal/yamlconf"
	"github.com/shouwang-iot/shouwang/internal/mqttconn"
)

// sinkCommonKeys are the keys of a sink section that belong to the
// gateway, besides name and type (the gateway's own list is unexported).
var sinkCommonKeys = []string{"batch_size", "flush_interval", "min_backoff", "max_backoff", "quarantine"}

// TestSampleIsValid decodes the embedded sample with the gateway's own
// decoder (strict: unknown keys fail; ${env:...} resolved; the keys the
// gateway keeps for itself skipped, as its loader does) over
// DefaultConfig, and validates it. Once the sink is registered, the
// gateway's TestSamplesLoad also loads it through the whole loader.
func TestSampleIsValid(t *testing.T) {
	t.Setenv("UPLINK_PASSWORD", "sample-password")
	doc, err := yamlconf.Parse("sample.yaml", Sample)
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		Name string `yaml:"name"`
		Type string `yaml:"type"`
	}
	if errs := doc.Decode("[0]", &head, append(slices.Clone(sinkCommonKeys), configKeys()...)...); errs != nil {
		t.Fatal(errs)
	}
	if head.Name != "district" || head.Type != "mqtt" {
		t.Errorf("sample name %q type %q, want district and mqtt", head.Name, head.Type)
	}
	c := DefaultConfig()
	if errs := doc.Decode("[0]", &c, append([]string{"name", "type"}, sinkCommonKeys...)...); errs != nil {
		t.Fatal(errs)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("sample does not validate: %v", err)
	}
	// The sample shows the defaults as they are.
	d := DefaultConfig()
	if c.Topics != d.Topics || c.QoS != d.QoS || c.Timeout != d.Timeout || c.Retain != d.Retain || c.MaxInflight != d.MaxInflight {
		t.Errorf("sample %+v differs from the defaults %+v", c, d)
	}
	if c.Password.Reveal() != "sample-password" {
		t.Errorf("sample password %q, want it from the environment", c.Password.Reveal())
	}
}

// configKeys are the sink's own keys, which the head decode skips.
func configKeys() []string {
	var keys []string
	for _, typ := range []reflect.Type{reflect.TypeFor[Config](), reflect.TypeFor[mqttconn.Broker]()} {
		for f := range typ.Fields() {
			if tag := f.Tag.Get("yaml"); !strings.HasPrefix(tag, ",") {
				keys = append(keys, tag)
			}
		}
	}
	return keys
}

// TestReadme keeps README.md in step with the code: it shows the sample
// verbatim and documents every config key and placeholder.
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
	for _, typ := range []struct {
		prefix string
		typ    reflect.Type
	}{{"", reflect.TypeFor[Config]()}, {"", reflect.TypeFor[mqttconn.Broker]()}, {"topics.", reflect.TypeFor[Topics]()}} {
		for f := range typ.typ.Fields() {
			if tag := f.Tag.Get("yaml"); tag != "topics" && !strings.HasPrefix(tag, ",") {
				words = append(words, "`"+typ.prefix+tag+"`")
			}
		}
	}
	for _, f := range fieldNames[1:] {
		words = append(words, "`{"+f+"}`")
	}
	for _, k := range sinkCommonKeys {
		words = append(words, "`"+k+"`")
	}
	words = append(words, "`shouwang_uplink_messages_total{sink}`", "`shouwang_uplink_connected{sink}`", "`notify.mqtt`")
	for _, w := range words {
		if !strings.Contains(text, w) {
			t.Errorf("README.md does not mention %s", w)
		}
	}
}
