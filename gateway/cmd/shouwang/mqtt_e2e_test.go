package main

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// TestMQTTKill9LosesNothing kills the gateway with SIGKILL while devices
// publish QoS 1 readings to Mosquitto (TLS, password) and it takes them
// with a persistent session; devices go on publishing while it is down,
// and it is started again on the same data dir. Every message the broker
// acknowledged to a device reaches the store: what the gateway had made
// durable comes from its outbox, the rest from its session at the broker.
//
// Just before the kill the store is stopped, so that the sink's count is
// exact at the kill (a write in flight would otherwise be counted or not);
// the gateway goes on taking messages into the outbox meanwhile, so the
// restarted one has both a backlog to replay and a session to drain.
func TestMQTTKill9LosesNothing(t *testing.T) {
	const devices, total = 50, 20_000
	mq := testenv.StartMosquitto(t)
	vm := testenv.StartVictoriaMetrics(t)
	dir := t.TempDir()
	cfg := mqttGateway{dataDir: dir + "/data", broker: "ssl://" + mq.TLSAddr, ca: mq.CAFile, user: mq.User,
		password: mq.Password, clientID: "e2e-gw", vmURL: vm.URL, devices: devices}.write(t, dir)
	p := startGateway(t, cfg)
	p.waitMetric(t, "shouwang_mqtt_connected", 1, 30*time.Second)

	// The devices publish the first 12,000 at once and the rest once the
	// gateway is dead, so some are published while it is down.
	s := &readingStream{broker: "tcp://" + mq.Addr, user: mq.User, password: mq.Password, clientPrefix: "e2e-dev",
		devices: devices, total: total, clients: 2, window: 200, base: time.Now().Add(-time.Hour).UnixMilli(),
		hold: 12_000, resume: make(chan struct{})}
	cs := s.connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	published := make(chan error, 1)
	go func() { published <- s.publish(ctx, cs) }()

	p.waitMetric(t, "shouwang_mqtt_messages_total", 5000, 30*time.Second)
	vm.Stop(t)
	p.waitMetric(t, "shouwang_sink_errors_total", 1, 30*time.Second) // no write in flight any more
	sent1 := p.metric(t, "shouwang_sink_sent_total")
	taken1 := p.metric(t, "shouwang_mqtt_messages_total") // it goes on until the kill
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
	close(s.resume)
	t.Logf("killed with about %v messages taken, %v readings sent and %d messages acknowledged to the devices", taken1, sent1, s.acked.Load())

	vm.Restart(t)
	p2 := startGateway(t, cfg)
	if err := <-published; err != nil {
		t.Fatalf("publishing: %v", err)
	}
	// Every reading of every message (gas and battery) was sent, from one
	// process or the other.
	p2.waitMetric(t, "shouwang_sink_sent_total", 2*total-sent1, 30*time.Second)
	checkStream(t, vm, s)
	sent := sent1 + p2.metric(t, "shouwang_sink_sent_total")
	t.Logf("the gateway sent %v readings for %d messages: %v messages twice (committed to the outbox but not acknowledged "+
		"to the broker at the kill, so the broker sent them again)", sent, total, (sent-2*total)/2)
	if bad := p2.metric(t, "shouwang_mqtt_bad_messages_total"); bad != 0 {
		t.Errorf("%v bad messages", bad)
	}
	p2.stop(t)
}

// checkStream waits until the store holds a gas point for each of s's
// messages, and checks that each is there once, from its device, with its
// value.
func checkStream(t *testing.T, vm *testenv.VictoriaMetrics, s *readingStream) {
	t.Helper()
	samples := vm.WaitSamples(t, `{__name__="gas_value"}`, s.total, 30*time.Second)
	seen := make([]int, s.total)
	var wrong []testenv.Sample
	for _, x := range samples {
		i := int(x.Timestamp - s.base)
		if i < 0 || i >= s.total || x.Metric["device"] != benchDevice(i%s.devices) || math.Abs(x.Value-lel(i)) > 1e-9 {
			wrong = append(wrong, x)
			continue
		}
		seen[i]++
	}
	var missing, twice []int64
	for i, n := range seen {
		switch {
		case n == 0:
			missing = append(missing, int64(i))
		case n > 1:
			twice = append(twice, int64(i))
		}
	}
	if len(missing) > 0 || len(twice) > 0 || len(wrong) > 0 {
		t.Fatalf("of %d messages the broker acknowledged, %d are missing from the store (first %v), %d are there more than once (first %v), and %d points are not any message's (first %v)",
			s.total, len(missing), head(missing), len(twice), head(twice), len(wrong), wrong[:min(len(wrong), 5)])
	}
}
