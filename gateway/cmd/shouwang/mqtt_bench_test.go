package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// BenchmarkMQTTIngest measures sustained ingest of QoS 1 JSON readings
// from Mosquitto into VictoriaMetrics: the real binary with an mqtt
// driver, the profile's threshold rules on every reading and the outbox
// on, and then Telegraf (mqtt_consumer with json_v2 into influxdb_v2) on
// the same stream, each with a fresh broker and store, one after the
// other. It reports messages/s, CPU µs per message and peak RSS of both,
// and the ratio of their CPU per message. The issue asks for at least
// 50,000 messages/s and at most half Telegraf's CPU per message (it
// spent about 45 µs and 52 MB: aim under 22 µs and 26 MB).
//
// It runs only under `make bench` (SHOUWANG_BENCH=1), which installs
// Telegraf when missing (testenv.TelegrafBinary); without it only the
// gateway is measured. SHOUWANG_BENCH_MSGS overrides the 500,000 messages.
func BenchmarkMQTTIngest(b *testing.B) {
	if os.Getenv("SHOUWANG_BENCH") == "" {
		b.Skip("set SHOUWANG_BENCH=1 (make bench)")
	}
	const devices = 1000
	total := 500_000 // about 10 s at the target rate
	if v := os.Getenv("SHOUWANG_BENCH_MSGS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < devices {
			b.Fatalf("SHOUWANG_BENCH_MSGS=%q: want a number of messages, at least %d", v, devices)
		}
		total = n
	}
	for range b.N {
		gw := ingestGateway(b, devices, total)
		tg := ingestTelegraf(b, devices, total)

		b.ReportMetric(gw.rate(), "msgs/s")
		b.ReportMetric(gw.cpuPerMsg(), "cpu-µs/msg")
		b.ReportMetric(gw.rssMiB(), "peak-RSS-MiB")
		line := gw.String()
		if tg != nil {
			b.ReportMetric(tg.rate(), "telegraf-msgs/s")
			b.ReportMetric(tg.cpuPerMsg(), "telegraf-cpu-µs/msg")
			b.ReportMetric(tg.rssMiB(), "telegraf-peak-RSS-MiB")
			b.ReportMetric(gw.cpuPerMsg()/tg.cpuPerMsg(), "cpu-ratio")
			line += fmt.Sprintf(" | %s | cpu ratio %.2f", tg, gw.cpuPerMsg()/tg.cpuPerMsg())
		}
		b.Logf("%d QoS 1 messages from %d devices: %s", total, devices, line)
		b.Logf("CPU µs per message of the rest (2 cores shared): shouwang run: %s; telegraf run: %s", gw.others(), tg.others())
		met := gw.rate() >= 50_000 && gw.cpuPerMsg() <= 22 && gw.rssMiB() <= 26
		b.Logf("targets (>= 50000 msgs/s, <= 22 cpu-µs/msg, <= 26 MiB): met = %v", met)
	}
}

// ingestRun is what one system spent on the stream, from the first
// publish until the store held (or had confirmed) every reading.
type ingestRun struct {
	name    string
	total   int
	elapsed time.Duration
	cpu     time.Duration // the system's process
	rss     int64         // its VmHWM
	// What else ran on the machine meanwhile: the publishing clients (this
	// process), the broker and the store.
	pub, broker, store time.Duration
}

func (r *ingestRun) rate() float64      { return float64(r.total) / r.elapsed.Seconds() }
func (r *ingestRun) cpuPerMsg() float64 { return perMsg(r.cpu, r.total) }
func (r *ingestRun) rssMiB() float64    { return float64(r.rss) / (1 << 20) }

func perMsg(d time.Duration, n int) float64 { return float64(d.Microseconds()) / float64(n) }

func (r *ingestRun) String() string {
	return fmt.Sprintf("%s %.0f msgs/s, %.1f cpu-µs/msg, %.1f MiB peak RSS", r.name, r.rate(), r.cpuPerMsg(), r.rssMiB())
}

func (r *ingestRun) others() string {
	if r == nil {
		return "not run"
	}
	return fmt.Sprintf("publisher %.1f, mosquitto %.1f, victoria-metrics %.1f",
		perMsg(r.pub, r.total), perMsg(r.broker, r.total), perMsg(r.store, r.total))
}

// cpuMeter reads the CPU time of the measured process and of the rest.
type cpuMeter struct {
	tb                       testing.TB
	pid, brokerPid, storePid int
}

func (m cpuMeter) read() (self, pub, broker, store time.Duration) {
	cpu := func(pid int) time.Duration {
		if pid == 0 {
			return 0
		}
		return processCPU(m.tb, pid)
	}
	return cpu(m.pid), rusageSelf(m.tb), cpu(m.brokerPid), cpu(m.storePid)
}

// measure runs publish (which starts the stream) and waits until done
// reports every reading taken; the CPU each process used before is not
// counted.
func (m cpuMeter) measure(r *ingestRun, publish func() error, done func() bool) {
	tb := m.tb
	tb.Helper()
	c0, p0, b0, s0 := m.read()
	start := time.Now()
	errc := make(chan error, 1)
	go func() { errc <- publish() }()
	deadline := start.Add(5 * time.Minute)
	published := false
	for !done() {
		select {
		case err := <-errc:
			if err != nil {
				tb.Fatalf("%s: publishing: %v", r.name, err)
			}
			published = true
		case <-time.After(100 * time.Millisecond): // polling the counters; more often costs the gateway CPU
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: the stream was not stored within %s", r.name, deadline.Sub(start))
		}
	}
	r.elapsed = time.Since(start)
	c1, p1, b1, s1 := m.read()
	r.cpu, r.pub, r.broker, r.store = c1-c0, p1-p0, b1-b0, s1-s0
	r.rss = peakRSS(tb, m.pid)
	if !published {
		if err := <-errc; err != nil {
			tb.Fatalf("%s: publishing: %v", r.name, err)
		}
	}
}

func hostPort(u string) string { return u[strings.Index(u, "://")+3:] }

// ingestGateway runs the gateway half: the binary subscribed first (its
// persistent session exists), then the stream; done when its driver has
// taken every message and its sink has confirmed every reading.
func ingestGateway(b *testing.B, devices, total int) *ingestRun {
	mq := testenv.StartMosquitto(b)
	vm := testenv.StartVictoriaMetrics(b)
	dir := b.TempDir()
	cfg := mqttGateway{dataDir: dir + "/data", broker: "tcp://" + mq.Addr, user: mq.User, password: mq.Password,
		clientID: "bench-gw", vmURL: vm.URL, devices: devices}.write(b, dir)
	p := startGateway(b, cfg)
	p.waitMetric(b, "shouwang_mqtt_connected", 1, 30*time.Second)

	s := &readingStream{broker: "tcp://" + mq.Addr, user: mq.User, password: mq.Password, clientPrefix: "bench-dev",
		devices: devices, total: total, clients: 4, window: 1000, base: time.Now().Add(-time.Hour).UnixMilli()}
	cs := s.connect(b)
	r := &ingestRun{name: "shouwang", total: total}
	m := cpuMeter{tb: b, pid: p.cmd.Process.Pid, brokerPid: listenerPid(mq.Addr), storePid: listenerPid(hostPort(vm.URL))}
	readings := float64(2 * total) // gas and battery
	m.measure(r, func() error { return s.publish(context.Background(), cs) }, func() bool {
		return p.metric(b, "shouwang_mqtt_messages_total") >= float64(total) && p.metric(b, "shouwang_sink_sent_total") >= readings
	})
	// Where the pipeline held the driver back: a full bus blocks it, and
	// the bus waits for its slowest follower (rules, history).
	var waits []string
	for labels, v := range p.metricSeries(b, "shouwang_bus_follower_wait_seconds_total") {
		waits = append(waits, fmt.Sprintf("%s %.1f s", labels, v))
	}
	slices.Sort(waits)
	if len(waits) == 0 {
		waits = []string{"none"}
	}
	b.Logf("shouwang: in %.1f s the driver was blocked on a full bus %.1f s; the bus waited for slow followers: %s",
		r.elapsed.Seconds(), p.metric(b, "shouwang_bus_backpressure_seconds_total"), strings.Join(waits, ", "))
	// Exactly once: nothing delivered twice, nothing bad, nothing resent.
	if got := p.metric(b, "shouwang_mqtt_messages_total"); got != float64(total) {
		b.Errorf("the driver took %v messages, want %d", got, total)
	}
	if got := p.metric(b, "shouwang_mqtt_bad_messages_total"); got != 0 {
		b.Errorf("%v bad messages", got)
	}
	if got := p.metric(b, "shouwang_sink_sent_total"); got != readings {
		b.Errorf("the sink sent %v readings, want %v", got, readings)
	}
	p.stop(b)
	checkStored(b, vm, `{__name__="gas_value"}`, total)
	mq.Stop(b)
	vm.Stop(b)
	return r
}

// checkStored waits until the store holds n samples matching selector and
// fails if it holds more.
func checkStored(tb testing.TB, vm *testenv.VictoriaMetrics, selector string, n int) {
	tb.Helper()
	if got := len(vm.WaitSamples(tb, selector, n, 30*time.Second)); got != n {
		tb.Fatalf("the store holds %d samples matching %s, want %d", got, selector, n)
	}
}

// telegrafConfig is Telegraf reading the stream from mq into vmURL, with
// the settings the issue compares with but one: metric_batch_size is 500,
// not 5000. Telegraf acknowledges a message once its metric is written and
// takes at most max_undelivered_messages (1000, also the broker's
// in-flight window) unacknowledged, so a batch of 5000 never fills and it
// writes once per flush_interval: about 1000 messages/s. Half the window
// keeps one batch filling while the other is written (about 35,000/s on
// 2 cores, for the same CPU per message).
func telegrafConfig(mq *testenv.Mosquitto, vmURL string) string {
	return fmt.Sprintf(`[agent]
  interval = "1s"
  flush_interval = "1s"
  metric_batch_size = 500
  metric_buffer_limit = 1000000
  omit_hostname = true

[[inputs.mqtt_consumer]]
  servers = ["tcp://%s"]
  topics = ["bench/+/state"]
  qos = 1
  persistent_session = true
  client_id = "bench-telegraf"
  username = %q
  password = %q
  max_undelivered_messages = 1000
  data_format = "json_v2"

  [[inputs.mqtt_consumer.topic_parsing]]
    topic = "bench/+/state"
    tags = "_/device/_"

  [[inputs.mqtt_consumer.json_v2]]
    measurement_name = "tgbench"
    timestamp_path = "ts"
    timestamp_format = "unix_ms"
    [[inputs.mqtt_consumer.json_v2.field]]
      path = "lel"
      type = "float"
    [[inputs.mqtt_consumer.json_v2.field]]
      path = "bat"
      type = "float"

[[outputs.influxdb_v2]]
  urls = [%q]
  token = "x"
  organization = "o"
  bucket = "b"
`, mq.Addr, mq.User, mq.Password, vmURL)
}

// ingestTelegraf runs the Telegraf half, or returns nil when Telegraf
// cannot be had. Telegraf is ready once a probe message reaches the
// store; done when the store has taken a row for every field.
func ingestTelegraf(b *testing.B, devices, total int) *ingestRun {
	bin, err := testenv.TelegrafBinary(b)
	if err != nil {
		b.Logf("the Telegraf half is skipped: %v", err)
		return nil
	}
	mq := testenv.StartMosquitto(b)
	vm := testenv.StartVictoriaMetrics(b)
	tg := testenv.StartTelegraf(b, bin, telegrafConfig(mq, vm.URL))

	s := &readingStream{broker: "tcp://" + mq.Addr, user: mq.User, password: mq.Password, clientPrefix: "bench-dev",
		devices: devices, total: total, clients: 4, window: 1000, base: time.Now().Add(-time.Hour).UnixMilli()}
	cs := s.connect(b)
	waitTelegrafSubscribed(b, tg, cs[0], vm)

	rows0 := vmRowsInserted(b, vm)
	r := &ingestRun{name: "telegraf", total: total}
	m := cpuMeter{tb: b, pid: tg.Pid, brokerPid: listenerPid(mq.Addr), storePid: listenerPid(hostPort(vm.URL))}
	rows := rows0 + float64(2*total) // lel and bat
	m.measure(r, func() error { return s.publish(context.Background(), cs) }, func() bool {
		if err := tg.Err(); err != nil {
			b.Fatalf("telegraf: %v", err)
		}
		return vmRowsInserted(b, vm) >= rows
	})
	checkStored(b, vm, `{__name__="tgbench_lel",device=~"d.*"}`, total)
	tg.Stop(b)
	mq.Stop(b)
	vm.Stop(b)
	return r
}

// waitTelegrafSubscribed publishes a probe reading, and another every 3 s
// (three of Telegraf's flush intervals, so none is still on its way when
// one arrives), until one reaches the store. Telegraf logs "Connected"
// before it subscribes, and what is published before it subscribes is
// not kept for it.
func waitTelegrafSubscribed(tb testing.TB, tg *testenv.Telegraf, c paho.Client, vm *testenv.VictoriaMetrics) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if err := tg.Err(); err != nil {
			tb.Fatalf("telegraf: %v", err)
		}
		probe := fmt.Sprintf(`{"ts":%d,"lel":0,"bat":97}`, time.Now().UnixMilli())
		if tok := c.Publish("bench/probe/state", 1, false, probe); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			tb.Fatalf("publish a probe: %v", tok.Error())
		}
		for range 30 {
			if len(vm.Export(tb, `{__name__="tgbench_lel",device="probe"}`)) > 0 {
				return
			}
			time.Sleep(100 * time.Millisecond) // polling the store
		}
		if time.Now().After(deadline) {
			tb.Fatalf("telegraf delivered no probe message within a minute")
		}
	}
}

// vmRowsInserted is how many InfluxDB line-protocol rows (one per field)
// VictoriaMetrics has taken, from its own /metrics.
func vmRowsInserted(tb testing.TB, vm *testenv.VictoriaMetrics) float64 {
	tb.Helper()
	resp, err := http.Get(vm.URL + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `vm_rows_inserted_total{type="influx"} `); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
