package mqtt

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/outbox"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// The sink against a real Mosquitto 2 over TLS with a password file, read
// back by a paho subscriber with a persistent session of its own.

func mosquittoConfig(m *testenv.Mosquitto) Config {
	c := DefaultConfig()
	c.URL = "ssl://" + m.TLSAddr
	c.Username, c.Password = m.User, shouwang.Secret(m.Password)
	c.CA = m.CAFile
	c.Timeout = 5 * time.Second
	return c
}

// received is one message as the subscriber got it.
type received struct {
	topic    string
	payload  []byte
	qos      byte
	dup      bool
	retained bool
}

// subscriber collects what the broker delivers on a filter, in order.
type subscriber struct {
	client paho.Client

	mu      sync.Mutex
	msgs    []received
	changed chan struct{} // closed and replaced at every message
}

// subscribe connects a subscriber with a persistent session (clean session
// off, its own client id) at QoS 1; paho reconnects it by itself when the
// broker goes away and comes back. It disconnects at cleanup.
func subscribe(t *testing.T, m *testenv.Mosquitto, filter string) *subscriber {
	t.Helper()
	ca, err := os.ReadFile(m.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	s := &subscriber{changed: make(chan struct{})}
	handle := func(_ paho.Client, msg paho.Message) {
		s.mu.Lock()
		s.msgs = append(s.msgs, received{msg.Topic(), msg.Payload(), msg.Qos(), msg.Duplicate(), msg.Retained()})
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}
	opts := paho.NewClientOptions().AddBroker("ssl://" + m.TLSAddr).SetClientID("test-sub-" + rand.Text()[:10]).
		SetUsername(m.User).SetPassword(m.Password).SetTLSConfig(&tls.Config{RootCAs: pool}).
		SetCleanSession(false).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(20 * time.Millisecond).SetMaxReconnectInterval(100 * time.Millisecond).
		SetDefaultPublishHandler(handle)
	s.client = paho.NewClient(opts)
	if tok := s.client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	t.Cleanup(func() { s.client.Disconnect(250) })
	if tok := s.client.Subscribe(filter, 1, handle); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return s
}

// wait returns what has arrived once done says it is enough, or fails the
// test after timeout.
func (s *subscriber) wait(t *testing.T, timeout time.Duration, what string, done func([]received) bool) []received {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		msgs, changed := slices.Clone(s.msgs), s.changed
		s.mu.Unlock()
		if done(msgs) {
			return msgs
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("after %v: %d messages received, still waiting for %s", timeout, len(msgs), what)
		}
	}
}

func atLeast(n int) func([]received) bool { return func(m []received) bool { return len(m) >= n } }

// wantReading and wantEvent are what a payload must be, encoded by
// encoding/json from the README's description, independently of the
// sink's payload types.
type wantReading struct {
	Device   string            `json:"device"`
	Point    string            `json:"point"`
	Value    float64           `json:"value"`
	Unit     string            `json:"unit"`
	Quality  string            `json:"quality"`
	Time     string            `json:"time"`
	Location shouwang.Location `json:"location"`
}

type wantEvent struct {
	Device   string            `json:"device"`
	Kind     string            `json:"kind"`
	Severity string            `json:"severity"`
	Message  string            `json:"message"`
	Time     string            `json:"time"`
	Attrs    map[string]string `json:"attrs"`
	Location shouwang.Location `json:"location"`
}

func location(device string) shouwang.Location { return testDevices[device].Location }

func rfc3339ms(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

func TestMosquittoDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Mosquitto")
	}
	leakcheck.Check(t)
	m := testenv.StartMosquitto(t)
	sub := subscribe(t, m, "shouwang/#")
	c := mosquittoConfig(m)
	c.Cert, c.Key = m.CertFile, m.KeyFile // the broker does not ask for it; TLS with one must still work
	s := mustSink(t, c)

	b := testBatch()
	b.Readings = append(b.Readings, shouwang.Reading{Device: "ghost", Point: "co", Value: 35, Unit: "ppm", Quality: shouwang.Bad, Time: t0})
	b.Events = append(b.Events, shouwang.Event{Device: "smoke-b1", Kind: "fault", Severity: shouwang.Fault, Message: `sensor "dirty"`, Time: t0})
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	// Write returned nil: the broker has every message, so they all
	// arrive without another Write.
	got := sub.wait(t, 10*time.Second, "the whole batch", atLeast(b.Len()))

	type msg struct{ topic, payload string }
	marshal := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	want := []msg{
		{"shouwang/sunshine/3号楼/gas-1202/gas", marshal(wantReading{"gas-1202", "gas", 12.5, "%LEL", "good", rfc3339ms(t0), location("gas-1202")})},
		{"shouwang/sunshine/C_地下__车库/smoke-b1/smoke_density", marshal(wantReading{"smoke-b1", "smoke_density", 0.02, "dB/m", "stale", rfc3339ms(t0.Add(time.Millisecond)), location("smoke-b1")})},
		{"shouwang/sunshine/_/ghost/co", marshal(wantReading{"ghost", "co", 35, "ppm", "bad", rfc3339ms(t0), shouwang.Location{}})},
		{"shouwang/sunshine/3号楼/gas-1202/events/gas_alarm", marshal(wantEvent{"gas-1202", "gas_alarm", "alarm", "燃气浓度超限", rfc3339ms(t0), map[string]string{"threshold": "25%LEL"}, location("gas-1202")})},
		{"shouwang/sunshine/C_地下__车库/smoke-b1/events/fault", marshal(wantEvent{"smoke-b1", "fault", "fault", `sensor "dirty"`, rfc3339ms(t0), map[string]string{}, location("smoke-b1")})},
	}
	if len(got) != len(want) {
		t.Errorf("%d messages, want %d", len(got), len(want))
	}
	for i, r := range got[:min(len(got), len(want))] {
		if r.topic != want[i].topic || string(r.payload) != want[i].payload {
			t.Errorf("message %d:\n%s %s\nwant\n%s %s", i, r.topic, r.payload, want[i].topic, want[i].payload)
		}
		if r.qos != 1 || r.retained || r.dup {
			t.Errorf("message %d: qos %d retained %v dup %v, want qos 1, not retained, not dup", i, r.qos, r.retained, r.dup)
		}
	}
	if m, c := uplink(t, s); m != 5 || c != 1 {
		t.Errorf("metrics: messages %v connected %v", m, c)
	}
}

func TestMosquittoTemplates(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Mosquitto")
	}
	leakcheck.Check(t)
	m := testenv.StartMosquitto(t)
	sub := subscribe(t, m, "district/#")
	c := mosquittoConfig(m)
	c.URL = "tcp://" + m.Addr // the plain listener, same password file
	c.CA = ""
	c.Topics = Topics{
		Readings: "district/{site}/{gateway}/{building}/{unit}/{floor}/{room}/{type}/{device}/{point}",
		Events:   "district/events/{kind}/{device}",
	}
	c.QoS, c.Retain = 2, true
	s := mustSink(t, c)
	if err := s.Write(t.Context(), testBatch()); err != nil {
		t.Fatal(err)
	}
	got := sub.wait(t, 10*time.Second, "the whole batch", atLeast(3))
	var topics []string
	for _, r := range got {
		topics = append(topics, r.topic)
		if r.qos != 1 { // the subscription's QoS caps it
			t.Errorf("%s: qos %d", r.topic, r.qos)
		}
	}
	want := []string{
		"district/阳光花园/sunshine/3号楼/2/12/1202/gas/gas-1202/gas",
		"district/阳光花园/sunshine/C_地下__车库/_/-1/storage_room/smoke/smoke-b1/smoke_density",
		"district/events/gas_alarm/gas-1202",
	}
	if !slices.Equal(topics, want) {
		t.Errorf("topics\n%q\nwant\n%q", topics, want)
	}
	// retain: true keeps the last message on each topic for a late
	// subscriber.
	late := subscribe(t, m, "district/events/#")
	if r := late.wait(t, 10*time.Second, "the retained event", atLeast(1)); !r[0].retained {
		t.Errorf("late subscriber got %+v, want it retained", r[0])
	}
}

func TestMosquittoWriteErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Mosquitto")
	}
	leakcheck.Check(t)
	m := testenv.StartMosquitto(t)
	stranger := testenv.WriteTLSFiles(t, t.TempDir()) // a CA that did not sign the broker's certificate
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		says   []string
		is     []error
	}{
		{"broker unreachable", func(c *Config) { c.URL = fmt.Sprintf("ssl://127.0.0.1:%d", testenv.FreePort(t)) },
			[]string{"cannot connect to the broker", "connection refused"}, []error{packets.ErrorNetworkError, syscall.ECONNREFUSED}},
		{"wrong password", func(c *Config) { c.Password = "not-the-password" },
			[]string{`the broker refused the login of user "gateway" with client id "shouwang-sunshine-district"`, "check username and password"},
			[]error{packets.ErrorRefusedNotAuthorised}},
		{"unknown user", func(c *Config) { c.Username = "intruder" },
			[]string{`refused the login of user "intruder"`}, []error{packets.ErrorRefusedNotAuthorised}},
		{"no credentials", func(c *Config) { c.Username, c.Password = "", "" },
			[]string{"refused the login without a username", "set username and password"}, []error{packets.ErrorRefusedNotAuthorised}},
		{"unknown CA", func(c *Config) { c.CA = stranger.CA },
			[]string{"cannot connect to the broker", "certificate signed by unknown authority"}, []error{packets.ErrorNetworkError}},
		{"CA file missing", func(c *Config) { c.CA = filepath.Join(t.TempDir(), "ca.pem") },
			[]string{"TLS files: ca: open", "no such file or directory"}, []error{os.ErrNotExist}},
		{"TLS client on the plain listener", func(c *Config) { c.URL = "ssl://" + m.Addr },
			[]string{"cannot connect to the broker"}, []error{packets.ErrorNetworkError}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mosquittoConfig(m)
			tc.modify(&c)
			s := mustSink(t, c)
			start := time.Now()
			err := s.Write(t.Context(), testBatch())
			t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
			asWriteError(t, err, m.Password)
			if strings.Contains(fmt.Sprint(err), "not-the-password") {
				t.Errorf("error shows the password: %v", err)
			}
			for _, want := range append(tc.says, "mqtt uplink to "+c.URL) {
				if !strings.Contains(fmt.Sprint(err), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("error does not wrap %v", target)
				}
			}
			if elapsed := time.Since(start); elapsed > c.Timeout {
				t.Errorf("Write took %v", elapsed)
			}
			if m, c := uplink(t, s); c != 0 || m != 0 {
				t.Errorf("metrics: messages %v connected %v", m, c)
			}
		})
	}
}

// recorder counts the Writes that failed, and the messages in them: the
// only messages the district may see twice.
type recorder struct {
	shouwang.Sink
	mu         sync.Mutex
	failures   int
	failedMsgs int
	lastErr    error
}

func (r *recorder) Write(ctx context.Context, b shouwang.Batch) error {
	err := r.Sink.Write(ctx, b)
	if err != nil {
		r.mu.Lock()
		r.failures++
		r.failedMsgs += b.Len()
		r.lastErr = err
		r.mu.Unlock()
	}
	return err
}

func (r *recorder) state() (failures, failedMsgs int, lastErr error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures, r.failedMsgs, r.lastErr
}

// seqBatches is n readings numbered from first (the value is the number),
// cut into batches of size.
func seqBatches(first, n, size int) []shouwang.Batch {
	var out []shouwang.Batch
	for i := first; i < first+n; i += size {
		var b shouwang.Batch
		for j := i; j < min(i+size, first+n); j++ {
			b.Readings = append(b.Readings, shouwang.Reading{
				Device: []string{"gas-1202", "smoke-b1", "ghost"}[j%3], Point: fmt.Sprintf("p%d", j%4),
				Value: float64(j), Unit: "%LEL", Time: t0.Add(time.Duration(j) * time.Millisecond)})
		}
		out = append(out, b)
	}
	return out
}

// TestMosquittoOutage runs the real outbox and forwarder with the sink
// through a broker outage: the broker stops while the first readings are
// going out, 20,000 more are appended while it is down, and once it is
// back the subscriber has every reading, first seen in append order.
func TestMosquittoOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Mosquitto")
	}
	leakcheck.Check(t)
	const before, during = 5_000, 20_000
	m := testenv.StartMosquitto(t)
	sub := subscribe(t, m, "shouwang/#")

	dir := t.TempDir()
	ob, err := outbox.Open(outbox.Config{Dir: dir, MaxBytes: 256 << 20, SegmentBytes: 1 << 20}, []string{"district"}, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	c := mosquittoConfig(m)
	c.Timeout = 2 * time.Second
	s := mustSink(t, c)
	rec := &recorder{Sink: s}
	fwd, err := ob.Forwarder("district", rec, outbox.ForwardConfig{BatchSize: 1000, FlushInterval: 10 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Quarantine: filepath.Join(dir, "quarantine.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- fwd.Run(ctx) }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-ran
		}
	}()

	if err := ob.Append(seqBatches(0, before, 100)...); err != nil {
		t.Fatal(err)
	}
	sub.wait(t, 30*time.Second, "the first readings", atLeast(200))
	m.Stop(t) // SIGTERM: the broker saves the subscriber's queue and exits
	for _, b := range seqBatches(before, during, 100) {
		if err := ob.Append(b); err != nil {
			t.Fatal(err)
		}
	}
	// Polling the recorder's counter: the forwarder tells nobody it failed.
	testenv.CheckFor(t, 10*time.Second, "writes to fail while the broker is down", func() bool {
		n, _, err := rec.state()
		return n >= 3 && strings.Contains(fmt.Sprint(err), "connection refused")
	})
	failuresDown, _, errDown := rec.state()
	t.Logf("broker down: %d failed writes so far, the last: %v", failuresDown, errDown)

	back := time.Now()
	m.Restart(t)
	total := before + during
	got := sub.wait(t, 60*time.Second, fmt.Sprintf("all %d readings", total), func(msgs []received) bool {
		return distinct(t, msgs) >= total
	})
	replay := time.Since(back)
	testenv.CheckFor(t, 10*time.Second, "the outbox to confirm everything", func() bool { return ob.Pending("district") == 0 })
	cancel()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
	stopped = true

	// Every reading once in append order, counting only the first time
	// each is seen; every repeat explained.
	seen := make([]bool, total)
	var order []int
	sinkDups, brokerDups := 0, 0
	for _, r := range got {
		seq := seqOf(t, r.payload)
		if seq < 0 || seq >= total {
			t.Fatalf("reading %d was never appended", seq)
		}
		switch {
		case !seen[seq]:
			seen[seq] = true
			order = append(order, seq)
		case r.dup:
			brokerDups++ // the broker sent it to the subscriber again after its restart
		default:
			sinkDups++ // the sink published it again
		}
	}
	for i, seq := range order {
		if seq != i {
			t.Fatalf("reading %d arrived in place %d (first-seen order must be append order)", seq, i)
		}
	}
	failures, failedMsgs, _ := rec.state()
	t.Logf("%d readings received: %d distinct in append order, %d sent again by the sink, %d redelivered by the broker; "+
		"%d writes failed carrying %d readings; replayed in %v after the restart",
		len(got), len(order), sinkDups, brokerDups, failures, failedMsgs, replay.Round(time.Millisecond))
	// Only a failed Write sends anything again, and at most what it carried.
	if sinkDups > failedMsgs {
		t.Errorf("%d readings sent again, but the failed writes carried only %d", sinkDups, failedMsgs)
	}
	if acked := s.Acknowledged(); acked < uint64(total) {
		t.Errorf("Acknowledged() = %d, want at least %d", acked, total)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if m, c := uplink(t, s); c != 0 || m < float64(total) {
		t.Errorf("metrics after Close: messages %v connected %v", m, c)
	}
}

func seqOf(t *testing.T, payload []byte) int {
	var r struct{ Value float64 }
	if err := json.Unmarshal(payload, &r); err != nil {
		t.Fatalf("payload %s: %v", payload, err)
	}
	return int(r.Value)
}

func distinct(t *testing.T, msgs []received) int {
	seen := map[int]bool{}
	for _, r := range msgs {
		seen[seqOf(t, r.payload)] = true
	}
	return len(seen)
}

// BenchmarkWriteMosquittoTLS is the throughput of one Write of 5,000
// readings to Mosquitto over TLS, acknowledged (QoS 1) or not (QoS 0).
func BenchmarkWriteMosquittoTLS(b *testing.B) {
	m := testenv.StartMosquitto(b)
	batch, devices := benchBatch(5000)
	for _, bc := range []struct {
		qos, inflight int
	}{{1, 100}, {1, 1000}, {1, 5000}, {0, 1000}} {
		b.Run(fmt.Sprintf("qos=%d/inflight=%d", bc.qos, bc.inflight), func(b *testing.B) {
			c := mosquittoConfig(m)
			c.QoS, c.MaxInflight = bc.qos, bc.inflight
			si, err := c.NewSink(shouwang.SinkEnv{Name: "bench", Gateway: "sunshine", Devices: devices})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { si.Close() })
			if err := si.Write(b.Context(), batch); err != nil { // connect outside the timing
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := si.Write(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*5000/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
