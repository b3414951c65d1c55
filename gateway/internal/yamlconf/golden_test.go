package yamlconf

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*/want.err from the decoder's output")

// modbusConfig stands for a driver's own Config, chosen by the section's
// "type" key at run time.
type modbusConfig struct {
	Host    string        `yaml:"host"`
	Port    uint16        `yaml:"port"`
	Timeout time.Duration `yaml:"timeout"`
}

type influxConfig struct {
	URL   string `yaml:"url"`
	Token string `yaml:"token"`
}

// loadGolden decodes a config the way the gateway's loader would: the file,
// then each plugin section into the Config its type names, and returns
// every problem.
func loadGolden(path string) (testConfig, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return testConfig{}, err
	}
	d, err := Parse(path, src)
	if err != nil {
		return testConfig{}, err
	}
	cfg := defaultConfig()
	errs := d.Decode("", &cfg)
	for _, r := range cfg.Drivers {
		mb := modbusConfig{Port: 502, Timeout: time.Second}
		errs = append(errs, r.Decode(&mb, "name", "type")...)
	}
	for _, r := range cfg.Sinks {
		var in influxConfig
		errs = append(errs, r.Decode(&in, "type")...)
	}
	errs.Sort()
	return cfg, errs.Err()
}

// TestGolden decodes testdata/<case>/config.yaml and compares every problem
// with testdata/<case>/want.err (absent: no problems).
func TestGolden(t *testing.T) {
	t.Setenv("YC_GOLDEN_TOKEN", "golden-secret")
	dirs, err := filepath.Glob("testdata/*/config.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, cfgPath := range dirs {
		dir := filepath.Dir(cfgPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			_, err := loadGolden(cfgPath)
			got := lines(err)
			wantPath := filepath.Join(dir, "want.err")
			if *update {
				if got == "" {
					os.Remove(wantPath)
					return
				}
				if err := os.WriteFile(wantPath, []byte(got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, _ := os.ReadFile(wantPath)
			if got != strings.TrimSpace(string(want)) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestGoldenValidValues(t *testing.T) {
	t.Setenv("YC_GOLDEN_TOKEN", "golden-secret")
	cfg, err := loadGolden("testdata/valid/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dev := cfg.Devices[0]
	if dev.Location.Building != "3号楼" || dev.Location.Floor != 12 || dev.Location.Unit != "2单元" || dev.Tags["alone"] != "yes" {
		t.Errorf("device: %+v", dev)
	}
	if cfg.Devices[1].Location.Grid != "网格-07" || cfg.Devices[1].Location.Room != "1203" {
		t.Errorf("merged location: %+v", cfg.Devices[1].Location)
	}
	if cfg.Gateway.Token.Reveal() != "golden-secret" || cfg.Gateway.Interval != 15*time.Second || cfg.Gateway.Ratio != 0.5 {
		t.Errorf("gateway: %+v", cfg.Gateway)
	}
	var in influxConfig
	if errs := cfg.Sinks["influx"].Decode(&in, "type"); errs != nil || in.Token != "secret-token" {
		t.Errorf("sink: %+v %v", in, errs)
	}
	if cfg.Extra.(map[string]any)["note"] != "${not expanded}" {
		t.Errorf("extra: %#v", cfg.Extra)
	}
}
