package mqtt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/internal/testenv"
	"github.com/shouwang-iot/shouwang/mock"
)

var stateTopic = Subscription{Topic: "community/{community}/building/{building}/+/{device}/state", QoS: qos(1)}

// TestIngestEveryForm reads JSON, key=value and plain-number messages
// from a real Mosquitto over TLS with a password, each through its
// device's model, with the message's own time or the receive time.
func TestIngestEveryForm(t *testing.T) {
	leakcheck.Check(t)
	mq := testenv.StartMosquitto(t)
	var p placed
	p.add("1202-kitchen-gas", "GD-1", "3", jsonModel())
	p.add("1202-hall-smoke", "SK-1", "3", kvModel())
	p.add("b1-garage", "N-1", "", numberModel())
	d := p.driver(t, brokerConfig(mq, "gw-forms", stateTopic,
		Subscription{Topic: "sensors/{device}/{point}", QoS: qos(2)}), nil)
	rec := &mock.Recorder{}
	if err := d.Start(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	dev := devicePublisher(t, mq, "dev-forms")
	before := time.Now()
	send(t, dev, "community/sunshine/building/3/gas/GD-1/state", `{"ts":1790000000123,"lel":3.5,"bat":97,"alarm":1}`)
	send(t, dev, "community/sunshine/building/3/smoke/SK-1/state", "t=1790000001;alm=0;bat=76;csq=21")
	sendQoS(t, dev, 2, "sensors/N-1/co", "355") // the whole QoS 2 exchange, PUBREC after the commit
	sendQoS(t, dev, 0, "sensors/N-1/gas", "2.5")
	seen := rec.WaitFor(t, 10*time.Second, "6 readings and 2 events", func(r mock.Recorded) bool {
		return len(r.Readings) == 5 && len(r.Events) == 2
	})
	rs := seen.Readings
	got := fmt.Sprint(rs[:3], seen.Events)
	for _, want := range []string{"1202-kitchen-gas gas 3.5 %LEL", "1202-kitchen-gas battery 97 %", "1202-hall-smoke battery 76 %",
		"1202-kitchen-gas gas_alarm alarm", "1202-hall-smoke smoke_clear info"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %s", want, got)
		}
	}
	if at := rs[0].Time; !at.Equal(time.UnixMilli(1790000000123)) {
		t.Errorf("JSON reading at %v, want the message's ts", at)
	}
	if at := rs[2].Time; !at.Equal(time.Unix(1790000001, 0)) {
		t.Errorf("kv reading at %v, want the message's t", at)
	}
	for _, r := range rs[3:] {
		// The receive time, to the millisecond, one apart per device.
		if r.Device != "b1-garage" || r.Time.Before(before.Truncate(time.Millisecond)) || r.Time.After(time.Now().Add(10*time.Millisecond)) {
			t.Errorf("number reading %+v: want b1-garage at the receive time", r)
		}
	}
	if co := rs[3]; co.Point != "co" || co.Value != 35.5 || co.Unit != "ppm" {
		t.Errorf("co reading %+v, want 35.5 ppm from the topic's point and the model's scale", co)
	}
	if n := testenv.MetricValue(t, d, "shouwang_mqtt_bad_messages_total"); n != 0 {
		t.Errorf("%v bad messages counted", n)
	}
	if n := testenv.MetricValue(t, d, "shouwang_mqtt_connected"); n != 1 {
		t.Errorf("connected = %v", n)
	}
}

// TestLocationMismatchKeepsReading: a topic naming another building than
// the map is counted and logged, and the reading is still taken: an
// installer placed the device, and a leak is not dropped over a label.
func TestLocationMismatchKeepsReading(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	var p placed
	p.add("1202-kitchen-gas", "GD-1", "3", jsonModel())
	d := p.driver(t, brokerConfig(mq, "gw-place", stateTopic), nil)
	rec := &mock.Recorder{}
	if err := d.Start(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	send(t, devicePublisher(t, mq, "dev-place"), "community/sunshine/building/5/gas/GD-1/state", `{"lel":40}`)
	rec.WaitFor(t, 10*time.Second, "the reading", func(r mock.Recorded) bool { return len(r.Readings) == 1 })
	if n := testenv.MetricValue(t, d, "shouwang_mqtt_bad_messages_total", "reason="+reasonLocation); n != 1 {
		t.Errorf("location mismatches counted: %v, want 1", n)
	}
}

// TestRefusedCredentials: a wrong password fails Start with the broker's
// reason, and Start may be called again (the gateway retries it).
func TestRefusedCredentials(t *testing.T) {
	leakcheck.Check(t)
	mq := testenv.StartMosquitto(t)
	var p placed
	p.add("gas", "GD-1", "3", jsonModel())
	c := brokerConfig(mq, "gw-refused", stateTopic)
	c.Password = "wrong"
	d := p.driver(t, c, nil)
	for range 2 {
		err := d.Start(t.Context(), &mock.Recorder{})
		if err == nil || !strings.Contains(err.Error(), "not Authorized") {
			t.Fatalf("Start with a wrong password: %v", err)
		}
	}
	d.Close()
}

// TestAcknowledgedOnlyWhenDurable: while the pipeline has not confirmed
// a batch durable, its messages stay unacknowledged; a gateway that stops
// then gets them again from its persistent session.
func TestAcknowledgedOnlyWhenDurable(t *testing.T) {
	leakcheck.Check(t)
	mq := testenv.StartMosquitto(t)
	var p placed
	p.add("gas", "GD-1", "3", jsonModel())
	cfg := brokerConfig(mq, "gw-durable", stateTopic)

	first := p.driver(t, cfg, nil)
	seen := make(chan shouwang.Batch, 16)
	stuck := &mock.Publisher{PublishFn: func(ctx context.Context, b shouwang.Batch) error {
		seen <- b
		<-ctx.Done() // the outbox never confirms (a disk that hangs, a power cut)
		return ctx.Err()
	}}
	if err := first.Start(t.Context(), stuck); err != nil {
		t.Fatal(err)
	}
	dev := devicePublisher(t, mq, "dev-durable")
	for i := range 5 {
		send(t, dev, "community/sunshine/building/3/gas/GD-1/state", fmt.Sprintf(`{"ts":%d,"lel":%d}`, 1790000000000+i, i))
	}
	<-seen // the first batch reached the pipeline and hangs there
	first.Close()

	second := p.driver(t, cfg, nil)
	rec := &mock.Recorder{}
	if err := second.Start(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	rec.WaitFor(t, 10*time.Second, "all 5 readings again", func(r mock.Recorded) bool {
		return len(distinct(r.Readings)) == 5
	})
}

// TestBrokerRestartMidStream restarts Mosquitto (SIGTERM: it saves the
// sessions) while a device publishes: every message arrives, and a
// message delivered twice arrives with the same timestamp, so the store
// keeps one point.
func TestBrokerRestartMidStream(t *testing.T) {
	leakcheck.Check(t)
	mq := testenv.StartMosquitto(t)
	var p placed
	p.add("gas", "GD-1", "3", jsonModel())
	d := p.driver(t, brokerConfig(mq, "gw-restart", stateTopic), nil)
	rec := &mock.Recorder{}
	if err := d.Start(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	dev := devicePublisher(t, mq, "dev-restart")
	const total = 3000
	done := make(chan error, 1)
	go func() {
		var err error
		for i := range total {
			tok := dev.Publish("community/sunshine/building/3/gas/GD-1/state", 1, false, fmt.Sprintf(`{"ts":%d,"lel":%d}`, 1790000000000+i, i))
			if i%200 == 199 { // keep a window in flight, like a device with a queue
				if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
					err = fmt.Errorf("message %d: %v", i, tok.Error())
					break
				}
			}
		}
		done <- err
	}()
	rec.WaitFor(t, 10*time.Second, "the stream to start", func(r mock.Recorded) bool { return len(r.Readings) >= 500 })
	mq.Restart(t)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rs := rec.WaitFor(t, 30*time.Second, "every message", func(r mock.Recorded) bool {
		return len(distinct(r.Readings)) == total
	}).Readings
	t.Logf("%d readings for %d messages (%d delivered again, each with its own timestamp)", len(rs), total, len(rs)-total)
	byTime := map[int64]float64{}
	for _, r := range rs {
		if v, ok := byTime[r.Time.UnixMilli()]; ok && v != r.Value {
			t.Fatalf("two values at %v: %v and %v", r.Time, v, r.Value)
		}
		byTime[r.Time.UnixMilli()] = r.Value
	}
}

// TestMalformedFlood: bad messages among good ones (not JSON, wrong
// types, missing fields, 1 MB of garbage) are counted per subscription and
// logged once per interval; every good message is read.
func TestMalformedFlood(t *testing.T) {
	leakcheck.Check(t)
	mq := testenv.StartMosquitto(t)
	var p placed
	p.add("gas", "GD-1", "3", jsonModel())
	logs := &logCounter{}
	d := p.driver(t, brokerConfig(mq, "gw-flood", stateTopic), slog.New(logs))
	rec := &mock.Recorder{}
	if err := d.Start(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	dev := devicePublisher(t, mq, "dev-flood")
	bad := [][]byte{[]byte("not json"), []byte(`{"lel":"high"}`), []byte(`{"temperature":3}`), []byte(`{"lel":`),
		bytes.Repeat([]byte{0xfe, '{'}, 1<<19)}
	const good = 500
	for i := range good {
		topic := "community/sunshine/building/3/gas/GD-1/state"
		dev.Publish(topic, 1, false, fmt.Sprintf(`{"ts":%d,"lel":%d}`, 1790000000000+i, i))
		dev.Publish(topic, 1, false, bad[i%len(bad)])
		if i%50 == 0 {
			dev.Publish("community/sunshine/building/3/gas/NOT-PLACED/state", 1, false, `{"lel":1}`)
		}
	}
	rec.WaitFor(t, 30*time.Second, "every good message", func(r mock.Recorded) bool {
		return len(distinct(r.Readings)) == good
	})
	// Everything sent before the last good message has been read.
	sub := "subscription=" + stateTopic.Topic
	for reason, want := range map[string]float64{reasonMalformed: 2 * good / 5, reasonBadValue: good / 5,
		reasonNoFields: good / 5, reasonTooLarge: good / 5, reasonUnknown: good / 50} {
		if n := testenv.MetricValue(t, d, "shouwang_mqtt_bad_messages_total", sub, "reason="+reason); n < want-1 || n > want {
			t.Errorf("%s: %v counted, want %v", reason, n, want)
		}
	}
	if n := logs.count("MQTT message not read"); n != 1 {
		t.Errorf("logged %d times within one interval, want once", n)
	}
	if !slices.ContainsFunc(rec.Readings(), func(r shouwang.Reading) bool { return r.Value == good-1 }) {
		t.Error("the last good message is missing")
	}
}

// distinct is the set of reading times (one per message).
func distinct(rs []shouwang.Reading) map[int64]bool {
	out := map[int64]bool{}
	for _, r := range rs {
		out[r.Time.UnixMilli()] = true
	}
	return out
}

// TestCloseDuringStart: a broker that accepts the connection and never
// answers holds Start in its connect; Close cancels it, and nothing is
// left running.
func TestCloseDuringStart(t *testing.T) {
	leakcheck.Check(t)
	addr, accepted := testenv.SilentServer(t)
	var p placed
	p.add("gas", "GD-1", "3", jsonModel())
	c := DefaultConfig()
	c.URL, c.ClientID = "tcp://"+addr, "gw-silent"
	c.Subscriptions = []Subscription{stateTopic}
	d := p.driver(t, c, nil)
	started := make(chan error, 1)
	go func() { started <- d.Start(context.Background(), &mock.Recorder{}) }()
	<-accepted
	d.Close()
	if err := <-started; err == nil {
		t.Fatal("Start succeeded against a broker that never answered")
	}
	if err := d.Start(context.Background(), &mock.Recorder{}); !errors.Is(err, shouwang.ErrStopped) {
		t.Fatalf("Start after Close: %v, want ErrStopped", err)
	}
}
