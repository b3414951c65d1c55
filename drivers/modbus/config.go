package modbus

import (
	_ "embed"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// Sample is the driver's sample config section, shown in README.md.
//
//go:embed sample.yaml
var Sample []byte

// Config is a modbus driver's section of the config file: one bus (a
// serial port, or one TCP endpoint) and the devices placed on it, each
// addressed by its slave id and read through its profile's modbus section.
type Config struct {
	// Transport is tcp, rtu or rtu_over_tcp.
	Transport string `yaml:"transport"`
	// Port is the serial device of an rtu bus (/dev/ttyUSB0).
	Port string `yaml:"port"`
	// Address is host:port for tcp and rtu_over_tcp.
	Address string `yaml:"address"`
	// Serial is the line setting of an rtu bus; fields left out come from
	// the devices' profiles, which must then agree.
	Serial Line `yaml:"serial"`
	// Timeout is how long a transaction may wait for its answer (beyond
	// the frames' time on the wire). Default 500ms.
	Timeout time.Duration `yaml:"timeout"`
	// Interval is how often each device is read. Default 2s.
	Interval time.Duration `yaml:"interval"`
	// Intervals overrides Interval per device id.
	Intervals map[string]time.Duration `yaml:"intervals"`
	// OfflineAfter is how many failed polls in a row mark a device offline
	// (an "offline" event). Default 3.
	OfflineAfter int `yaml:"offline_after"`
	// MinBackoff and MaxBackoff bound how often an offline device is
	// retried: first after MinBackoff, doubling to MaxBackoff. Defaults
	// 5s and 5m.
	MinBackoff time.Duration `yaml:"min_backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// DefaultConfig returns the defaults the config file is decoded over.
func DefaultConfig() Config {
	return Config{Transport: TransportRTU, Timeout: 500 * time.Millisecond, Interval: 2 * time.Second,
		OfflineAfter: defaultFailuresOffline, MinBackoff: defaultMinBackoff, MaxBackoff: defaultMaxBackoff}
}

// Validate reports every problem with the section and its devices.
func (c *Config) Validate(devices []shouwang.Device, models map[string]shouwang.ModelConfig) error {
	var fe shouwang.FieldErrors
	switch c.Transport {
	case TransportRTU:
		if c.Port == "" {
			fe.Add("port", "must be set for an rtu bus (the serial device, e.g. /dev/ttyUSB0; `shouwang serial list` shows them)")
		}
		if c.Address != "" {
			fe.Add("address", "is for tcp and rtu_over_tcp; an rtu bus has a port")
		}
		line, err := c.line(devices, models)
		if err != nil {
			fe.Add("serial", "%v", err)
		} else {
			line.Check(&fe, "serial")
		}
	case TransportTCP, TransportRTUOverTCP:
		if _, port, err := net.SplitHostPort(c.Address); err != nil || !validPort(port) {
			fe.Add("address", "%q is not host:port (e.g. 192.168.1.20:502)", c.Address)
		}
		if c.Port != "" {
			fe.Add("port", "is for an rtu bus; %s has an address", c.Transport)
		}
	default:
		fe.Add("transport", "%q is not a transport (valid: %s, %s, %s)", c.Transport, TransportTCP, TransportRTU, TransportRTUOverTCP)
	}
	if c.Timeout <= 0 || c.Timeout > 10*time.Second {
		fe.Add("timeout", "%s is out of range (want more than 0 and at most 10s, e.g. 500ms)", c.Timeout)
	}
	if c.Interval <= 0 {
		fe.Add("interval", "%s must be more than 0 (e.g. 2s)", c.Interval)
	}
	if c.OfflineAfter < 1 {
		fe.Add("offline_after", "%d must be at least 1", c.OfflineAfter)
	}
	if c.MinBackoff <= 0 || c.MaxBackoff < c.MinBackoff {
		fe.Add("max_backoff", "backoff from %s to %s is not a range (want 0 < min_backoff <= max_backoff)", c.MinBackoff, c.MaxBackoff)
	}
	for id, iv := range c.Intervals {
		switch {
		case !slices.ContainsFunc(devices, func(d shouwang.Device) bool { return d.ID == id }):
			fe.Add("intervals", "%q is not a device on this driver", id)
		case iv <= 0:
			fe.Add("intervals", "%s for %s must be more than 0", iv, id)
		}
	}
	slaves := map[byte]string{}
	for _, d := range devices {
		id, err := c.SlaveID(d)
		if err != nil {
			fe.Add(fmt.Sprintf("devices[%q].address", d.ID), "%v", err)
			continue
		}
		if other, dup := slaves[id]; dup {
			fe.Add(fmt.Sprintf("devices[%q].address", d.ID), "slave %d is also %s on this bus (each device needs its own address; `shouwang device apply` sets it)", id, other)
		}
		slaves[id] = d.ID
	}
	return fe.Err()
}

func validPort(s string) bool {
	n, err := strconv.ParseUint(s, 10, 16)
	return err == nil && n > 0
}

// SlaveRange is the valid slave ids on a transport: the unit ids 0 to 255
// on Modbus TCP, 1 to 247 on a serial line (0 is broadcast).
func SlaveRange(transport string) (lo, hi int) {
	if transport == TransportTCP {
		return 0, 255
	}
	return 1, 247
}

// SlaveID is the device's address on the bus, from its Address; the
// error names the valid range (SlaveRange).
func (c *Config) SlaveID(d shouwang.Device) (byte, error) {
	lo, hi := SlaveRange(c.Transport)
	n, err := strconv.Atoi(d.Address)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not a slave address (valid: %d to %d)", d.Address, lo, hi)
	}
	return byte(n), nil
}

// line is the serial line: the config's fields, and the profiles' for
// those it leaves out, which all the devices' profiles must agree on.
func (c *Config) line(devices []shouwang.Device, models map[string]shouwang.ModelConfig) (Line, error) {
	l := c.Serial
	type field struct {
		name string
		p    *int
		q    func(Line) int
	}
	parities := map[string]int{"N": 1, "E": 2, "O": 3}
	parity := parities[l.Parity]
	for _, f := range []field{
		{"baud", &l.Baud, func(x Line) int { return x.Baud }},
		{"data_bits", &l.DataBits, func(x Line) int { return x.DataBits }},
		{"stop_bits", &l.StopBits, func(x Line) int { return x.StopBits }},
		{"parity", &parity, func(x Line) int { return parities[x.Parity] }},
	} {
		if *f.p != 0 {
			continue
		}
		from := ""
		for _, d := range devices {
			m, ok := models[d.Profile].(*Model)
			if !ok {
				continue
			}
			v := f.q(m.Serial)
			switch {
			case v == 0:
			case *f.p == 0:
				*f.p, from = v, d.Profile
			case *f.p != v && from != d.Profile:
				return l, fmt.Errorf("profiles %s and %s disagree on %s: set serial.%s for the bus", from, d.Profile, f.name, f.name)
			}
		}
	}
	if l.Parity == "" { // a parity the config sets, valid or not, stays for check to judge
		for name, v := range parities {
			if v == parity {
				l.Parity = name
			}
		}
	}
	if l.Baud == 0 {
		return l, fmt.Errorf("no baud rate: set serial.baud, or use profiles that give one")
	}
	l.Defaults()
	return l, nil
}

// Owns says the serial port of an rtu bus is this driver's alone.
func (c *Config) Owns() map[string]string {
	if c.Transport != TransportRTU || c.Port == "" {
		return nil
	}
	return map[string]string{"serial port " + c.Port: "port"}
}

// Link says how to reach the bus, with an RTU line's settings resolved
// from the devices' profiles where the config leaves them out.
func (c *Config) Link(devices []shouwang.Device, models map[string]shouwang.ModelConfig) (LinkConfig, error) {
	lc := LinkConfig{Transport: c.Transport, Address: c.Address, Port: c.Port, Timeout: c.Timeout}
	if c.Transport != TransportRTU {
		return lc, nil
	}
	var err error
	lc.Line, err = c.line(devices, models)
	return lc, err
}

// NewDriver builds the driver; nothing is opened until Start.
func (c *Config) NewDriver(env shouwang.DriverEnv) (shouwang.Driver, error) {
	if err := c.Validate(env.Devices, env.Models); err != nil {
		return nil, err
	}
	return newDriver(c, env)
}
