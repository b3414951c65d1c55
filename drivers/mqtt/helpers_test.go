package mqtt

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/mqttconn"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// brokerConfig is a driver section for mq's TLS listener, with its CA and
// password, as an installer would write it.
func brokerConfig(mq *testenv.Mosquitto, clientID string, subs ...Subscription) Config {
	c := DefaultConfig()
	c.Broker = mqttconn.Broker{URL: "ssl://" + mq.TLSAddr, ClientID: clientID, Username: mq.User,
		Password: shouwang.Secret(mq.Password), CA: mq.CAFile}
	c.Subscriptions = subs
	return c
}

func qos(q int) *int { return &q }

// placed is the test's building map: which device has which model.
type placed struct {
	devices []shouwang.Device
	models  map[string]shouwang.ModelConfig
}

func (p *placed) add(id, address, building string, m *Model) {
	if p.models == nil {
		p.models = map[string]shouwang.ModelConfig{}
	}
	profile := "profile-" + id
	p.models[profile] = m
	p.devices = append(p.devices, shouwang.Device{ID: id, Address: address, Profile: profile,
		Location: shouwang.Location{Building: building}})
}

// newDriver validates c and builds the driver the way the gateway does.
func (p *placed) driver(t *testing.T, c Config, logger *slog.Logger) *Driver {
	t.Helper()
	if err := c.Validate(p.devices, p.models); err != nil {
		t.Fatal(err)
	}
	d, err := c.NewDriver(shouwang.DriverEnv{Name: "wireless", Devices: p.devices, Models: p.models, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d.(*Driver)
}

// recorder is a Publisher that keeps every batch and tells waiters.
type recorder struct {
	mu       sync.Mutex
	readings []shouwang.Reading
	events   []shouwang.Event
	changed  chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1)} }

func (r *recorder) Publish(_ context.Context, b shouwang.Batch) error {
	r.mu.Lock()
	r.readings = append(r.readings, b.Readings...)
	r.events = append(r.events, b.Events...)
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
	return nil
}

// waitFor waits until cond holds over what was published, or fails.
func (r *recorder) waitFor(t *testing.T, timeout time.Duration, what string, cond func(rs []shouwang.Reading, es []shouwang.Event) bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		ok := cond(r.readings, r.events)
		n, m := len(r.readings), len(r.events)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s (%d readings, %d events so far)", what, n, m)
		}
	}
}

// devicePublisher is a device's client: its own persistent session, so
// what it publishes while the broker restarts is sent again.
func devicePublisher(t *testing.T, mq *testenv.Mosquitto, id string) paho.Client {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker("tcp://" + mq.Addr).SetClientID(id).SetUsername(mq.User).
		SetPassword(mq.Password).SetCleanSession(false).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(100 * time.Millisecond).SetMaxReconnectInterval(500 * time.Millisecond)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("device publisher: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// send publishes with QoS 1 and waits for the broker's acknowledgement.
func send(t *testing.T, c paho.Client, topic string, payload any) {
	t.Helper()
	sendQoS(t, c, 1, topic, payload)
}

func sendQoS(t *testing.T, c paho.Client, qos byte, topic string, payload any) {
	t.Helper()
	tok := c.Publish(topic, qos, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func metricValue(t *testing.T, c prometheus.Collector, name string, labels ...string) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 256)
	c.Collect(ch)
	close(ch)
	var sum float64
	for m := range ch {
		if !strings.Contains(m.Desc().String(), `"`+name+`"`) {
			continue
		}
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		if !hasLabels(&pb, labels) {
			continue
		}
		if pb.Counter != nil {
			sum += pb.GetCounter().GetValue()
		} else {
			sum += pb.GetGauge().GetValue()
		}
	}
	return sum
}

// hasLabels reports whether pb carries every name=value in labels.
func hasLabels(pb *dto.Metric, labels []string) bool {
	for _, want := range labels {
		found := false
		for _, l := range pb.GetLabel() {
			if fmt.Sprintf("%s=%s", l.GetName(), l.GetValue()) == want {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// logCounter is a slog handler that counts records by message.
type logCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (l *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = map[string]int{}
	}
	l.counts[r.Message]++
	return nil
}
func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCounter) WithGroup(string) slog.Handler      { return l }

func (l *logCounter) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[msg]
}
