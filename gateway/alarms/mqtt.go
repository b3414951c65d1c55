package alarms

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/mqttconn"
	"github.com/shouwang-iot/shouwang/rules"
)

// MQTTConfig is one entry of the config's notify.mqtt list.
type MQTTConfig struct {
	Name string `yaml:"name"`
	// Broker is where to publish; left out, the gateway's embedded
	// broker. The gateway fills in a ClientID of
	// "shouwang-<gateway name>-<name>" when it is empty.
	mqttconn.Broker `yaml:",inline"`
	// TopicPrefix starts every topic: <prefix>/alarms/<id>/<kind> for each
	// transition, <prefix>/devices/<device>/alarm (retained) for each
	// device's open alarms. The gateway fills in "shouwang/<gateway name>"
	// when empty.
	TopicPrefix string `yaml:"topic_prefix"`
	// Timeout bounds the wait for the broker's acknowledgement of one
	// message; past it the message is offered again.
	Timeout time.Duration `yaml:"timeout"`
	Route   Route         `yaml:"route"`
}

// MQTTBroker lets the gateway fill in the embedded broker.
func (c *MQTTConfig) MQTTBroker() *mqttconn.Broker { return &c.Broker }

// DefaultMQTTConfig is the one place the MQTT notifier's defaults live.
func DefaultMQTTConfig() MQTTConfig { return MQTTConfig{Timeout: 10 * time.Second} }

// Validate reports every problem as FieldErrors. It does no I/O.
func (c *MQTTConfig) Validate() error {
	var fe shouwang.FieldErrors
	c.Broker.Validate(&fe, true)
	if strings.ContainsAny(c.TopicPrefix, "+#") || strings.HasSuffix(c.TopicPrefix, "/") {
		fe.Add("topic_prefix", "%q may not hold wildcards (+, #) or end in / (e.g. shouwang/sunshine)", c.TopicPrefix)
	}
	if c.Timeout <= 0 {
		fe.Add("timeout", "is %v (want a positive duration, e.g. 10s)", c.Timeout)
	}
	c.Route.validate(&fe)
	return fe.Err()
}

// MQTT publishes each transition with QoS 1 on its event topic and keeps
// a retained topic per device with the device's open alarms, so a console
// that subscribes late still sees what is open. The client reconnects by
// itself; a message not acknowledged before the connection drops or the
// timeout runs out is offered again (consumers drop duplicates by alarm
// and seq).
type MQTT struct {
	cfg    MQTTConfig
	client paho.Client
	logger *slog.Logger

	connMu sync.Mutex
	up     chan struct{} // closed while connected
	down   chan struct{} // closed while not
	start  sync.Once

	// open holds each device's open alarms by id, and dirty the devices
	// whose retained state has not been published since it changed.
	stateMu sync.Mutex
	open    map[string]map[uint64]Message
	dirty   map[string]bool
}

// NewMQTT builds the notifier; it connects on first use.
func NewMQTT(c MQTTConfig, logger *slog.Logger) (*MQTT, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	down := make(chan struct{})
	close(down)
	n := &MQTT{cfg: c, logger: logger.With("broker", c.URL), up: make(chan struct{}), down: down,
		open: map[string]map[uint64]Message{}, dirty: map[string]bool{}}
	opts, err := c.Options()
	if err != nil {
		return nil, err
	}
	// The journal, not paho's store or the broker's session, keeps what
	// was not acknowledged.
	opts.SetCleanSession(true).SetStore(mqttconn.NoStore{}).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(10 * time.Second).
		SetConnectTimeout(c.Timeout).SetWriteTimeout(c.Timeout).SetKeepAlive(30 * time.Second).
		SetOnConnectHandler(func(paho.Client) { n.setUp(true); n.republish() }).
		SetConnectionLostHandler(func(_ paho.Client, err error) { n.setUp(false); n.logger.Warn("MQTT connection lost", "err", err) })
	n.client = paho.NewClient(opts)
	return n, nil
}

func (n *MQTT) setUp(up bool) {
	n.connMu.Lock()
	defer n.connMu.Unlock()
	if !up && n.client.IsConnectionOpen() {
		// paho runs the two handlers in goroutines of their own: a late
		// "lost" after the reconnect must not mark a live connection down.
		return
	}
	select {
	case <-n.up:
		if !up {
			n.up = make(chan struct{})
			close(n.down)
		}
	default:
		if up {
			close(n.up)
			n.down = make(chan struct{})
			n.logger.Info("MQTT connected")
		}
	}
}

// connected waits until the client is connected, or ctx ends, and returns
// a channel closed when the connection is lost. The first call starts the
// connection; paho keeps retrying it in the background.
func (n *MQTT) connected(ctx context.Context) (down <-chan struct{}, err error) {
	n.start.Do(func() { n.client.Connect() })
	n.connMu.Lock()
	up := n.up
	n.connMu.Unlock()
	select {
	case <-up:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	n.connMu.Lock()
	defer n.connMu.Unlock()
	return n.down, nil
}

// republish marks every device with open alarms for its retained state
// to go out again with the next message: a broker that restarted without
// persistence has lost them.
func (n *MQTT) republish() {
	n.stateMu.Lock()
	defer n.stateMu.Unlock()
	for dev := range n.open {
		n.dirty[dev] = true
	}
}

// Seed takes the open alarms; their devices' retained state is published
// with the next message.
func (n *MQTT) Seed(_ context.Context, open []Message) error {
	n.stateMu.Lock()
	defer n.stateMu.Unlock()
	for _, m := range open {
		n.track(m)
	}
	return nil
}

// track records m in its device's open alarms; an older message of the
// same alarm (a replay after restart) changes nothing. Called with
// stateMu held.
func (n *MQTT) track(m Message) {
	dev := n.open[m.Device]
	if dev == nil {
		dev = map[uint64]Message{}
		n.open[m.Device] = dev
	}
	if old, ok := dev[m.AlarmID]; ok && old.Seq >= m.Seq {
		return
	}
	if m.Kind == rules.KindClosed {
		delete(dev, m.AlarmID)
	} else {
		dev[m.AlarmID] = m
	}
	n.dirty[m.Device] = true
}

// DeviceAlarmState is the retained payload of <prefix>/devices/<id>/alarm.
type DeviceAlarmState struct {
	Device string    `json:"device"`
	Time   time.Time `json:"time"`
	// Severity is the highest of the open alarms, or "normal" with none.
	Severity string    `json:"severity"`
	Alarms   []Message `json:"alarms"`
}

// Notify publishes m on its event topic, then the retained state of every
// device that changed, each after the broker acknowledged the one before:
// with two acknowledgements outstanding a broker without TCP_NODELAY
// (Mosquitto's default) holds the second back until the gateway's delayed
// ACK, 40 ms on Linux.
func (n *MQTT) Notify(ctx context.Context, m Message) error {
	down, err := n.connected(ctx)
	if err != nil {
		return err
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	states, err := n.states(m)
	if err != nil {
		return err
	}
	err = n.publish(ctx, down, n.eventTopic(m.AlarmID, m.Kind), false, body)
	for dev, body := range states {
		if err == nil {
			err = n.publish(ctx, down, n.stateTopic(dev), true, body)
		}
		if err == nil {
			delete(states, dev)
		}
	}
	if err != nil {
		n.stateMu.Lock()
		for dev := range states {
			n.dirty[dev] = true
		}
		n.stateMu.Unlock()
	}
	return err
}

// states records m and returns the retained payloads due, clearing them
// from dirty.
func (n *MQTT) states(m Message) (map[string][]byte, error) {
	n.stateMu.Lock()
	defer n.stateMu.Unlock()
	n.track(m)
	out := map[string][]byte{}
	for dev := range n.dirty {
		s := DeviceAlarmState{Device: dev, Time: m.Time, Severity: "normal", Alarms: []Message{}}
		var worst shouwang.Severity
		for _, a := range n.open[dev] {
			s.Alarms = append(s.Alarms, a)
			worst = max(worst, a.Severity)
		}
		if len(s.Alarms) > 0 {
			s.Severity = worst.String()
		} else {
			delete(n.open, dev)
		}
		slices.SortFunc(s.Alarms, func(a, b Message) int { return cmp.Compare(a.AlarmID, b.AlarmID) })
		body, err := json.Marshal(s)
		if err != nil {
			return nil, err
		}
		out[dev] = body
		delete(n.dirty, dev)
	}
	return out, nil
}

// publish sends one message with QoS 1 and waits for the broker's
// acknowledgement.
func (n *MQTT) publish(ctx context.Context, down <-chan struct{}, topic string, retained bool, body []byte) error {
	t := n.client.Publish(topic, 1, retained, body)
	timer := time.NewTimer(n.cfg.Timeout)
	defer timer.Stop()
	select {
	case <-t.Done():
		return t.Error()
	case <-down:
		return errors.New("connection lost before the broker acknowledged")
	case <-timer.C:
		return errors.New("no acknowledgement from the broker within the timeout")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// eventTopic is where one transition is published.
func (n *MQTT) eventTopic(id uint64, kind rules.TransitionKind) string {
	return fmt.Sprintf("%s/alarms/%d/%s", n.cfg.TopicPrefix, id, kind)
}

// stateTopic is the retained topic of a device's open alarms.
func (n *MQTT) stateTopic(device string) string {
	return n.cfg.TopicPrefix + "/devices/" + device + "/alarm"
}

// Close disconnects, giving in-flight messages a moment.
func (n *MQTT) Close() error {
	n.client.Disconnect(250)
	return nil
}
