package serial

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

func TestValidate(t *testing.T) {
	base := func() Config { return gbtConfig("/dev/ttyUSB0") }
	cases := []struct {
		name    string
		edit    func(c *Config)
		devices []shouwang.Device
		want    []string // fields named, in order
		say     string   // a word the first problem says
	}{
		{"valid", func(*Config) {}, building3, nil, ""},
		{"no port", func(c *Config) { c.Port = "" }, nil, []string{"port"}, "listen"},
		{"port and listen", func(c *Config) { c.Listen = ":9000" }, nil, []string{"listen"}, "one port"},
		{"listen not host:port", func(c *Config) { c.Port, c.Listen = "", "9000" }, nil, []string{"listen"}, "host:port"},
		{"listen for text", func(c *Config) {
			c.Port, c.Listen, c.Protocol = "", ":9000", ProtocolText
			c.Text.Patterns = nil
		}, nil, []string{"listen", "text.kinds", "text.patterns"}, "gbt26875 only"},
		{"no baud", func(c *Config) { c.Line.Baud = 0 }, nil, []string{"line.baud"}, "9600"},
		{"bad line", func(c *Config) { c.Line.Baud, c.Line.Parity = 9601, "X" }, nil, []string{"line.baud", "line.parity"}, "standard"},
		{"rs485 on a listener", func(c *Config) {
			c.Port, c.Listen = "", ":9000"
			c.RS485 = &RS485{DelayBefore: 1500 * time.Microsecond}
		}, nil, []string{"rs485", "rs485.delay_before"}, "serial port"},
		{"unknown protocol", func(c *Config) { c.Protocol = "modbus" }, nil, []string{"protocol"}, "gbt26875, text, frames"},
		{"protocol section", func(c *Config) { c.GBT26875.ComponentAddress = "zone" }, nil, []string{"gbt26875.component_address"}, "loop_point"},
		{"utc offset", func(c *Config) { c.UTCOffset = "Beijing" }, nil, []string{"utc_offset"}, "+08:00"},
		{"reopen range", func(c *Config) { c.ReopenMax = time.Millisecond }, nil, []string{"reopen_min"}, "range"},
		{"durations", func(c *Config) { c.MaxConnections, c.IdleTimeout, c.ErrorLogInterval = 0, 0, 0 }, nil,
			[]string{"max_connections", "idle_timeout", "error_log_interval"}, "range"},
		{"device without address", func(*Config) {}, []shouwang.Device{{ID: "x"}}, []string{`devices["x"].address`}, "1/1/1-23"},
		{"two devices at one address", func(*Config) {}, []shouwang.Device{{ID: "a", Address: "1/1/1-1"}, {ID: "b", Address: "1/1/1-1"}},
			[]string{`devices["b"].address`}, "also device a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := base()
			c.edit(&cfg)
			err := cfg.Validate(c.devices, nil)
			if c.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			fe, _ := err.(shouwang.FieldErrors)
			if !slices.Equal(fe.Fields(), c.want) {
				t.Fatalf("fields %q, want %q (%v)", fe.Fields(), c.want, err)
			}
			if !strings.Contains(fe[0].Problem, c.say) {
				t.Errorf("%q does not say %q", fe[0].Problem, c.say)
			}
		})
	}
}

// TestResolve: where a report lands when no device is at its address.
func TestResolve(t *testing.T) {
	d := newDriver(DefaultConfig(), shouwang.DriverEnv{Devices: []shouwang.Device{
		{ID: "det", Address: "1/1/1-23"}, {ID: "b5-det", Address: "77777:1/1/1-23"}, {ID: "sys", Address: "1/1"},
		{ID: "panel", Address: "panel"}, {ID: "b5-panel", Address: "77777:panel"},
	}}, time.UTC)
	for addr, want := range map[string]string{
		"88888:1/1/1-23": "det exact", "1/1/1-23": "det exact", "77777:1/1/1-23": "b5-det exact",
		"88888:1/1/9-9": "sys", "88888:1/1": "sys exact", "88888:2/1/1-1": "panel", "88888:uitd": "panel",
		"77777:2/1": "b5-panel", "77777:panel": "b5-panel exact", "1-23": "panel", "panel": "panel exact",
	} {
		id, exact := d.resolve(addr)
		if exact {
			id += " exact"
		}
		if id != want {
			t.Errorf("resolve(%q) = %q, want %q", addr, id, want)
		}
	}
	// A detector placed without the UITD's prefix is found without
	// building a string: this runs for every event and reading.
	if n := testing.AllocsPerRun(100, func() { d.resolve("88888:1/1/1-23") }); n != 0 {
		t.Errorf("resolve allocates %v times on the placed path", n)
	}
	none := newDriver(DefaultConfig(), shouwang.DriverEnv{Devices: []shouwang.Device{{ID: "det", Address: "1-23"}}}, time.UTC)
	if id, _ := none.resolve("2-5"); id != "" {
		t.Errorf("with no panel, 2-5 went to %q", id)
	}
}
