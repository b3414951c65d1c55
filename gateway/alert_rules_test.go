package gateway

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// The alert rules in deploy/ name only metrics a running gateway with a
// sink exports, so a renamed metric cannot leave an alert that never
// fires.
func TestAlertRulesNameRealMetrics(t *testing.T) {
	src, err := os.ReadFile("../deploy/prometheus/shouwang-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert, Expr, For string
				Labels           map[string]string
				Annotations      map[string]string
			}
		}
	}
	if err := yaml.UnmarshalWithOptions(src, &file, yaml.Strict()); err != nil {
		t.Fatalf("the rule file does not read: %v", err)
	}
	vm := testenv.StartVictoriaMetrics(t)
	base, _, stop := runDemo(t, "sinks:\n  - {name: vm, type: influxdb, url: \""+vm.URL+"\", org: o, bucket: b, flush_interval: 100ms}\n")
	defer stop()
	testenv.CheckFor(t, 10*time.Second, "readiness", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })
	_, metrics := get(t, base+"/metrics")
	exported := map[string]bool{}
	for _, line := range strings.Split(metrics, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			exported[f[2]] = true
		}
	}
	name := regexp.MustCompile(`shouwang_[a-z0-9_]+`)
	n := 0
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("a rule without alert, expr, severity or summary: %+v", r)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
			}
			for _, m := range name.FindAllString(r.Expr, -1) {
				if !exported[m] {
					t.Errorf("%s: %s is not among the gateway's metrics", r.Alert, m)
				}
			}
		}
	}
	if n < 5 {
		t.Errorf("%d rules read, want the file's", n)
	}
	if !strings.Contains(metrics, `shouwang_devices{state="offline"}`) {
		t.Error("shouwang_devices has no offline state")
	}
}
