// Package serial is the driver for fire alarm panels, their user
// information transmission devices (UITDs) and smoke-sensor concentrators
// that report over a serial line (RS-232/RS-485), or, for GB/T 26875.3
// UITDs, over TCP. One framer per port reads what they send: GB/T 26875.3
// frames, text event lines as panels print them, or generic binary frames.
// Status changes become events with the detector's place in the building
// map, and every GB/T 26875.3 data frame is confirmed once what it said is
// durable in the outbox.
package serial

import (
	_ "embed"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/serial/frames"
	"github.com/shouwang-iot/shouwang/drivers/serial/gbt26875"
	"github.com/shouwang-iot/shouwang/drivers/serial/stream"
	"github.com/shouwang-iot/shouwang/drivers/serial/textline"
	"github.com/shouwang-iot/shouwang/internal/serialline"
)

// Sample is the driver's sample config section, shown in README.md.
//
//go:embed sample.yaml
var Sample []byte

// The protocols a port may speak.
const (
	ProtocolGBT26875 = "gbt26875" // GB/T 26875.3-2011 frames, confirmed
	ProtocolText     = "text"     // one event per line, as printed
	ProtocolFrames   = "frames"   // delimited or length-prefixed binary frames
)

var protocols = []string{ProtocolGBT26875, ProtocolText, ProtocolFrames}

// Config is a serial driver's section: one port (or one TCP listener for
// GB/T 26875.3) and its protocol. Devices are placed on it by the address
// the protocol gives them: "1/1/1-23" (GB/T 26875.3 system type, system
// address, loop-point), "1-23" (a text line's loop and address), a
// concentrator's sensor number, or "panel" for the panel itself.
type Config struct {
	// Port is the serial device, e.g. /dev/ttyUSB0 (shouwang serial list
	// shows them with their USB ids).
	Port string `yaml:"port"`
	// Listen is a TCP address UITDs connect to, e.g. 0.0.0.0:9000, in
	// place of a port (gbt26875 only: most UITDs report over TCP).
	Listen string `yaml:"listen"`
	// Line is the port's baud rate (required with port), data bits (8),
	// parity (N) and stop bits (1).
	Line serialline.Line `yaml:"line"`
	// RS485, if set, puts the port in the kernel's RS-485 mode, for
	// adapters whose driver switches the transmitter with RTS (Linux
	// only; an adapter that switches by itself needs nothing).
	RS485 *RS485 `yaml:"rs485"`
	// Protocol is gbt26875, text or frames.
	Protocol string `yaml:"protocol"`
	// GBT26875, Text and Frames configure their protocol.
	GBT26875 gbt26875.Config `yaml:"gbt26875"`
	Text     textline.Config `yaml:"text"`
	Frames   frames.Config   `yaml:"frames"`
	// UTCOffset is the offset of the clock of the panel and the UITD,
	// whose time labels carry none. Default +08:00 (China).
	UTCOffset string `yaml:"utc_offset"`
	// ReopenMin and ReopenMax bound the wait before a port that failed
	// (an unplugged USB adapter) is opened again; it doubles each time.
	ReopenMin time.Duration `yaml:"reopen_min"`
	ReopenMax time.Duration `yaml:"reopen_max"`
	// MaxConnections bounds the UITDs connected at once to Listen.
	MaxConnections int `yaml:"max_connections"`
	// IdleTimeout closes a TCP connection silent this long (UITDs send a
	// heartbeat every 20-30 s), so a dead link is noticed.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// ErrorLogInterval is how often unreadable input is logged, with a
	// sample; every error is counted in the metrics. Default 1m.
	ErrorLogInterval time.Duration `yaml:"error_log_interval"`
}

// RS485 is the kernel's RS-485 mode (struct serial_rs485).
type RS485 struct {
	// RTSOnSend is the RTS level while sending: true (default) for most
	// adapters, false for those wired the other way.
	RTSOnSend *bool `yaml:"rts_on_send"`
	// DelayBefore and DelayAfter hold RTS before and after sending
	// (milliseconds on the wire).
	DelayBefore time.Duration `yaml:"delay_before"`
	DelayAfter  time.Duration `yaml:"delay_after"`
}

// DefaultConfig returns the defaults the section is decoded over.
func DefaultConfig() Config {
	return Config{GBT26875: gbt26875.DefaultConfig(), Text: textline.DefaultConfig(), Frames: frames.DefaultConfig(),
		UTCOffset: "+08:00", ReopenMin: time.Second, ReopenMax: time.Minute, MaxConnections: 64,
		IdleTimeout: 90 * time.Second, ErrorLogInterval: time.Minute}
}

// Validate reports every problem with the section and its devices.
func (c *Config) Validate(devices []shouwang.Device, _ map[string]shouwang.ModelConfig) error {
	var fe shouwang.FieldErrors
	switch {
	case c.Port == "" && c.Listen == "":
		fe.Add("port", "must be set (a serial device, e.g. /dev/ttyUSB0), or listen for GB/T 26875.3 over TCP")
	case c.Port != "" && c.Listen != "":
		fe.Add("listen", "is set beside port (one driver reads one port or one listener)")
	case c.Listen != "":
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			fe.Add("listen", "%q is not host:port (e.g. 0.0.0.0:9000): %v", c.Listen, err)
		}
		if c.Protocol != ProtocolGBT26875 {
			fe.Add("listen", "serves gbt26875 only (protocol is %q)", c.Protocol)
		}
	case c.Line.Baud == 0:
		fe.Add("line.baud", "must be set with port (e.g. 9600, as the panel's manual gives)")
	}
	c.Line.Check(&fe, "line")
	if c.RS485 != nil {
		if c.Port == "" {
			fe.Add("rs485", "applies to a serial port (port is not set)")
		}
		for _, d := range []struct {
			name string
			v    time.Duration
		}{{"rs485.delay_before", c.RS485.DelayBefore}, {"rs485.delay_after", c.RS485.DelayAfter}} {
			if d.v < 0 || d.v > time.Second || d.v%time.Millisecond != 0 {
				fe.Add(d.name, "%v is out of range (valid: whole milliseconds, 0 to 1s)", d.v)
			}
		}
	}
	switch c.Protocol {
	case ProtocolGBT26875:
		add(&fe, "gbt26875", c.GBT26875.Validate())
	case ProtocolText:
		add(&fe, "text", c.Text.Validate())
	case ProtocolFrames:
		add(&fe, "frames", c.Frames.Validate())
	default:
		fe.Add("protocol", "%q is not a protocol (valid: %s)", c.Protocol, strings.Join(protocols, ", "))
	}
	if _, err := parseOffset(c.UTCOffset); err != nil {
		fe.Add("utc_offset", "%v", err)
	}
	if c.ReopenMin < 10*time.Millisecond || c.ReopenMax < c.ReopenMin {
		fe.Add("reopen_min", "%v to %v is not a range (want reopen_min of 10ms or more, reopen_max not below it)", c.ReopenMin, c.ReopenMax)
	}
	if c.MaxConnections < 1 || c.MaxConnections > 4096 {
		fe.Add("max_connections", "%d is out of range (valid: 1 to 4096)", c.MaxConnections)
	}
	if c.IdleTimeout < time.Second {
		fe.Add("idle_timeout", "%v is too short (want 1s or more; UITDs send a heartbeat every 20-30 s)", c.IdleTimeout)
	}
	if c.ErrorLogInterval < time.Second {
		fe.Add("error_log_interval", "%v is too short (want 1s or more)", c.ErrorLogInterval)
	}
	seen := map[string]string{}
	for _, d := range devices {
		if d.Address == "" {
			fe.Add(fmt.Sprintf("devices[%q].address", d.ID), "must be set: the detector's address on the %s line (e.g. %s)", c.Protocol, addressExample(c.Protocol))
			continue
		}
		if other, dup := seen[d.Address]; dup {
			fe.Add(fmt.Sprintf("devices[%q].address", d.ID), "%q is also device %s's address on this driver", d.Address, other)
		}
		seen[d.Address] = d.ID
	}
	return fe.Err()
}

func addressExample(protocol string) string {
	switch protocol {
	case ProtocolGBT26875:
		return `"1/1/1-23": system type 1 (fire alarm system), system 1, loop 1 point 23; "1/1" for the panel`
	case ProtocolText:
		return `"1-23": loop 1 address 23, or "panel"`
	}
	return `the sensor number the concentrator sends, or "panel"`
}

// add moves a protocol section's problems under its key.
func add(fe *shouwang.FieldErrors, section string, errs shouwang.FieldErrors) {
	for _, e := range errs {
		fe.Add(section+"."+e.Field, "%s", e.Problem)
	}
}

// parseOffset reads "+08:00" into a fixed zone.
func parseOffset(s string) (*time.Location, error) {
	t, err := time.Parse("-07:00", s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a UTC offset (want ±hh:mm, e.g. +08:00)", s)
	}
	_, off := t.Zone()
	return time.FixedZone("UTC"+s, off), nil
}

// NewDriver builds the driver; it opens the port or listens in Start.
func (c *Config) NewDriver(env shouwang.DriverEnv) (shouwang.Driver, error) {
	loc, err := parseOffset(c.UTCOffset)
	if err != nil {
		return nil, err
	}
	return newDriver(*c, env, loc), nil
}

// newDecoder makes the port's framer, for one stream.
func (c *Config) newDecoder(loc *time.Location, onError stream.ErrorFunc) stream.Decoder {
	switch c.Protocol {
	case ProtocolGBT26875:
		return gbt26875.New(c.GBT26875, loc, onError)
	case ProtocolText:
		return textline.New(c.Text, loc, onError)
	}
	return frames.New(c.Frames, onError)
}

// errorKinds are the protocol's error kinds and the driver's own.
func (c *Config) errorKinds() []string {
	var k []string
	switch c.Protocol {
	case ProtocolGBT26875:
		k = gbt26875.ErrorKinds
	case ProtocolText:
		k = textline.ErrorKinds
	default:
		k = frames.ErrorKinds
	}
	return append(slices.Clip(k), ErrUnknownDevice)
}
