// Package camera is the driver for throw-from-height (高空抛物) cameras:
// cameras at the foot of a building that watch its façade and report a
// falling object. It takes their events over HTTP (the host a camera
// pushes alarms to) and over MQTT, reads each through its model's profile,
// traces the object back to its floor and window through the camera's
// calibration, merges what two cameras saw of one throw into one
// incident, links repeated throws from one window, keeps posted images as
// evidence on disk, and reports each incident as an object_thrown event
// placed at that floor and window.
package camera

import (
	_ "embed"
	"fmt"
	"net"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/camera/facade"
	"github.com/shouwang-iot/shouwang/drivers/camera/report"
	"github.com/shouwang-iot/shouwang/internal/mqttconn"
)

// Sample is the driver's sample config section, shown in README.md.
//
//go:embed sample.yaml
var Sample []byte

// SampleDevices places the cameras Sample names: a camera's section holds
// its calibration, so the sample is read with these devices.
//
//go:embed sample_devices.yaml
var SampleDevices []byte

// Config is a camera driver's section. Devices are placed on it by their
// address: the id in the URL a camera posts to (/events/<address>), in
// its MQTT topic's {device} capture, or in its event document.
type Config struct {
	// Listen is the HTTP address cameras post events to, e.g.
	// 0.0.0.0:8090; empty takes none over HTTP.
	Listen string `yaml:"listen"`
	// MaxBody is the largest event body taken, images included; a larger
	// one is answered 413. Default 8MiB.
	MaxBody shouwang.ByteSize `yaml:"max_body"`
	// MQTT, if set, subscribes to camera events at a broker (left out
	// there, the gateway's embedded one).
	MQTT *MQTT `yaml:"mqtt"`
	// Cameras holds each camera's token and calibration, by device id.
	Cameras map[string]*Camera `yaml:"cameras"`
	// MergeWindow is how close in time two cameras' reports of one
	// building must be to be one throw. Default 5s.
	MergeWindow time.Duration `yaml:"merge_window"`
	// LinkWindow is how long a throw from a window links to the earlier
	// ones from it. Default 24h.
	LinkWindow time.Duration `yaml:"link_window"`
	// EvidenceQuota bounds the images kept on disk; the oldest go first.
	// Default 1GiB.
	EvidenceQuota shouwang.ByteSize `yaml:"evidence_quota"`
}

// MQTT is where camera events are subscribed to.
type MQTT struct {
	mqttconn.Broker `yaml:",inline"`
	// Topic is a filter whose {device} capture is the camera's address,
	// e.g. cameras/{device}/events.
	Topic string `yaml:"topic"`
	// QoS is 1 (default) or 2: an event is acknowledged once durable.
	QoS            int           `yaml:"qos"`
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	KeepAlive      time.Duration `yaml:"keep_alive"`

	pattern mqttconn.TopicPattern
}

// Camera is one camera's own settings.
type Camera struct {
	// Token authenticates the camera's HTTP posts: as a bearer token, as
	// the password of basic auth (any user name), or as ?token=.
	Token shouwang.Secret `yaml:"token"`
	// Calibration ties the camera's image to the façade it watches.
	Calibration facade.Calibration `yaml:"calibration"`
}

// DefaultConfig returns the defaults the config file is decoded over.
func DefaultConfig() Config {
	return Config{MaxBody: 8 << 20, MergeWindow: 5 * time.Second, LinkWindow: 24 * time.Hour, EvidenceQuota: 1 << 30}
}

// MQTTBroker lets the gateway fill in the embedded broker and client id;
// nil when the driver takes no MQTT.
func (c *Config) MQTTBroker() *mqttconn.Broker {
	if c.MQTT == nil {
		return nil
	}
	return &c.MQTT.Broker
}

// Validate reports every problem with the section and its devices.
func (c *Config) Validate(devices []shouwang.Device, models map[string]shouwang.ModelConfig) error {
	var fe shouwang.FieldErrors
	if c.Listen == "" && c.MQTT == nil {
		fe.Add("listen", "is empty and there is no mqtt section: the driver would hear no camera (e.g. listen: 0.0.0.0:8090)")
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			fe.Add("listen", "%q is not host:port (e.g. 0.0.0.0:8090)", c.Listen)
		}
	}
	if m := c.MQTT; m != nil {
		before := len(fe)
		m.Broker.Validate(&fe, true)
		for _, e := range fe[before:] {
			e.Field = "mqtt." + e.Field
		}
		var err error
		switch m.pattern, err = mqttconn.ParseTopicPattern(m.Topic); {
		case err != nil:
			fe.Add("mqtt.topic", "%v", err)
		case len(m.pattern.Names()) != 1 || m.pattern.Names()[0] != "device":
			fe.Add("mqtt.topic", "%q must capture the camera's address as {device} and nothing else (e.g. cameras/{device}/events)", m.Topic)
		}
		if m.QoS == 0 {
			m.QoS = 1
		}
		if m.QoS != 1 && m.QoS != 2 {
			fe.Add("mqtt.qos", "%d is not taken (valid: 1, 2; a throw is not sent at most once)", m.QoS)
		}
		if m.ConnectTimeout == 0 {
			m.ConnectTimeout = 10 * time.Second
		}
		if m.KeepAlive == 0 {
			m.KeepAlive = 30 * time.Second
		}
	}
	if c.MaxBody < 1<<10 || c.MaxBody > 64<<20 {
		fe.Add("max_body", "%v is out of range (valid: 1KiB to 64MiB, e.g. 8MiB)", c.MaxBody)
	}
	if c.MergeWindow < 0 || c.MergeWindow > time.Minute {
		fe.Add("merge_window", "%v is out of range (valid: 0 to 1m, e.g. 5s)", c.MergeWindow)
	}
	if c.LinkWindow < time.Minute || c.LinkWindow > 30*24*time.Hour {
		fe.Add("link_window", "%v is out of range (valid: 1m to 720h, e.g. 24h)", c.LinkWindow)
	}
	if c.EvidenceQuota < 1<<20 {
		fe.Add("evidence_quota", "%v is too small (want 1MiB or more, e.g. 1GiB)", c.EvidenceQuota)
	}
	placed := map[string]bool{}
	addrs := map[string]string{}
	for _, d := range devices {
		placed[d.ID] = true
		at := fmt.Sprintf("devices[%q]", d.ID)
		if other, dup := addrs[d.Key()]; dup {
			fe.Add(at+".address", "%q is also device %s's address on this driver", d.Key(), other)
		}
		addrs[d.Key()] = d.ID
		cam := c.Cameras[d.ID]
		if cam == nil {
			fe.Add(fmt.Sprintf("cameras[%q]", d.ID), "is missing: every camera needs its calibration (shouwang camera calibrate checks one)")
			continue
		}
		if c.Listen != "" && cam.Token == "" {
			fe.Add(fmt.Sprintf("cameras[%q].token", d.ID), "is empty: a camera posting over HTTP must authenticate (a long random string)")
		}
		cam.Calibration.Validate(&fe, fmt.Sprintf("cameras[%q].calibration", d.ID))
	}
	for id := range c.Cameras {
		if !placed[id] {
			fe.Add(fmt.Sprintf("cameras[%q]", id), "names no device placed on this driver")
		}
	}
	return fe.Err()
}

// NewDriver builds the driver; it listens and subscribes in Start.
func (c *Config) NewDriver(env shouwang.DriverEnv) (shouwang.Driver, error) {
	return newDriver(*c, env), nil
}

// model is the camera section of a device's profile.
func model(models map[string]shouwang.ModelConfig, d shouwang.Device) *report.Model {
	m, _ := models[d.Profile].(*report.Model)
	return m
}
