package gateway

import (
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang/deploy"
	"github.com/shouwang-iot/shouwang/gateway/internal/yamlconf"
)

// FuzzLoad feeds the whole loader arbitrary files: it must never panic,
// and every problem it reports must point at a line.
func FuzzLoad(f *testing.F) {
	f.Add(deploy.Example)
	f.Add([]byte("sites: [{id: s, buildings: [{id: '1', floors: 2}]}]\ndevices: [{id: d, type: gas, driver: sim, location: {building: '1', floor: 3}}]\ndrivers: [{name: sim, type: sim, interval: 0s}]\n"))
	f.Add([]byte("sinks: [{name: x, type: influxdb, url: 'http://[::1', batch_size: -1}]\n"))
	f.Add([]byte("drivers: [{type: sim}, {name: sim}]\ndevices: [{}]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		plan, err := LoadBytes("fuzz.yaml", src)
		if err == nil {
			if plan == nil {
				t.Fatal("no plan and no error")
			}
			return
		}
		es, ok := err.(yamlconf.Errors)
		if !ok {
			t.Fatalf("error of type %T: %v", err, err)
		}
		for _, e := range es {
			if e.Line < 1 || e.Col < 1 || !strings.HasPrefix(e.Error(), "fuzz.yaml:") {
				t.Fatalf("problem without a position: %q", e.Error())
			}
		}
	})
}
