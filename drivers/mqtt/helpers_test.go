package mqtt

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
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
