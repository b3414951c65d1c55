package mqtt

import (
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang"
)

func TestConfigValidate(t *testing.T) {
	var p placed
	p.add("gas", "GD-1", "3", jsonModel())
	p.add("multi", "N-1", "3", numberModel()) // two points, one number per topic
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // a problem's text, or "" for valid
	}{
		{"valid", func(c *Config) {}, ""},
		{"number model needs {point}", func(c *Config) { c.Subscriptions = c.Subscriptions[:1] }, `devices["multi"].profile: profile "profile-multi" sends one number per topic for 2 points`},
		{"no subscriptions", func(c *Config) { c.Subscriptions = nil }, "subscriptions: is empty"},
		{"template without capture", func(c *Config) { c.Subscriptions[0].Device = "fixed" }, "uses no capture"},
		{"template unclosed", func(c *Config) { c.Subscriptions[0].Device = "{device" }, "a { without its }"},
		{"template unknown capture", func(c *Config) { c.Subscriptions[0].Device = "{room}-{device}" }, "unknown placeholder {room} (valid: {device})"},
		{"shared subscription", func(c *Config) { c.Subscriptions[0].Topic = "$share/g/sensors/{device}" }, "shared subscriptions are not supported"},
		{"qos", func(c *Config) { c.Subscriptions[0].QoS = qos(-1) }, "qos: -1 is not a QoS"},
		{"max_batch", func(c *Config) { c.MaxBatch = 0 }, "max_batch: 0 is out of range"},
		{"keep_alive", func(c *Config) { c.KeepAlive = 0 }, "keep_alive: 0s is too short"},
		{"embedded with credentials", func(c *Config) { c.Username = "u" }, "is empty, which means the embedded broker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Subscriptions = []Subscription{{Topic: "sensors/{device}/state"}, {Topic: "sensors/{device}/{point}"}}
			tc.edit(&c)
			err := c.Validate(p.devices, p.models)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("valid config refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	dup := append([]shouwang.Device{}, p.devices...)
	dup = append(dup, shouwang.Device{ID: "other", Address: "GD-1", Profile: "profile-gas"})
	c := DefaultConfig()
	c.Subscriptions = []Subscription{{Topic: "sensors/{device}/{point}"}}
	if err := c.Validate(dup, p.models); err == nil || !strings.Contains(err.Error(), `devices["other"].address: "GD-1" is also device gas's address`) {
		t.Errorf("duplicate address: %v", err)
	}
}
