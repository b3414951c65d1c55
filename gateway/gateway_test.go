package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang/deploy"
	"github.com/shouwang-iot/shouwang/gateway/auth"
	"github.com/shouwang-iot/shouwang/gateway/store"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// runDemo runs the example config in-process with its data in a temp dir
// and returns the HTTP base URL and a stop function that waits for Run.
func runDemo(tb testing.TB, sinks string) (base string, g *Gateway, stop func() error) {
	tb.Helper()
	src := deploy.Example
	if sinks != "" {
		src = []byte(strings.Replace(string(src), "sinks: []\n", sinks, 1))
	}
	return runConfig(tb, src, tb.TempDir())
}

// runConfig runs a config in-process with its data in dir, changed by
// the overrides after the test's own.
func runConfig(tb testing.TB, src []byte, dir string, overrides ...func(*Config)) (base string, g *Gateway, stop func() error) {
	tb.Helper()
	plan, err := LoadBytes("deploy/shouwang.example.yaml", src, append([]func(*Config){func(c *Config) {
		c.Gateway.DataDir = dir
		c.Gateway.HTTP.Listen = "127.0.0.1:0"
		c.Broker.Listen = "127.0.0.1:0"
		c.Gateway.ShutdownTimeout = 5 * time.Second
	}}, overrides...)...)
	if err != nil {
		tb.Fatal(err)
	}
	addUser(tb, dir, testUser, auth.Role("operator"))
	addr := make(chan net.Addr, 1)
	g = New(plan, Options{Listening: func(a net.Addr) { addr <- a }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	select {
	case a := <-addr:
		base = "http://" + a.String()
		if plan.Config.Gateway.HTTP.TLSCert != "" {
			base = "https://" + a.String()
		}
	case err := <-done:
		tb.Fatalf("gateway stopped at start: %v", err)
	}
	return base, g, func() error { cancel(); return <-done }
}

// The console user the tests act as; an operator, so that the alarm
// steps they take are recorded under this name.
const (
	testUser     = "王警官"
	testPassword = "duty-room-2026"
)

// addUser adds a console user with testPassword to the data directory,
// as `shouwang user add` does; one already there is kept.
func addUser(tb testing.TB, dir, name string, role auth.Role) {
	tb.Helper()
	a, err := auth.Open(context.Background(), auth.DefaultFile(dir), auth.DefaultConfig(), time.Now, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer a.Close()
	if err := a.AddUser(context.Background(), name, role, testPassword); err != nil && !errors.Is(err, auth.ErrUserExists) {
		tb.Fatal(err)
	}
}

// get fetches url as testUser.
func get(tb testing.TB, url string) (int, string) {
	tb.Helper()
	return do(tb, "GET", url, "")
}

// do sends a request as testUser, with a JSON body unless it is empty.
func do(tb testing.TB, method, url, body string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(testUser, testPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(got)
}

// TestDemoRunsAndStopsClean runs the demo config, sees readings reach the
// history and the metrics move, then stops it and checks no goroutine is
// left behind.
func TestDemoRunsAndStopsClean(t *testing.T) {
	leakcheck.Check(t)
	base, g, stop := runDemo(t, "")
	testenv.CheckFor(t, 10*time.Second, "readiness", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })
	testenv.CheckFor(t, 10*time.Second, "readings in the history", func() bool {
		rs, err := g.store.Readings(context.Background(), store.Query{Devices: []string{"1202-kitchen-gas"}, Points: []string{"gas"}})
		return err == nil && len(rs) >= 2
	})
	code, body := get(t, base+"/api/v1/readings?device=1202-kitchen-gas&point=gas")
	if code != 200 || !strings.Contains(body, `"unit":"%LEL"`) {
		t.Fatalf("history: %d %s", code, body)
	}
	_, metrics := get(t, base+"/metrics")
	for _, m := range []string{"shouwang_bus_depth", "shouwang_bus_items_total", "shouwang_build_info", "go_goroutines"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestDemoWithStore runs the demo with an InfluxDB sink to a real
// VictoriaMetrics: located readings arrive, the outbox metrics are there,
// and it stops clean.
func TestDemoWithStore(t *testing.T) {
	vm := testenv.StartVictoriaMetrics(t)
	leakcheck.Check(t)
	base, _, stop := runDemo(t, "sinks:\n  - {name: vm, type: influxdb, url: \""+vm.URL+"\", org: o, bucket: b, flush_interval: 100ms}\n")
	samples := vm.WaitSamples(t, `{__name__="gas_value",device="1202-kitchen-gas"}`, 2, 20*time.Second)
	s := samples[0]
	if s.Metric["building"] != "3号楼" || s.Metric["room"] != "1202" || s.Metric["community"] != "阳光花园" {
		t.Fatalf("reading lacks its location: %v", s.Metric)
	}
	_, metrics := get(t, base+"/metrics")
	for _, m := range []string{"shouwang_outbox_bytes", "shouwang_outbox_records", "shouwang_outbox_oldest_age_seconds", "shouwang_sink_batch_seconds_bucket", "shouwang_sink_errors_total"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
