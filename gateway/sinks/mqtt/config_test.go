package mqtt

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

func validConfig() Config {
	c := DefaultConfig()
	c.URL = "ssl://district-broker.example:8883"
	c.Username, c.Password = "sunshine", "hunter2"
	c.CA = "/etc/shouwang/district-ca.pem"
	return c
}

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if c.QoS != 1 || c.Timeout != 10*time.Second || c.Retain || c.MaxInflight != 1000 ||
		c.Topics.Readings != "shouwang/{gateway}/{building}/{device}/{point}" ||
		c.Topics.Events != "shouwang/{gateway}/{building}/{device}/events/{kind}" {
		t.Errorf("DefaultConfig() = %+v", c)
	}
	// The defaults alone say what is still missing, and nothing else.
	assertFieldErrors(t, c.Validate(), "broker")
	good := validConfig()
	if err := good.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		fields []string // the FieldErrors expected, in order
		says   string   // part of the message
	}{
		{"tcp is fine", func(c *Config) { c.URL = "tcp://127.0.0.1:1883"; c.CA = "" }, nil, ""},
		{"no credentials is fine", func(c *Config) { c.Username, c.Password = "", "" }, nil, ""},
		{"client certificate", func(c *Config) { c.Cert, c.Key = "/etc/gw.pem", "/etc/gw-key.pem" }, nil, ""},
		{"qos 0", func(c *Config) { c.QoS = 0 }, nil, ""},
		{"qos 2", func(c *Config) { c.QoS = 2; c.MaxInflight = 100 }, nil, ""},
		{"every placeholder", func(c *Config) {
			c.Topics.Readings = "x/{gateway}/{site}/{building}/{unit}/{floor}/{room}/{device}/{type}/{point}"
			c.Topics.Events = "x/{gateway}/{site}/{building}/{unit}/{floor}/{room}/{device}/{type}/{kind}"
		}, nil, ""},
		{"placeholder inside a level", func(c *Config) { c.Topics.Readings = "community/{site}-{building}/dev-{device}" }, nil, ""},
		{"a fixed topic", func(c *Config) { c.Topics.Events = "district/events" }, nil, ""},

		{"no broker", func(c *Config) { c.URL = "" }, []string{"broker"}, "is required"},
		{"broker with password", func(c *Config) { c.URL = "ssl://u:p@broker:8883" }, []string{"broker"}, "must not hold a user or password"},
		{"http broker", func(c *Config) { c.URL = "http://broker" }, []string{"broker"}, `scheme "http" is not supported`},
		{"password without user", func(c *Config) { c.Username = "" }, []string{"username"}, "is required when a password is set"},
		{"cert without key", func(c *Config) { c.Cert = "/etc/gw.pem" }, []string{"cert"}, "cert and key go together"},
		{"relative ca", func(c *Config) { c.CA = "certs/ca.pem" }, nil, ""}, // the gateway makes it relative to the config file
		{"no readings topic", func(c *Config) { c.Topics.Readings = "" }, []string{"topics.readings"}, "is required (e.g. shouwang/{gateway}/{building}/{device}/{point})"},
		{"no events topic", func(c *Config) { c.Topics.Events = "" }, []string{"topics.events"}, "is required (e.g. shouwang/{gateway}/{building}/{device}/events/{kind})"},
		{"plus", func(c *Config) { c.Topics.Readings = "shouwang/+/{point}" }, []string{"topics.readings"}, "holds a wildcard (+ or #)"},
		{"hash", func(c *Config) { c.Topics.Events = "shouwang/#" }, []string{"topics.events"}, "holds a wildcard"},
		{"$SYS", func(c *Config) { c.Topics.Readings = "$SYS/{device}" }, []string{"topics.readings"}, "starts with $"},
		{"leading slash", func(c *Config) { c.Topics.Readings = "/shouwang/{device}" }, []string{"topics.readings"}, "has an empty level"},
		{"double slash", func(c *Config) { c.Topics.Readings = "shouwang//{device}" }, []string{"topics.readings"}, "has an empty level"},
		{"trailing slash", func(c *Config) { c.Topics.Events = "shouwang/{kind}/" }, []string{"topics.events"}, "has an empty level"},
		{"control character", func(c *Config) { c.Topics.Readings = "shouwang/\t{device}" }, []string{"topics.readings"}, "control character"},
		{"unknown placeholder", func(c *Config) { c.Topics.Readings = "shouwang/{gw}/{device}" }, []string{"topics.readings"},
			"has an unknown placeholder {gw} (valid: {gateway} {site} {building} {unit} {floor} {room} {device} {type} {point})"},
		{"kind in readings", func(c *Config) { c.Topics.Readings = "shouwang/{device}/{kind}" }, []string{"topics.readings"}, "unknown placeholder {kind}"},
		{"point in events", func(c *Config) { c.Topics.Events = "shouwang/{device}/{point}" }, []string{"topics.events"},
			"unknown placeholder {point} (valid: {gateway} {site} {building} {unit} {floor} {room} {device} {type} {kind})"},
		{"unclosed", func(c *Config) { c.Topics.Readings = "shouwang/{device" }, []string{"topics.readings"}, "has a { without its }"},
		{"unopened", func(c *Config) { c.Topics.Readings = "shouwang/device}" }, []string{"topics.readings"}, "has a } without its {"},
		{"empty placeholder", func(c *Config) { c.Topics.Readings = "shouwang/{}" }, []string{"topics.readings"}, "unknown placeholder {}"},
		{"qos 3", func(c *Config) { c.QoS = 3 }, []string{"qos"}, "3 is not a QoS level (valid: 1, the default; 0, which can lose messages; or 2)"},
		{"qos -1", func(c *Config) { c.QoS = -1 }, []string{"qos"}, "is not a QoS level"},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, []string{"timeout"}, "want a positive duration"},
		{"no inflight", func(c *Config) { c.MaxInflight = 0 }, []string{"max_inflight"}, "0 is out of range (want 1 to 60000"},
		{"too much inflight", func(c *Config) { c.MaxInflight = 70000 }, []string{"max_inflight"}, "out of range"},
		{"everything wrong", func(c *Config) {
			*c = Config{Broker: c.Broker, QoS: 7}
			c.URL, c.Cert = "", "gw.pem"
		}, []string{"broker", "cert", "topics.readings", "topics.events", "qos", "timeout", "max_inflight"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.modify(&c)
			err := c.Validate()
			assertFieldErrors(t, err, tc.fields...)
			if err != nil && !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func assertFieldErrors(t *testing.T, err error, fields ...string) {
	t.Helper()
	var fe shouwang.FieldErrors
	errors.As(err, &fe)
	if got := fe.Fields(); !slices.Equal(got, fields) || err != nil && fe == nil {
		t.Errorf("fields %v, want %v (error: %v)", got, fields, err)
	}
}

func TestNewSink(t *testing.T) {
	bad := DefaultConfig()
	_, err := bad.NewSink(shouwang.SinkEnv{Name: "district"})
	var fe shouwang.FieldErrors
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), `mqtt sink "district": invalid configuration`) {
		t.Errorf("NewSink on a bad config: %v", err)
	}
	// Building opens nothing and reads no file: neither the broker nor
	// the CA need exist.
	good := validConfig()
	good.URL = "ssl://127.0.0.1:1"
	good.CA = "/nonexistent/ca.pem"
	s, err := good.NewSink(shouwang.SinkEnv{Name: "district"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The config never prints its password.
	if strings.Contains(fmt.Sprintf("%v %+v", good, good), "hunter2") {
		t.Error("config prints its password")
	}
}

func TestClientID(t *testing.T) {
	for _, tc := range []struct {
		set, gateway, want string
	}{
		{"", "sunshine-garden", "shouwang-sunshine-garden-district"},
		{"", "", "shouwang-district"},
		{"district-gw-0042", "sunshine-garden", "district-gw-0042"},
	} {
		c := validConfig()
		c.ClientID = tc.set
		env := shouwang.SinkEnv{Name: "district", Gateway: tc.gateway}
		if got := c.clientID(env); got != tc.want {
			t.Errorf("client id %q on gateway %q = %q, want %q", tc.set, tc.gateway, got, tc.want)
		}
	}
}
