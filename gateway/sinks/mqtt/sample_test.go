package mqtt

import (
	"reflect"
	"slices"
	"testing"

	"github.com/shouwang-iot/shouwang/internal/readme"

	"github.com/shouwang-iot/shouwang/gateway/internal/yamlconf"
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
	if errs := doc.Decode("[0]", &head, append(slices.Clone(sinkCommonKeys), readme.Keys(reflect.TypeFor[Config]())...)...); errs != nil {
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

// TestReadme keeps README.md in step with the code: it shows the sample
// verbatim and documents every config key and placeholder.
func TestReadme(t *testing.T) {
	words := slices.DeleteFunc(readme.Keys(reflect.TypeFor[Config]()), func(k string) bool { return k == "topics" })
	for _, k := range readme.Keys(reflect.TypeFor[Topics]()) {
		words = append(words, "topics."+k)
	}
	for _, f := range fieldNames[1:] {
		words = append(words, "{"+f+"}")
	}
	words = append(append(words, sinkCommonKeys...), "shouwang_uplink_messages_total{sink}", "shouwang_uplink_connected{sink}", "notify.mqtt")
	readme.Check(t, Sample, words...)
}
