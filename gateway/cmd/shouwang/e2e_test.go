package main

// Whole-process tests: the real binary, started as a child process, against
// a real VictoriaMetrics. They prove what "loses nothing" means: kill -9 in
// mid-stream, and the store down for a minute.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// binary is the shouwang binary the tests run, built once in TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shouwang-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "shouwang")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(gobin, "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building shouwang:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// loadConfig is a gateway whose simulator generates numbered readings
// ("seq", value = sequence number) into an InfluxDB sink at vmURL.
func loadConfig(dataDir, vmURL string, rate, limit int) string {
	load := ""
	if rate > 0 {
		load = fmt.Sprintf("    load: {rate: %d, devices: 50, batch: 100, log_acks: true, limit: %d}\n", rate, limit)
	}
	return fmt.Sprintf(`gateway:
  name: e2e
  data_dir: %s
  http: {listen: "127.0.0.1:0"}
  log: {level: info, format: json}
  shutdown_timeout: 30s
sites:
  - id: s
    buildings: [{id: "1", floors: 6}]
drivers:
  - name: load
    type: sim
%s`, dataDir, load) + vmSink(vmURL)
}

// vmSink is the sinks section of the e2e configs: VictoriaMetrics at url,
// flushed and retried fast, its token from the environment.
func vmSink(url string) string {
	return fmt.Sprintf(`sinks:
  - name: vm
    type: influxdb
    url: %s
    token: ${env:SHOUWANG_E2E_TOKEN}
    org: o
    bucket: b
    batch_size: 5000
    flush_interval: 100ms
    min_backoff: 100ms
    max_backoff: 1s
`, url)
}

// gatewayProc is a running shouwang child process.
type gatewayProc struct {
	cmd   *exec.Cmd
	done  chan struct{}
	err   error
	mu    sync.Mutex
	acked int64  // highest sequence number acknowledged, from its log
	addr  string // HTTP address, from its log
	tail  []string
	addrC chan struct{}
	// leaked is a log line that printed the sink's token, if any.
	leaked string
}

// e2eToken is the sink's token; it must never appear in a log line.
const e2eToken = "e2e-s3cret-token"

func startGateway(tb testing.TB, cfgFile string) *gatewayProc {
	tb.Helper()
	p := &gatewayProc{cmd: exec.Command(binary, "run", "-c", cfgFile), done: make(chan struct{}), addrC: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "SHOUWANG_E2E_TOKEN="+e2eToken)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go p.readLog(stderr)
	tb.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if p.leaked != "" {
			tb.Errorf("the gateway logged its sink token: %s", p.leaked)
		}
		if tb.Failed() {
			tb.Logf("last log lines of the gateway:\n%s", strings.Join(p.lastLines(), "\n"))
		}
	})
	select {
	case <-p.addrC:
	case <-p.done:
		tb.Fatalf("gateway exited at start: %v\n%s", p.err, strings.Join(p.lastLines(), "\n"))
	case <-time.After(30 * time.Second):
		tb.Fatal("gateway did not start serving HTTP")
	}
	return p
}

func (p *gatewayProc) readLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct {
			Msg  string
			Last int64
			Addr string
		}
		line := sc.Text()
		json.Unmarshal([]byte(line), &rec)
		p.mu.Lock()
		if strings.Contains(line, e2eToken) {
			p.leaked = line
		}
		switch rec.Msg {
		case "acknowledged":
			p.acked = max(p.acked, rec.Last)
		case "serving HTTP":
			p.addr = rec.Addr
			close(p.addrC)
		}
		if rec.Msg != "acknowledged" {
			p.tail = append(p.tail, line)
			if len(p.tail) > 50 {
				p.tail = p.tail[1:]
			}
		}
		p.mu.Unlock()
	}
	p.err = p.cmd.Wait()
	close(p.done)
}

func (p *gatewayProc) lastLines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.tail...)
}

func (p *gatewayProc) ackedSeq() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acked
}

// waitAcked polls the gateway's log until n readings are acknowledged.
func (p *gatewayProc) waitAcked(tb testing.TB, n int64, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for p.ackedSeq() < n {
		select {
		case <-p.done:
			tb.Fatalf("gateway exited: %v", p.err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("only %d readings acknowledged after %s, want %d", p.ackedSeq(), timeout, n)
		}
	}
}

// metric reads one unlabelled or summed metric from the gateway's /metrics.
func (p *gatewayProc) metric(tb testing.TB, name string) float64 {
	tb.Helper()
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// stop sends SIGTERM and waits for a clean exit.
func (p *gatewayProc) stop(tb testing.TB) {
	tb.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(40 * time.Second):
		tb.Fatal("gateway did not stop within 40 s of SIGTERM")
	}
	if p.err != nil {
		tb.Fatalf("gateway exited with %v", p.err)
	}
}

func writeConfig(tb testing.TB, dir, body string) string {
	tb.Helper()
	f := filepath.Join(dir, "shouwang.yaml")
	if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
		tb.Fatal(err)
	}
	return f
}

// checkAllSeq reads every "seq" point back from the store and checks that
// each number 1..n is there exactly once.
func checkAllSeq(tb testing.TB, vm *testenv.VictoriaMetrics, n int64, timeout time.Duration) {
	tb.Helper()
	samples := vm.WaitSamples(tb, `{__name__="seq_value"}`, int(n), timeout)
	seen := make([]int, n+1)
	for _, s := range samples {
		if v := int64(s.Value); v >= 1 && v <= n {
			seen[v]++
		}
	}
	var missing, dup []int64
	for i := int64(1); i <= n; i++ {
		switch {
		case seen[i] == 0:
			missing = append(missing, i)
		case seen[i] > 1:
			dup = append(dup, i)
		}
	}
	if len(missing) > 0 || len(dup) > 0 {
		tb.Fatalf("of %d acknowledged readings, %d are missing from the store (first %v) and %d are there more than once (first %v)",
			n, len(missing), head(missing), len(dup), head(dup))
	}
}

func head(s []int64) []int64 { return s[:min(len(s), 10)] }

// TestKill9LosesNothing kills the gateway with SIGKILL while it is taking
// 20,000 readings a second, restarts it, and checks that every reading it
// had acknowledged reaches the store.
func TestKill9LosesNothing(t *testing.T) {
	vm := testenv.StartVictoriaMetrics(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, loadConfig(filepath.Join(dir, "data"), vm.URL, 20000, 0))
	p := startGateway(t, cfg)
	p.waitAcked(t, 50_000, time.Minute)
	p.cmd.Process.Kill()
	<-p.done
	acked := p.ackedSeq()
	inStore := len(vm.Export(t, `{__name__="seq_value"}`))
	t.Logf("killed with %d readings acknowledged, %d in the store", acked, inStore)

	// Restart with the generator off: only the outbox's replay remains.
	writeConfig(t, dir, loadConfig(filepath.Join(dir, "data"), vm.URL, 0, 0))
	p2 := startGateway(t, cfg)
	checkAllSeq(t, vm, acked, time.Minute)
	p2.stop(t)
}

// TestStoreOutageLosesNothing stops the store for a minute in mid-stream
// (SHOUWANG_OUTAGE overrides the minute) and checks every point arrives
// exactly once after it returns.
func TestStoreOutageLosesNothing(t *testing.T) {
	outage := time.Minute
	if s := os.Getenv("SHOUWANG_OUTAGE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("SHOUWANG_OUTAGE: %v", err)
		}
		outage = d
	}
	const rate = 2000
	limit := int64(rate * (outage + 10*time.Second) / time.Second)
	vm := testenv.StartVictoriaMetrics(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, loadConfig(filepath.Join(dir, "data"), vm.URL, rate, int(limit)))
	p := startGateway(t, cfg)
	p.waitAcked(t, rate*3, time.Minute)
	vm.Stop(t)
	before := p.ackedSeq()
	ctx, cancel := context.WithTimeout(context.Background(), outage)
	<-ctx.Done() // the outage itself: a minute of the store being away
	cancel()
	during := p.ackedSeq() - before
	failures := p.metric(t, "shouwang_sink_errors_total")
	age := p.metric(t, "shouwang_outbox_oldest_age_seconds")
	vm.Restart(t)
	t.Logf("store down for %s: %d readings acknowledged meanwhile, %v failed writes, oldest unsent %.0f s old",
		outage, during, failures, age)
	if during < rate*int64(outage/time.Second)/2 || failures == 0 {
		t.Fatalf("the outage did not bite: %d readings during it, %v failed writes", during, failures)
	}
	p.waitAcked(t, limit, 2*outage)
	checkAllSeq(t, vm, limit, time.Minute)
	sent := p.metric(t, "shouwang_sink_sent_total")
	t.Logf("the sink sent %v readings for %d generated (resent after failed writes: %v)", sent, limit, sent-float64(limit))
	p.stop(t)
}

// TestSigtermDrainsAndFlushes: SIGTERM right after the last reading was
// acknowledged; the gateway drains the bus and the outbox into the store
// before it exits, with no restart needed.
func TestSigtermDrainsAndFlushes(t *testing.T) {
	vm := testenv.StartVictoriaMetrics(t)
	dir := t.TempDir()
	const n = 40_000
	cfg := writeConfig(t, dir, loadConfig(filepath.Join(dir, "data"), vm.URL, 20000, n))
	p := startGateway(t, cfg)
	p.waitAcked(t, n, time.Minute)
	p.stop(t)
	checkAllSeq(t, vm, n, 10*time.Second)
}

// TestSigtermWithStoreDownIsBounded: with the store down, SIGTERM still
// ends the gateway within its shutdown timeout, and the readings it could
// not deliver go out from the outbox at the next start.
func TestSigtermWithStoreDownIsBounded(t *testing.T) {
	vm := testenv.StartVictoriaMetrics(t)
	dir := t.TempDir()
	const n = 20_000
	body := strings.Replace(loadConfig(filepath.Join(dir, "data"), vm.URL, 20000, n), "shutdown_timeout: 30s", "shutdown_timeout: 2s", 1)
	cfg := writeConfig(t, dir, body)
	p := startGateway(t, cfg)
	vm.Stop(t)
	p.waitAcked(t, n, time.Minute)
	start := time.Now()
	p.stop(t)
	took := time.Since(start)
	t.Logf("stopped %s after SIGTERM with the store down", took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Fatalf("shutdown took %s with a 2s shutdown_timeout", took)
	}
	vm.Restart(t)
	writeConfig(t, dir, strings.Replace(loadConfig(filepath.Join(dir, "data"), vm.URL, 0, 0), "shutdown_timeout: 30s", "shutdown_timeout: 2s", 1))
	p2 := startGateway(t, cfg)
	checkAllSeq(t, vm, n, time.Minute)
	p2.stop(t)
}
