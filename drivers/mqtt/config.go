// Package mqtt is the driver for devices that publish over MQTT: wireless
// smoke and gas alarms, NB-IoT bridges, cameras. It subscribes with a
// persistent session, reads each message through its device's profile
// (the profile's "mqtt:" section), and acknowledges a QoS 1/2 message to
// the broker only once what it said is durable in the outbox.
package mqtt

import (
	_ "embed"
	"fmt"
	"slices"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/mqttconn"
	"github.com/shouwang-iot/shouwang/internal/placeholder"
)

// Sample is the driver's sample config section, shown in README.md.
//
//go:embed sample.yaml
var Sample []byte

// Config is an mqtt driver's section of the config file: one broker
// connection and what it subscribes to. Devices are placed on it with
// their address: the value the subscription's device template gives.
type Config struct {
	// Broker is the broker to subscribe at; left out, the gateway's
	// embedded broker. The gateway fills in a ClientID of
	// "shouwang-<gateway name>-<driver name>" when empty; it names the
	// persistent session, so keep it stable.
	mqttconn.Broker `yaml:",inline"`
	Subscriptions   []Subscription `yaml:"subscriptions"`
	// MaxPayload is the largest message read; a larger one is counted as
	// bad (too_large) and dropped. Default 64KiB.
	MaxPayload shouwang.ByteSize `yaml:"max_payload"`
	// MaxBatch is the most messages committed to the outbox (and
	// acknowledged) at once. Default 2048; the broker's in-flight window
	// (Mosquitto's max_inflight_messages, default 20) bounds it too.
	MaxBatch int `yaml:"max_batch"`
	// BadLogInterval is how often bad messages of one subscription are
	// logged, with a sample of one. Default 1m.
	BadLogInterval time.Duration `yaml:"bad_log_interval"`
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	KeepAlive      time.Duration `yaml:"keep_alive"`
}

// Subscription is one topic pattern and how its topics name a device.
type Subscription struct {
	// Topic is a filter with named captures, e.g.
	// "community/{community}/building/{building}/+/{device}/state".
	// Captures named building, unit, floor or room are checked against
	// the device's place in the map; {point} names the point of a
	// number payload.
	Topic string `yaml:"topic"`
	// QoS is 0, 1 (default) or 2.
	QoS *int `yaml:"qos"`
	// Device builds the device address from captures; default "{device}".
	// "{building}-{device}" tells apart devices numbered per building.
	Device string `yaml:"device"`

	pattern mqttconn.TopicPattern
	device  placeholder.Template
}

// DefaultConfig returns the defaults the config file is decoded over.
func DefaultConfig() Config {
	return Config{MaxPayload: 64 << 10, MaxBatch: 2048, BadLogInterval: time.Minute,
		ConnectTimeout: 10 * time.Second, KeepAlive: 30 * time.Second}
}

// MQTTBroker lets the gateway fill in the embedded broker and client id.
func (c *Config) MQTTBroker() *mqttconn.Broker { return &c.Broker }

// Validate reports every problem with the section and its devices.
//
// Every device's profile has an mqtt section (the gateway checks that
// before, and hands them over as models).
func (c *Config) Validate(devices []shouwang.Device, models map[string]shouwang.ModelConfig) error {
	var fe shouwang.FieldErrors
	c.Broker.Validate(&fe, true)
	if len(c.Subscriptions) == 0 {
		fe.Add("subscriptions", "is empty (want at least one topic, e.g. - topic: sensors/{device}/state)")
	}
	filters := map[string]int{}
	for i := range c.Subscriptions {
		s := &c.Subscriptions[i]
		at := fmt.Sprintf("subscriptions[%d]", i)
		var err error
		if s.pattern, err = mqttconn.ParseTopicPattern(s.Topic); err != nil {
			fe.Add(at+".topic", "%v", err)
			continue
		}
		if j, dup := filters[s.pattern.Filter()]; dup {
			fe.Add(at+".topic", "subscribes to %s like subscriptions[%d] (a message would be read once, by the first)", s.pattern.Filter(), j)
		}
		filters[s.pattern.Filter()] = i
		if s.QoS != nil && (*s.QoS < 0 || *s.QoS > 2) {
			fe.Add(at+".qos", "%d is not a QoS (valid: 0, 1, 2)", *s.QoS)
		}
		if s.Device == "" {
			s.Device = "{device}"
		}
		switch s.device, err = placeholder.Parse(s.Device, s.pattern.Names()); {
		case err != nil:
			fe.Add(at+".device", "%v; a device template uses the topic's captures", err)
		case !s.device.HasPlaceholder():
			fe.Add(at+".device", "%q uses no capture, so every topic would name one device (e.g. {device})", s.Device)
		}
	}
	// gjson checks JSON recursively: 8 MiB of "[" overflows the stack.
	if c.MaxPayload < 16 || c.MaxPayload > 1<<20 {
		fe.Add("max_payload", "%v is out of range (valid: 16B to 1MiB, e.g. 64KiB)", c.MaxPayload)
	}
	if c.MaxBatch < 1 || c.MaxBatch > 65535 {
		fe.Add("max_batch", "%d is out of range (valid: 1 to 65535, e.g. 2048)", c.MaxBatch)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"bad_log_interval", c.BadLogInterval}, {"connect_timeout", c.ConnectTimeout}, {"keep_alive", c.KeepAlive}} {
		if d.v < time.Second {
			fe.Add(d.name, "%v is too short (want 1s or more)", d.v)
		}
	}
	pointCapture := slices.ContainsFunc(c.Subscriptions, func(s Subscription) bool {
		return slices.Contains(s.pattern.Names(), "point")
	})
	seen := map[string]string{}
	for _, d := range devices {
		if m, ok := models[d.Profile].(*Model); ok && m.Format == FormatNumber && len(m.Points) > 1 && !pointCapture {
			fe.Add(fmt.Sprintf("devices[%q].profile", d.ID), "profile %q sends one number per topic for %d points, told apart by a {point} capture, which no subscription has (e.g. sensors/{device}/{point})", d.Profile, len(m.Points))
		}
		key := d.Key()
		if other, dup := seen[key]; dup {
			fe.Add(fmt.Sprintf("devices[%q].address", d.ID), "%q is also device %s's address on this driver", key, other)
		}
		seen[key] = d.ID
	}
	return fe.Err()
}

// NewDriver builds the driver; it connects in Start.
func (c *Config) NewDriver(env shouwang.DriverEnv) (shouwang.Driver, error) {
	return newDriver(*c, env), nil
}
