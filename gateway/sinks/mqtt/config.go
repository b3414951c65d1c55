package mqtt

import (
	"fmt"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/mqttconn"
)

// The default topic templates.
const (
	defaultReadings = "shouwang/{gateway}/{building}/{device}/{point}"
	defaultEvents   = "shouwang/{gateway}/{building}/{device}/events/{kind}"
)

// Config is the sink's section of the config file.
type Config struct {
	// Broker is the district broker and how to log in to it: broker
	// (ssl://host:8883), client_id, username, password, ca, cert, key.
	// An external broker is required. The gateway fills in ClientID,
	// when it is empty, as "shouwang-<gateway name>-<sink name>" (the
	// same across restarts, as the persistent session needs), and makes
	// the certificate files relative to the config file.
	mqttconn.Broker `yaml:",inline"`
	// Topics are where readings and events are published.
	Topics Topics `yaml:"topics"`
	// QoS is the MQTT quality of service of every message. 1 (the
	// default): Write returns nil only once the broker has acknowledged
	// every message. 0: nothing is acknowledged, so what is in flight when
	// the connection drops is lost. 2: acknowledged in two round trips.
	QoS int `yaml:"qos"`
	// Timeout bounds the connection (TCP, TLS and MQTT handshake) and the
	// wait for the broker's next acknowledgement: a Write fails when the
	// broker acknowledges nothing for this long.
	Timeout time.Duration `yaml:"timeout"`
	// Retain publishes every message retained. Leave it off: each reading
	// would replace the one before on its topic, at every broker restart.
	Retain bool `yaml:"retain"`
	// MaxInflight is how many messages are published ahead of the
	// broker's acknowledgements. With qos 2 it must not exceed what the
	// broker keeps awaiting release (EMQX max_awaiting_rel, 100 by
	// default).
	MaxInflight int `yaml:"max_inflight"`
}

// Topics are topic templates. Placeholders name the message's device and
// where it is; see the README for the list.
type Topics struct {
	Readings string `yaml:"readings"`
	Events   string `yaml:"events"`
}

// MQTTBroker lets the gateway fill in the client id and the certificate
// files' paths, and check the client id is not another client's.
func (c *Config) MQTTBroker() *mqttconn.Broker { return &c.Broker }

// DefaultConfig is the one place the sink's defaults live.
func DefaultConfig() Config {
	return Config{
		Topics:      Topics{Readings: defaultReadings, Events: defaultEvents},
		QoS:         1,
		Timeout:     10 * time.Second,
		MaxInflight: 1000,
	}
}

// Validate reports every problem with the config as shouwang.FieldErrors.
// It does no I/O: the certificate files are read at each connect.
func (c *Config) Validate() error {
	var fe shouwang.FieldErrors
	c.Broker.Validate(&fe, false)
	if _, problem := parseTemplate(c.Topics.Readings, readingNames, defaultReadings); problem != "" {
		fe.Add("topics.readings", "%s", problem)
	}
	if _, problem := parseTemplate(c.Topics.Events, eventNames, defaultEvents); problem != "" {
		fe.Add("topics.events", "%s", problem)
	}
	if c.QoS < 0 || c.QoS > 2 {
		fe.Add("qos", "%d is not a QoS level (valid: 1, the default; 0, which can lose messages; or 2)", c.QoS)
	}
	if c.Timeout <= 0 {
		fe.Add("timeout", "is %v (want a positive duration, e.g. 10s)", c.Timeout)
	}
	if c.MaxInflight < 1 || c.MaxInflight > maxInflight {
		fe.Add("max_inflight", "%d is out of range (want 1 to %d, e.g. 1000; at most the broker's max_awaiting_rel with qos 2)", c.MaxInflight, maxInflight)
	}
	return fe.Err()
}

// maxInflight leaves paho a tenth of the 16-bit packet ids for the rest.
const maxInflight = 60000

// NewSink builds the sink. It opens nothing and reads no file: the first
// Write connects. It returns the config's FieldErrors if the config is
// invalid.
func (c *Config) NewSink(env shouwang.SinkEnv) (shouwang.Sink, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("mqtt sink %q: invalid configuration: %w", env.Name, err)
	}
	return newSink(*c, env), nil
}

// clientID is the client id, or, for a config that did not come through
// the gateway's loader, the default the loader would have filled in.
func (c *Config) clientID(env shouwang.SinkEnv) string {
	if c.ClientID != "" {
		return c.ClientID
	}
	if env.Gateway == "" {
		return "shouwang-" + env.Name
	}
	return "shouwang-" + env.Gateway + "-" + env.Name
}

var (
	_ shouwang.SinkConfig = (*Config)(nil)
	_ mqttconn.Client     = (*Config)(nil)
	_ shouwang.Sink       = (*Sink)(nil)
)
