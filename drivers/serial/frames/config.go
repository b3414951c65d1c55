// Package frames reads generic binary frames: the simple RS-485 smoke
// sensor concentrators that speak neither GB/T 26875.3 nor text lines,
// and send one small frame per sensor such as
//
//	AA 55 | len | addr(2) | status(1) | smoke(2) | battery(1) | sum | 0D 0A
//
// A frame is found by a start marker, an end marker, a length field, or
// a mix of them; a checksum tells a frame from line noise. The config
// then maps the frame's bytes to an address, points (numbers) and flags
// (status bits that raise an event while set and its clear when they
// clear). The installer writes the layout from the concentrator's manual.
package frames

import (
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/shouwang-iot/shouwang"
)

// Byte orders of multi-byte fields.
const (
	OrderBig    = "big"    // most significant byte first (the default; "network order")
	OrderLittle = "little" // least significant byte first
)

// Check types.
const (
	CheckSum8        = "sum8"         // the low byte of the sum of the bytes
	CheckXOR8        = "xor8"         // the XOR of the bytes
	CheckCRC16Modbus = "crc16_modbus" // CRC-16/MODBUS, low byte first as Modbus RTU sends it
)

// Limits of the config.
const (
	// MaxMarker is the longest start or end marker, in bytes.
	MaxMarker = 16
	// MaxFlags is the most flags a frame may have: a sensor's flags are
	// kept as the bits of one word.
	MaxFlags = 64
	// MaxAddresses is the most sensor addresses whose flags one decoder
	// tracks. Past it a frame from a new address still gives its points,
	// but its flags raise nothing and the frame counts as
	// too_many_addresses: a concentrator has far fewer sensors, so so many
	// addresses mean noise that passed the check.
	MaxAddresses = 4096
)

var eventKindRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Hex is a byte string written in hex: pairs of digits, in upper or lower
// case, optionally grouped with spaces and with a 0x prefix per group.
// "AA55", "aa 55" and "0xAA 0x55" are the same two bytes. YAML reads an
// all-digit value such as 1234 as a number; the decoder takes its text
// all the same, but quoting ("1234") keeps readers from wondering.
type Hex []byte

// UnmarshalText reads hex as described at Hex; an empty text is no bytes.
func (h *Hex) UnmarshalText(text []byte) error {
	var out []byte
	for _, group := range strings.Fields(string(text)) {
		digits := group
		if len(digits) > 2 && (digits[:2] == "0x" || digits[:2] == "0X") {
			digits = digits[2:]
		}
		for _, r := range digits {
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return fmt.Errorf("%q is not a hex digit (want pairs of 0-9 and A-F, e.g. AA55 or \"aa 55\")", r)
			}
		}
		if len(digits)%2 != 0 {
			return fmt.Errorf("%q has an odd number of hex digits (want two per byte, e.g. 0D0A, not D0A)", group)
		}
		b, err := hex.DecodeString(digits)
		if err != nil { // unreachable after the checks above
			return fmt.Errorf("%q is not hex: %w", group, err)
		}
		out = append(out, b...)
	}
	*h = out
	return nil
}

// MarshalText writes the bytes as upper-case hex pairs without spaces.
func (h Hex) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

func (h Hex) String() string { return strings.ToUpper(hex.EncodeToString(h)) }

// Config is how to read one concentrator's frames. Its fields are the
// protocol's keys in the serial driver's section. Offsets count from a
// frame's first byte: the first byte of the start marker when there is
// one, else the byte after the previous frame's end marker.
type Config struct {
	// Start is the marker every frame begins with, in hex (e.g. AA55).
	// It may be left out when End is set; the frame then begins right
	// after the previous frame's end marker. After a bad frame or noise
	// the decoder looks for the next start marker (without one, for the
	// next end marker), so a start marker recovers far better. Without
	// one, the first bytes read are taken as a frame's start, so a port
	// opened in the middle of a frame loses that frame (counted).
	Start Hex `yaml:"start"`
	// End is the marker every frame ends with, in hex (e.g. 0D0A). It
	// may be left out when Length is set. Without Length, a frame ends at
	// the first end marker that leaves room for every field, so a payload
	// byte that looks like the marker does not cut a frame short.
	End Hex `yaml:"end"`
	// Length is the field that gives the frame's length. With an end
	// marker too, a frame whose end marker is not where the length says
	// counts as bad_end.
	Length *LengthField `yaml:"length"`
	// MaxFrame is the longest frame, in bytes (default 256, valid 4 to
	// 4096). Without a length field, no end marker within MaxFrame bytes
	// of a start counts as overlong; a length field giving more counts as
	// bad_length. It bounds what is kept between reads. Set it a little
	// above the longest real frame: a start marker in noise whose length
	// claims more holds the frames behind it until that many bytes came.
	MaxFrame int `yaml:"max_frame"`
	// Check is the frame's checksum; left out, frames are not checked.
	// Leave it out only when the concentrator sends none: a check is
	// what tells a frame from noise that happens to hold a marker.
	Check *Check `yaml:"check"`
	// Address is where the sensor's address is; the device address is
	// its value in decimal ("1027" for 04 03). Left out, every frame is
	// the concentrator's own, address "panel".
	Address *Field `yaml:"address"`
	// Points are the measured values in a frame.
	Points []Point `yaml:"points"`
	// Flags are the status bits in a frame. Each raises its event when it
	// sets and the event's clear (smoke_alarm → smoke_clear, low_battery →
	// low_battery_clear) when it clears. The first frame of each address
	// after a start reports every flag's state, set or clear, so the rules
	// learn it after a restart; later frames report changes only.
	Flags []Flag `yaml:"flags"`
}

// LengthField is where a frame's length is and how to read it.
type LengthField struct {
	// Offset is the field's offset in the frame.
	Offset int `yaml:"offset"`
	// Size is 1 or 2 bytes.
	Size int `yaml:"size"`
	// Order is big (default) or little, for a 2-byte field.
	Order string `yaml:"order"`
	// Adjust is added to the field's value to give the whole frame's
	// length in bytes, markers and check included. A field that counts
	// the 6 bytes between itself and the check of a frame that has 6
	// more (start 2, length 1, check 1, end 2) has adjust 6.
	Adjust int `yaml:"adjust"`
}

// Check is a frame's checksum.
type Check struct {
	// Type is sum8 (the low byte of the sum of the bytes), xor8 (their
	// XOR) or crc16_modbus (CRC-16/MODBUS, 2 bytes, low byte first).
	Type string `yaml:"type"`
	// From is the offset of the first byte checked (default 0, the frame's
	// first byte; 2 skips a 2-byte start marker).
	From int `yaml:"from"`
	// To is the offset just past the last byte checked; a negative value
	// counts from the frame's end (-3: all but the last 3 bytes). Left
	// out (0), the check covers the bytes up to the check itself.
	To int `yaml:"to"`
	// At is the offset of the check's bytes; a negative value counts
	// from the frame's end (-3: the third byte from the end). Left out
	// (0), the check sits right before the end marker, or at the frame's
	// end without one.
	At int `yaml:"at"`
}

// Field is where an unsigned number is in a frame.
type Field struct {
	// Offset is the field's offset in the frame.
	Offset int `yaml:"offset"`
	// Size is 1, 2 or 4 bytes.
	Size int `yaml:"size"`
	// Order is big (default) or little.
	Order string `yaml:"order"`
}

// Point is a measured value in a frame.
type Point struct {
	// Name is the point's name (e.g. smoke, battery); the device's profile
	// lists it.
	Name string `yaml:"name"`
	// Offset is the value's offset in the frame.
	Offset int `yaml:"offset"`
	// Size is 1, 2 or 4 bytes.
	Size int `yaml:"size"`
	// Order is big (default) or little.
	Order string `yaml:"order"`
	// Signed reads the value as two's complement (a temperature below 0).
	Signed bool `yaml:"signed"`
	// Scale multiplies the raw value (0 or left out: as sent; 0.1 for a
	// value sent in tenths).
	Scale float64 `yaml:"scale"`
	// Unit is the value's unit after scaling (e.g. dB/m, %).
	Unit string `yaml:"unit"`
}

// Flag is one status bit in a frame.
type Flag struct {
	// Offset is the offset of the byte holding the bit.
	Offset int `yaml:"offset"`
	// Bit is the bit's number, 0 (the least significant) to 7.
	Bit int `yaml:"bit"`
	// Event is the event kind the bit raises while set (e.g. smoke_alarm,
	// fault, low_battery); its clear follows from it.
	Event string `yaml:"event"`
	// Severity is required: info, fault, warning, alarm or fire. A
	// missing severity must not quietly turn a fire into info. A clear is
	// always info.
	Severity string `yaml:"severity"`
}

// DefaultConfig returns the defaults the config is decoded over. It has
// no markers or fields, because those depend on the concentrator.
func DefaultConfig() Config { return Config{MaxFrame: 256} }

// Validate reports every problem with the config, each named by its
// field path (points[2].offset, check.at). It does not change c.
func (c *Config) Validate() shouwang.FieldErrors {
	var fe shouwang.FieldErrors
	v := validator{fe: &fe, c: c}
	maxOK := c.MaxFrame >= 4 && c.MaxFrame <= 4096
	if !maxOK {
		fe.Add("max_frame", "%d is out of range (valid: 4 to 4096, e.g. 256)", c.MaxFrame)
	}
	if len(c.Start) > MaxMarker {
		fe.Add("start", "%d bytes is too long a marker (valid: up to %d)", len(c.Start), MaxMarker)
	}
	if len(c.End) > MaxMarker {
		fe.Add("end", "%d bytes is too long a marker (valid: up to %d)", len(c.End), MaxMarker)
	}
	switch {
	case len(c.End) == 0 && c.Length == nil:
		fe.Add("end", "is required without a length field: nothing would say where a frame ends (e.g. end: 0D0A, or length: {offset: 2, size: 1})")
	case len(c.Start) == 0 && len(c.End) == 0:
		fe.Add("start", "is required without an end marker: nothing would say where a frame begins (e.g. start: AA55)")
	}
	if l := c.Length; l != nil {
		if l.Size != 1 && l.Size != 2 {
			fe.Add("length.size", "%d is not a length field's size (valid: 1, 2)", l.Size)
		}
		v.order("length.order", l.Order)
		v.offset("length.offset", l.Offset, max(l.Size, 1))
	}
	if ck := c.Check; ck != nil {
		v.check(ck)
	}
	if a := c.Address; a != nil {
		v.field("address", a.Offset, a.Size, a.Order)
	}
	if len(c.Points) == 0 && len(c.Flags) == 0 {
		fe.Add("points", "a frame with neither points nor flags reads nothing (want at least one of either)")
	}
	names := map[string]int{}
	for i, p := range c.Points {
		at := fmt.Sprintf("points[%d]", i)
		if p.Name == "" {
			fe.Add(at+".name", "is required (a point of the device's profile, e.g. smoke)")
		} else if j, dup := names[p.Name]; dup {
			fe.Add(at+".name", "%q is also points[%d]'s name (each point is read once)", p.Name, j)
		} else {
			names[p.Name] = i
		}
		v.field(at, p.Offset, p.Size, p.Order)
		if math.IsNaN(p.Scale) || math.IsInf(p.Scale, 0) {
			fe.Add(at+".scale", "%v is not a number (want e.g. 0.1, or leave it out for 1)", p.Scale)
		}
	}
	if len(c.Flags) > MaxFlags {
		fe.Add("flags", "%d flags are too many (valid: up to %d)", len(c.Flags), MaxFlags)
	}
	events := map[string]int{}
	for i, f := range c.Flags {
		at := fmt.Sprintf("flags[%d]", i)
		v.offset(at+".offset", f.Offset, 1)
		if f.Bit < 0 || f.Bit > 7 {
			fe.Add(at+".bit", "%d is not a bit of a byte (valid: 0 to 7, 0 the least significant)", f.Bit)
		}
		switch {
		case !eventKindRE.MatchString(f.Event):
			fe.Add(at+".event", "%q is not an event kind (want lower case letters, digits and _, starting with a letter, e.g. smoke_alarm)", f.Event)
		case shouwang.IsClearKind(f.Event):
			fe.Add(at+".event", "%q is a clear event; it follows by itself when the bit clears (name the condition, e.g. smoke_alarm)", f.Event)
		default:
			if j, dup := events[f.Event]; dup {
				fe.Add(at+".event", "%q is also flags[%d]'s event (two bits raising one event would clear each other)", f.Event, j)
			}
			events[f.Event] = i
		}
		if _, ok := shouwang.ParseSeverity(f.Severity); !ok {
			fe.Add(at+".severity", "%q is not a severity (valid: %s)", f.Severity, strings.Join(shouwang.SeverityNames(), ", "))
		}
	}
	if maxOK && len(fe) == 0 {
		if n := newLayout(c).minLen; n > c.MaxFrame {
			fe.Add("max_frame", "%d is shorter than the %d bytes the markers and fields need (want at least %d)", c.MaxFrame, n, n)
		}
	}
	return fe
}

// validator holds what the checks of one Validate share.
type validator struct {
	fe *shouwang.FieldErrors
	c  *Config
}

func (v validator) order(at, o string) {
	if o != "" && o != OrderBig && o != OrderLittle {
		v.fe.Add(at, "%q is not a byte order (valid: %s, %s)", o, OrderBig, OrderLittle)
	}
}

// offset checks that size bytes at off lie within max_frame and after the
// start marker.
func (v validator) offset(at string, off, size int) {
	switch {
	case off < 0:
		v.fe.Add(at, "%d is negative (want the offset from the frame's first byte, 0 or more)", off)
	case off+size > v.c.MaxFrame && v.c.MaxFrame >= 4:
		v.fe.Add(at, "%d is beyond max_frame (want %d bytes at most %d)", off, size, v.c.MaxFrame)
	case off < len(v.c.Start):
		v.fe.Add(at, "%d is inside the start marker, bytes 0 to %d (want %d or more)", off, len(v.c.Start)-1, len(v.c.Start))
	}
}

func (v validator) field(at string, off, size int, order string) {
	if size != 1 && size != 2 && size != 4 {
		v.fe.Add(at+".size", "%d is not a field size (valid: 1, 2, 4)", size)
	}
	v.order(at+".order", order)
	v.offset(at+".offset", off, max(size, 1))
}

func (v validator) check(ck *Check) {
	size := checkSize(ck.Type)
	if size == 0 {
		v.fe.Add("check.type", "%q is not a check type (valid: %s, %s, %s)", ck.Type, CheckSum8, CheckXOR8, CheckCRC16Modbus)
		size = 1
	}
	if ck.From < 0 || (ck.From >= v.c.MaxFrame && v.c.MaxFrame >= 4) {
		v.fe.Add("check.from", "%d is out of range (want an offset from 0 to max_frame - 1)", ck.From)
	}
	if ck.At > 0 {
		v.offset("check.at", ck.At, size)
	} else if ck.At < 0 && (-ck.At < size || -ck.At > v.c.MaxFrame) {
		v.fe.Add("check.at", "%d leaves no room for the %d check byte(s) (want -%d or less, counting from the frame's end)", ck.At, size, size)
	}
	if abs(ck.To) > v.c.MaxFrame && v.c.MaxFrame >= 4 {
		v.fe.Add("check.to", "%d is beyond max_frame (%d)", ck.To, v.c.MaxFrame)
	}
	at, to := ck.At, ck.To
	if at == 0 {
		at = -(len(v.c.End) + size)
	}
	if to == 0 {
		to = at
	}
	switch {
	case to > 0 && to <= ck.From:
		v.fe.Add("check.to", "%d is not after from (%d): the check would cover no bytes", to, ck.From)
	case at > 0 && to > 0 && ck.From < at+size && at < to, at < 0 && to < 0 && at < to:
		v.fe.Add("check.to", "%d takes in the check's own bytes at %d (want %d at most)", to, at, at)
	}
}

// checkSize is the number of bytes a check type takes, 0 for an unknown one.
func checkSize(typ string) int {
	switch typ {
	case CheckSum8, CheckXOR8:
		return 1
	case CheckCRC16Modbus:
		return 2
	}
	return 0
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// ErrorKinds lists every kind of error the decoder reports.
var ErrorKinds = []string{ErrNoise, ErrOverlong, ErrBadLength, ErrBadEnd, ErrChecksum, ErrTooManyAddresses}

// What the decoder could not read, for the error counter.
const (
	// ErrNoise is bytes skipped looking for a frame's start: one count
	// per run of up to max_frame bytes between frames. Bytes of a frame
	// already counted as bad are not counted again.
	ErrNoise = "noise"
	// ErrOverlong is no end marker within max_frame bytes of a frame's
	// start (when there is no length field).
	ErrOverlong = "overlong"
	// ErrBadLength is a length field giving a frame shorter than its
	// markers and fields or longer than max_frame.
	ErrBadLength = "bad_length"
	// ErrBadEnd is no end marker where the length field says the frame
	// ends.
	ErrBadEnd = "bad_end"
	// ErrChecksum is a check that does not match the frame.
	ErrChecksum = "checksum"
	// ErrTooManyAddresses is a frame from a new address when MaxAddresses
	// are tracked already: its points are read, its flags raise nothing.
	ErrTooManyAddresses = "too_many_addresses"
)
