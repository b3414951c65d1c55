package yamlconf

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// testConfig is a representative gateway config: nested structs, lists,
// maps, pointers, durations, a TextUnmarshaler, a Secret, Raw plugin
// sections and an inlined struct.
type testConfig struct {
	Gateway gatewayConf       `yaml:"gateway"`
	Devices []shouwang.Device `yaml:"devices"`
	Drivers []Raw             `yaml:"drivers"`
	Sinks   map[string]Raw    `yaml:"sinks"`
	Limits  limits            `yaml:"limits"`
	Extra   any               `yaml:"extra"`
	// Templates holds anchors for the rest of the file to alias.
	Templates map[string]any `yaml:"templates"`
	Ignored   string         `yaml:"-"`
}

type gatewayConf struct {
	Name     string          `yaml:"name"`
	Listen   netip.AddrPort  `yaml:"listen"`
	Interval time.Duration   `yaml:"interval"`
	Debug    bool            `yaml:"debug"`
	Token    shouwang.Secret `yaml:"token"`
	Level    *int            `yaml:"level"`
	Ratio    float64         `yaml:"ratio"`
	Labels   []string        `yaml:"labels"`
}

type common struct {
	Retries uint8   `yaml:"retries"`
	Timeout float32 `yaml:"timeout"`
}

type limits struct {
	common `yaml:",inline"`
	// Untagged fields take their lowercased name.
	MaxBatch int16
	Depth    int64
	Slots    uint
}

// defaultConfig is what the file's keys overwrite.
func defaultConfig() testConfig {
	return testConfig{
		Gateway: gatewayConf{Name: "gw", Interval: 30 * time.Second, Ratio: 0.5, Labels: []string{"a"}},
		Limits:  limits{common: common{Retries: 3, Timeout: 1.5}, MaxBatch: 100},
	}
}

// MustParse parses src as the file name, failing the test on a syntax error.
func MustParse(tb testing.TB, name, src string) *Document {
	tb.Helper()
	d, err := Parse(name, []byte(src))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return d
}

// MustWriteFile writes a file under dir and returns its path.
func MustWriteFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// lines is Errors one per line, for comparing with want.err files.
func lines(errs error) string {
	if errs == nil {
		return ""
	}
	return strings.TrimSpace(errs.Error())
}
