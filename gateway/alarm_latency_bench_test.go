package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// latencyConfig is a community of 1,000 gas detectors with the kitchen
// gas rule, an InfluxDB sink (so readings go through the outbox as in the
// field) and an MQTT notifier.
func latencyConfig(vm *testenv.VictoriaMetrics, mq *testenv.Mosquitto, devices int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `gateway: {name: bench}
sites:
  - {id: s, grid: G1, buildings: [{id: "1", floors: 30, units: 4}]}
drivers:
  - {name: sim, type: sim, interval: 24h}
rules:
  - id: kitchen-gas
    type: threshold
    select: {types: [gas]}
    point: gas
    levels: [{name: alarm, above: 25, severity: alarm}]
sinks:
  - {name: vm, type: influxdb, url: %s, org: o, bucket: b}
notify:
  mqtt:
    - {name: room, broker: "tcp://%s", username: %s, password: %s}
devices:
`, vm.URL, mq.Addr, mq.User, mq.Password)
	for i := range devices {
		fmt.Fprintf(&b, "  - {id: gas-%04d, profile: gas-detector-lel-generic, driver: sim, location: {building: \"1\", unit: %d, floor: %d, room: \"%d\"}}\n",
			i, i%4+1, i%30+1, i)
	}
	return []byte(b.String())
}

// BenchmarkAlarmLatency measures reading in → alarm committed to the
// journal → MQTT message out, on loopback, while 10,000 readings/s of
// background load go through the same bus, rules, outbox and store. Each
// op is one activation of the kitchen gas rule on a probe detector,
// published the way a driver publishes, until a subscriber on the real
// Mosquitto has the message; then the reading returns to normal (also
// awaited), so every op starts from the same state.
func BenchmarkAlarmLatency(b *testing.B) {
	const devices, bgRate = 1000, 10_000
	vm := testenv.StartVictoriaMetrics(b)
	mq := testenv.StartMosquitto(b)
	_, g, stop := runConfig(b, latencyConfig(vm, mq, devices), b.TempDir())
	defer stop()

	got := make(chan time.Time, 100)
	sub := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + mq.Addr).SetClientID("bench-console").
		SetUsername(mq.User).SetPassword(mq.Password))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("connect: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	if tok := sub.Subscribe("shouwang/bench/alarms/#", 1, func(_ paho.Client, m paho.Message) {
		var v struct{ Device string }
		if json.Unmarshal(m.Payload(), &v) == nil && v.Device == "gas-0000" {
			got <- time.Now()
		}
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("subscribe: %v", tok.Error())
	}

	// Background: every device but the probe, 100 readings every 10 ms.
	ctx, cancel := context.WithCancel(context.Background())
	var sent atomic.Int64
	bgDone := make(chan struct{})
	go func() {
		defer close(bgDone)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		next := 1
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				batch := shouwang.Batch{Readings: make([]shouwang.Reading, 0, bgRate/100)}
				for range bgRate / 100 {
					batch.Readings = append(batch.Readings, shouwang.Reading{Device: fmt.Sprintf("gas-%04d", next),
						Point: "gas", Value: 2, Unit: "%LEL", Time: now})
					next = next%(devices-1) + 1
				}
				if g.bus.Publish(ctx, batch) == nil {
					sent.Add(int64(len(batch.Readings)))
				}
			}
		}
	}()

	probe := func(v float64) time.Duration {
		start := time.Now()
		err := g.bus.Publish(ctx, shouwang.Batch{Readings: []shouwang.Reading{{Device: "gas-0000", Point: "gas",
			Value: v, Unit: "%LEL", Time: start}}})
		if err != nil {
			b.Fatal(err)
		}
		select {
		case at := <-got:
			return at.Sub(start)
		case <-time.After(10 * time.Second):
			b.Fatalf("no MQTT message for the probe's reading %v within 10s", v)
			return 0
		}
	}
	probe(30) // the raise: a new alarm
	probe(0)
	lat := make([]time.Duration, 0, b.N)
	began := time.Now()
	b.ResetTimer()
	for range b.N {
		lat = append(lat, probe(30))
		probe(0)
	}
	b.StopTimer()
	cancel()
	<-bgDone
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
	b.ReportMetric(float64(sent.Load())/time.Since(began).Seconds(), "background-readings/s")
}
