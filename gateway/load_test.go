package gateway

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang/gateway/internal/yamlconf"

	"github.com/shouwang-iot/shouwang/deploy"
)

func TestExampleConfigLoads(t *testing.T) {
	p, err := LoadBytes("deploy/shouwang.example.yaml", deploy.Example)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Devices) != 10 || len(p.Drivers) != 1 || len(p.Drivers[0].Devices) != 10 {
		t.Fatalf("devices %d, drivers %d", len(p.Devices), len(p.Drivers))
	}
	d := p.Devices[0]
	if d.Type != "gas" || d.Location.String() != "阳光花园/3号楼/2/12F/1202" || d.Location.Grid != "GX-03" {
		t.Fatalf("device 0: %+v", d)
	}
}

var update = flag.Bool("update", false, "rewrite testdata/config/*/want.err with what the loader reports")

// TestConfigCases loads each testdata/config/<case>/config.yaml and
// compares every reported problem with want.err, one per line (file:line:col).
func TestConfigCases(t *testing.T) {
	t.Setenv("SHOUWANG_TEST_TOKEN", "s3cret-token")
	dirs, _ := filepath.Glob("testdata/config/*")
	if len(dirs) == 0 {
		t.Fatal("no cases in testdata/config")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			want, _ := os.ReadFile(filepath.Join(dir, "want.err"))
			_, err := Load(filepath.Join(dir, "config.yaml"))
			var got string
			if es, ok := err.(yamlconf.Errors); ok {
				for _, e := range es {
					got += e.Error() + "\n"
				}
			} else if err != nil {
				got = err.Error() + "\n"
			}
			if *update {
				os.WriteFile(filepath.Join(dir, "want.err"), []byte(got), 0o644)
			} else if got != string(want) {
				t.Errorf("problems:\n%s\nwant:\n%s", got, want)
			}
			if strings.Contains(got, "s3cret-token") {
				t.Error("a secret's value appears in an error")
			}
		})
	}
}

// TestSamplesLoad proves every driver's shipped sample section is valid,
// through the real loader.
func TestSamplesLoad(t *testing.T) {
	example := string(deploy.Example)
	from, to := strings.Index(example, "\ndrivers:\n"), strings.Index(example, "\n# Sinks")
	if from < 0 || to < from {
		t.Fatal("cannot find the drivers section of the example config")
	}
	profiles, err := LoadProfiles("")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("MQTT_PASSWORD", "sample-password")
	for _, m := range DriverModules() {
		t.Run(m.ID, func(t *testing.T) {
			// The sample replaces the example's drivers; its devices are the
			// example's, moved onto the sample's driver, each with its own
			// address, and with a profile the driver reads (of the same
			// type where there is one).
			typ := strings.TrimPrefix(m.ID, "driver.")
			readable := ProfilesWith(profiles, typ)
			devices := regexp.MustCompile(`(?m)^    profile: (\S+)$`).ReplaceAllStringFunc(example[:from], func(line string) string {
				have := profiles[strings.TrimPrefix(line, "    profile: ")]
				if m.Model == nil || have.Drivers[typ] != nil {
					return line
				}
				i := slices.IndexFunc(readable, func(name string) bool { return profiles[name].Type == have.Type })
				return "    profile: " + readable[max(i, 0)]
			})
			sample := strings.TrimSpace(string(m.Sample))
			name := regexp.MustCompile(`(?m)^- name: (\S+)`).FindStringSubmatch(sample)
			if name == nil {
				t.Fatal("the sample has no `- name:` line")
			}
			if m.SampleDevices != nil {
				devices = devices[:strings.Index(devices, "\ndevices:\n")] + "\ndevices:\n  " +
					strings.ReplaceAll(strings.TrimSpace(string(m.SampleDevices)), "\n", "\n  ") + "\n"
			}
			k := 0
			devices = regexp.MustCompile(`(?m)^    driver: sim$`).ReplaceAllStringFunc(devices, func(string) string {
				k++
				return fmt.Sprintf("    driver: %s\n    address: \"%d\"", name[1], k)
			})
			indented := "  " + strings.ReplaceAll(sample, "\n", "\n  ")
			src := devices + "\ndrivers:\n" + indented + "\n" + example[to:]
			if _, err := LoadBytes(m.ID+"/sample.yaml", []byte(src)); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Setenv("INFLUX_TOKEN", "sample-token")
	t.Setenv("UPLINK_PASSWORD", "sample-password")
	for _, m := range SinkModules() {
		t.Run(m.ID, func(t *testing.T) {
			indented := "  " + strings.ReplaceAll(strings.TrimSpace(string(m.Sample)), "\n", "\n  ")
			src := strings.Replace(example, "sinks: []\n", "sinks:\n"+indented+"\n", 1)
			p, err := LoadBytes(m.ID+"/sample.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Sinks) != 1 {
				t.Fatalf("%d sinks loaded from the sample", len(p.Sinks))
			}
		})
	}
}

func TestSecretsResolveAndNeverPrint(t *testing.T) {
	t.Setenv("SHOUWANG_TEST_TOKEN", "env-s3cret")
	p, err := Load("testdata/config/secrets/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type revealer interface{ Reveal() string }
	for i, want := range []string{"file-s3cret", "env-s3cret"} {
		got := fmt.Sprintf("%+v", p.Sinks[i].Config)
		if strings.Contains(got, want) {
			t.Errorf("sink %d config prints its token: %s", i, got)
		}
		tok := reflect.ValueOf(p.Sinks[i].Config).Elem().FieldByName("Token").Interface().(revealer).Reveal()
		if tok != want {
			t.Errorf("sink %d token = %q, want %q", i, tok, want)
		}
	}
}

// TestRelativePathsFollowTheConfigFile: paths in the file are taken from
// the file's folder, whatever the working directory.
func TestRelativePathsFollowTheConfigFile(t *testing.T) {
	t.Setenv("SHOUWANG_TEST_TOKEN", "x")
	p, err := Load("testdata/config/secrets/config.yaml", func(c *Config) {
		c.Outbox.Dir = "ob"
		c.Store.Path = "h.db"
	})
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	base := filepath.Join(wd, "testdata/config/secrets")
	c := p.Config
	for got, want := range map[string]string{
		c.Gateway.DataDir:             filepath.Join(base, "data"),
		c.Outbox.Dir:                  filepath.Join(base, "ob"),
		c.Store.Path:                  filepath.Join(base, "h.db"),
		p.Sinks[0].Forward.Quarantine: filepath.Join(base, "data", "quarantine-influx.jsonl"),
	} {
		if got != want {
			t.Errorf("%s, want %s", got, want)
		}
	}
}

// TestProfileRulesAdopted: with gateway.profile_rules the placed devices'
// profiles' suggested rules join the config's, each selecting its model,
// and a config rule with the same id replaces the profile's.
func TestProfileRulesAdopted(t *testing.T) {
	src := strings.Replace(string(deploy.Example), "gateway:\n", "gateway:\n  profile_rules: true\n", 1)
	src = strings.Replace(src, "  - id: smoke\n", "  - id: smoke-detector-alarm\n", 1)
	p, err := LoadBytes("example-with-profile-rules.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range p.Config.Rules {
		if _, dup := got[r.ID]; dup {
			t.Errorf("rule %s is in the plan twice", r.ID)
		}
		got[r.ID] = strings.Join(r.Select.Profiles, ",")
	}
	want := map[string]string{"gas-lel-levels": "gas-detector-lel-generic", "co-exposure-en50291": "co-detector-generic",
		"smoke-detector-fault": "smoke-detector-generic", "smoke-detector-alarm": ""}
	for id, profiles := range want {
		if g, ok := got[id]; !ok || g != profiles {
			t.Errorf("rule %s: selects profiles %q (present %v), want %q", id, g, ok, profiles)
		}
	}
	if _, ok := got["fire-panel-fire"]; ok {
		t.Error("a profile no device uses brought its rules")
	}
}
