package modbus_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/modbus"
)

// busModels are profiles' modbus sections as Config.Validate gets them:
// two 9600 8N1 detectors, one at 19200 8E1, one that gives only its
// parity, one with no line at all, and a profile of another driver.
func busModels() map[string]shouwang.ModelConfig {
	line := func(baud int, parity string) *modbus.Model {
		return &modbus.Model{SlaveID: 1, Serial: modbus.Line{Baud: baud, DataBits: 8, Parity: parity, StopBits: 1}}
	}
	return map[string]shouwang.ModelConfig{
		"gas":     line(9600, "N"),
		"co":      line(9600, "N"),
		"fast":    line(19200, "E"),
		"odd":     &modbus.Model{SlaveID: 1, Serial: modbus.Line{Parity: "O"}},
		"no-line": &modbus.Model{SlaveID: 1},
		"sim":     nil,
	}
}

func dev(id, profile, addr string) shouwang.Device {
	return shouwang.Device{ID: id, Profile: profile, Address: addr}
}

// rtuBus is a valid rtu section with two detectors on it.
func rtuBus() (*modbus.Config, []shouwang.Device) {
	c := modbus.DefaultConfig()
	c.Port = "/dev/ttyUSB0"
	return &c, []shouwang.Device{dev("gas-1", "gas", "1"), dev("co-1", "co", "2")}
}

func tcpBus() (*modbus.Config, []shouwang.Device) {
	c := modbus.DefaultConfig()
	c.Transport, c.Address = modbus.TransportTCP, "192.168.1.20:502"
	return &c, []shouwang.Device{dev("panel", "gas", "1"), dev("gas-1", "gas", "2")}
}

func TestConfigValidate(t *testing.T) {
	type change func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device
	over := func(transport string) func(*modbus.Config, []shouwang.Device) {
		return func(c *modbus.Config, _ []shouwang.Device) {
			c.Transport, c.Address = transport, "10.0.0.5:4001"
		}
	}
	for _, tc := range []struct {
		name   string
		bus    func() (*modbus.Config, []shouwang.Device)
		change change
		want   []string
	}{
		{"rtu", rtuBus, nil, nil},
		{"tcp", tcpBus, nil, nil},
		{"rtu_over_tcp", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			over(modbus.TransportRTUOverTCP)(c, ds)
			c.Port = ""
			return ds
		}, nil},
		{"no devices", rtuBus, func(c *modbus.Config, _ []shouwang.Device) []shouwang.Device {
			c.Serial.Baud = 9600
			return nil
		}, nil},
		{"transport udp", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device { c.Transport = "udp"; return ds }, []string{"transport"}},
		{"no transport", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device { c.Transport = ""; return ds }, []string{"transport"}},
		{"rtu without a port", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device { c.Port = ""; return ds }, []string{"port"}},
		{"rtu with an address", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.Address = "10.0.0.5:502"
			return ds
		}, []string{"address"}},
		{"tcp without an address", tcpBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device { c.Address = ""; return ds }, []string{"address"}},
		{"tcp address without a port", tcpBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.Address = "192.168.1.20"
			return ds
		}, []string{"address"}},
		{"tcp address with an empty port", tcpBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.Address = "192.168.1.20:"
			return ds
		}, []string{"address"}},
		{"tcp address with no host", tcpBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device { c.Address = ":502"; return ds }, nil},
		{"tcp with a port", tcpBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device { c.Port = "/dev/ttyUSB0"; return ds }, []string{"port"}},
		{"rtu_over_tcp with a port", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			over(modbus.TransportRTUOverTCP)(c, ds)
			return ds
		}, []string{"port"}},
		{"rtu_over_tcp without an address", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.Transport, c.Port = modbus.TransportRTUOverTCP, ""
			return ds
		}, []string{"address"}},
		{"timeout 0", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device { c.Timeout = 0; return ds }, []string{"timeout"}},
		{"timeout negative", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device { c.Timeout = -time.Second; return ds }, []string{"timeout"}},
		{"timeout 10s", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.Timeout = 10 * time.Second
			return ds
		}, nil},
		{"timeout over 10s", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.Timeout = 10*time.Second + time.Millisecond
			return ds
		}, []string{"timeout"}},
		{"timeout 1ms", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.Timeout = time.Millisecond
			return ds
		}, nil},
		{"interval 0", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device { c.Interval = 0; return ds }, []string{"interval"}},
		{"offline_after 0", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device { c.OfflineAfter = 0; return ds }, []string{"offline_after"}},
		{"min_backoff 0", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device { c.MinBackoff = 0; return ds }, []string{"max_backoff"}},
		{"max_backoff below min", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.MinBackoff, c.MaxBackoff = time.Minute, time.Second
			return ds
		}, []string{"max_backoff"}},
		{"backoff fixed", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.MinBackoff, c.MaxBackoff = time.Minute, time.Minute
			return ds
		}, nil},
		{"interval of a device", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.Intervals = map[string]time.Duration{"gas-1": 500 * time.Millisecond}
			return ds
		}, nil},
		{"interval of an unknown device", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.Intervals = map[string]time.Duration{"gas-1": time.Second, "gas-9": time.Second}
			return ds
		}, []string{"intervals"}},
		{"interval 0 of a device", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.Intervals = map[string]time.Duration{"co-1": 0}
			return ds
		}, []string{"intervals"}},
		{"duplicate slave ids", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			return append(ds, dev("gas-2", "gas", "1"), dev("gas-3", "gas", "3"), dev("co-2", "co", "2"))
		}, []string{`devices["gas-2"].address`, `devices["co-2"].address`}},
		{"duplicate unit ids on tcp", tcpBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			return append(ds, dev("gas-2", "gas", "2"))
		}, []string{`devices["gas-2"].address`}},
		{"rtu slave ids 1 and 247", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			return []shouwang.Device{dev("a", "gas", "1"), dev("b", "gas", "247")}
		}, nil},
		{"rtu slave ids out of range", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			return []shouwang.Device{dev("a", "gas", "0"), dev("b", "gas", "248"), dev("c", "gas", "-1"), dev("d", "gas", "x"), dev("e", "gas", "")}
		}, []string{`devices["a"].address`, `devices["b"].address`, `devices["c"].address`, `devices["d"].address`, `devices["e"].address`}},
		{"rtu_over_tcp slave ids", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			over(modbus.TransportRTUOverTCP)(c, ds)
			c.Port = ""
			return []shouwang.Device{dev("a", "gas", "0"), dev("b", "gas", "1"), dev("c", "gas", "247"), dev("d", "gas", "248")}
		}, []string{`devices["a"].address`, `devices["d"].address`}},
		{"tcp unit ids 0 and 255", tcpBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			return []shouwang.Device{dev("a", "gas", "0"), dev("b", "gas", "255"), dev("c", "gas", "248")}
		}, nil},
		{"tcp unit ids out of range", tcpBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			return []shouwang.Device{dev("a", "gas", "256"), dev("b", "gas", "-1"), dev("c", "gas", "1.5")}
		}, []string{`devices["a"].address`, `devices["b"].address`, `devices["c"].address`}},
		{"profiles disagree on baud", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			return append(ds, dev("fast-1", "fast", "3"))
		}, []string{"serial"}},
		{"the bus's baud settles it", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.Serial = modbus.Line{Baud: 19200, Parity: "E"}
			return append(ds, dev("fast-1", "fast", "3"))
		}, nil},
		{"no baud anywhere", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			return []shouwang.Device{dev("a", "no-line", "1"), dev("b", "sim", "2"), dev("c", "missing", "3")}
		}, []string{"serial"}},
		{"a baud from the bus alone", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.Serial.Baud = 4800
			return []shouwang.Device{dev("a", "no-line", "1")}
		}, nil},
		{"a bad line on the bus", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.Serial = modbus.Line{Baud: 9601, DataBits: 9, StopBits: 3}
			return ds
		}, []string{"serial.baud", "serial.data_bits", "serial.stop_bits"}},
		{"a bad parity with no profile's", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.Serial = modbus.Line{Baud: 9600, Parity: "X"}
			return []shouwang.Device{dev("a", "no-line", "1")}
		}, []string{"serial.parity"}},
		{"profiles' lines are not checked on tcp", tcpBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			return append(ds, dev("fast-1", "fast", "3"), dev("a", "no-line", "4"))
		}, nil},
		{"every problem at once", rtuBus, func(c *modbus.Config, ds []shouwang.Device) []shouwang.Device {
			c.Port, c.Address = "", "x:1"
			c.Timeout, c.Interval, c.OfflineAfter, c.MinBackoff = 0, 0, 0, 0
			c.Intervals = map[string]time.Duration{"nobody": time.Second}
			return append(ds, dev("fast-1", "fast", "1"))
		}, []string{"port", "address", "serial", "timeout", "interval", "offline_after", "max_backoff", "intervals", `devices["fast-1"].address`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ds := tc.bus()
			if tc.change != nil {
				ds = tc.change(c, ds)
			}
			err := c.Validate(ds, busModels())
			if got := fields(t, err); !slices.Equal(got, tc.want) {
				t.Errorf("fields %q, want %q\n%v", got, tc.want, err)
			}
		})
	}
}

// TestConfigValidateMessages: the messages name what the operator wrote
// and what would be valid.
func TestConfigValidateMessages(t *testing.T) {
	c, ds := rtuBus()
	ds = append(ds, dev("fast-1", "fast", "2"), dev("gas-9", "gas", "300"))
	err := c.Validate(ds, busModels())
	for _, want := range []string{
		"serial: profiles gas and fast disagree on baud: set serial.baud for the bus",
		`devices["fast-1"].address: slave 2 is also co-1 on this bus`,
		`devices["gas-9"].address: "300" is not a slave address (valid: 1 to 247)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v\ndoes not say %q", err, want)
		}
	}
}

// TestConfigLink: an rtu bus's line is the config's fields, and the
// profiles' for those it leaves out, then 8N1; other transports have no
// line.
func TestConfigLink(t *testing.T) {
	for _, tc := range []struct {
		name    string
		serial  modbus.Line
		devices []shouwang.Device
		want    modbus.Line
		err     string
	}{
		{"from the profiles", modbus.Line{}, []shouwang.Device{dev("a", "gas", "1"), dev("b", "co", "2")}, modbus.Line{Baud: 9600, DataBits: 8, Parity: "N", StopBits: 1}, ""},
		{"from the profile", modbus.Line{}, []shouwang.Device{dev("a", "fast", "1")}, modbus.Line{Baud: 19200, DataBits: 8, Parity: "E", StopBits: 1}, ""},
		{"the bus's baud, the profile's parity", modbus.Line{Baud: 38400}, []shouwang.Device{dev("a", "fast", "1")}, modbus.Line{Baud: 38400, DataBits: 8, Parity: "E", StopBits: 1}, ""},
		{"the bus's parity", modbus.Line{Parity: "O"}, []shouwang.Device{dev("a", "fast", "1")}, modbus.Line{Baud: 19200, DataBits: 8, Parity: "O", StopBits: 1}, ""},
		{"the whole line from the bus", modbus.Line{Baud: 4800, DataBits: 7, Parity: "E", StopBits: 2}, []shouwang.Device{dev("a", "gas", "1"), dev("b", "fast", "2")}, modbus.Line{Baud: 4800, DataBits: 7, Parity: "E", StopBits: 2}, ""},
		{"defaults 8N1", modbus.Line{Baud: 1200}, []shouwang.Device{dev("a", "no-line", "1"), dev("b", "sim", "2")}, modbus.Line{Baud: 1200, DataBits: 8, Parity: "N", StopBits: 1}, ""},
		{"a parity from one profile, a baud from another", modbus.Line{}, []shouwang.Device{dev("a", "odd", "1"), dev("b", "gas", "2")}, modbus.Line{}, "disagree on parity"},
		{"profiles disagree", modbus.Line{}, []shouwang.Device{dev("a", "gas", "1"), dev("b", "fast", "2")}, modbus.Line{}, "profiles gas and fast disagree on baud"},
		{"profiles disagree on parity only", modbus.Line{Baud: 9600}, []shouwang.Device{dev("a", "gas", "1"), dev("b", "fast", "2")}, modbus.Line{}, "profiles gas and fast disagree on parity"},
		{"no baud", modbus.Line{}, []shouwang.Device{dev("a", "no-line", "1")}, modbus.Line{}, "no baud rate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := rtuBus()
			c.Serial = tc.serial
			lc, err := c.Link(tc.devices, busModels())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Link: %+v, %v; want an error saying %q", lc.Line, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if lc.Line != tc.want || lc.Transport != modbus.TransportRTU || lc.Port != "/dev/ttyUSB0" || lc.Timeout != c.Timeout {
				t.Errorf("Link = %+v, want line %+v", lc, tc.want)
			}
		})
	}
	c, ds := tcpBus()
	ds = append(ds, dev("fast-1", "fast", "3"))
	lc, err := c.Link(ds, busModels())
	if err != nil || lc.Line != (modbus.Line{}) || lc.Address != "192.168.1.20:502" || lc.Transport != modbus.TransportTCP {
		t.Errorf("tcp Link = %+v, %v", lc, err)
	}
}

func TestConfigSlaveID(t *testing.T) {
	rtu, _ := rtuBus()
	tcp, _ := tcpBus()
	for _, tc := range []struct {
		c    *modbus.Config
		addr string
		want byte
		ok   bool
	}{
		{rtu, "1", 1, true},
		{rtu, "247", 247, true},
		{rtu, "0", 0, false},
		{rtu, "248", 0, false},
		{tcp, "0", 0, true},
		{tcp, "255", 255, true},
		{tcp, "256", 0, false},
		{tcp, "0x10", 0, false},
	} {
		id, err := tc.c.SlaveID(dev("d", "gas", tc.addr))
		if id != tc.want || (err == nil) != tc.ok {
			t.Errorf("%s %q: %d, %v", tc.c.Transport, tc.addr, id, err)
		}
	}
}

// TestConfigValidateParity: a parity the bus's section gets wrong is
// reported, not replaced by the profiles'. Lowercase "e" is a typo of
// "E" the installer must be told about: taking the profiles' N instead
// runs the bus at a parity nobody asked for.
func TestConfigValidateParity(t *testing.T) {
	for _, parity := range []string{"X", "e", "even"} {
		c, ds := rtuBus()
		c.Serial.Parity = parity
		if got := fields(t, c.Validate(ds, busModels())); !slices.Equal(got, []string{"serial.parity"}) {
			t.Errorf("parity %q: fields %q, want [serial.parity]", parity, got)
		}
		if lc, err := c.Link(ds, busModels()); err == nil && lc.Line.Parity != parity {
			t.Errorf("parity %q: Link gives parity %q and no error", parity, lc.Line.Parity)
		}
	}
}

// TestConfigValidateTCPPort: the port of a tcp or rtu_over_tcp address is
// a number from 1 to 65535. Anything else passes the check and then fails
// every dial, retried with backoff for as long as the gateway runs.
func TestConfigValidateTCPPort(t *testing.T) {
	for _, addr := range []string{"192.168.1.20:5o2", "192.168.1.20:99999", "192.168.1.20:0", "192.168.1.20:-1"} {
		c, ds := tcpBus()
		c.Address = addr
		if got := fields(t, c.Validate(ds, busModels())); !slices.Equal(got, []string{"address"}) {
			t.Errorf("address %q: fields %q, want [address]", addr, got)
		}
	}
}
