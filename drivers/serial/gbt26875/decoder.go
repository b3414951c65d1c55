package gbt26875

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/serial/stream"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// What the decoder could not read, for the error counter.
const (
	ErrNoise             = "noise"              // bytes outside any frame (line noise, a frame's lost start)
	ErrBadLength         = "bad_length"         // a length field over 1024
	ErrBadEnd            = "bad_end"            // no "##" where the length says the frame ends
	ErrChecksum          = "checksum"           // the sum does not match: never answered
	ErrTruncated         = "truncated"          // a frame cut off by the next one or by silence
	ErrUnknownCommand    = "unknown_command"    // a command byte the standard does not define: denied
	ErrUnexpectedCommand = "unexpected_command" // a centre's command (control, request) sent to the centre: denied
	ErrBadADU            = "bad_adu"            // objects that do not fit the length: denied
	ErrUnknownType       = "unknown_type"       // a type flag the standard does not define: confirmed, skipped
	ErrBadTime           = "bad_time"           // a time label that is no date or lies ahead: the receive time is used
	ErrTooManyComponents = "too_many_components"
)

// ErrorKinds lists every kind of error the decoder reports.
var ErrorKinds = []string{ErrNoise, ErrBadLength, ErrBadEnd, ErrChecksum, ErrTruncated, ErrUnknownCommand,
	ErrUnexpectedCommand, ErrBadADU, ErrUnknownType, ErrBadTime, ErrTooManyComponents}

// Ways of spelling a component's 4-byte address.
const (
	AddressLoopPoint = "loop_point" // "1-23": loop (区号, low two bytes) and point (位号, high two)
	AddressNumber    = "number"     // "1507329": the four bytes as one number
)

// Config is the gbt26875 section of a serial driver.
type Config struct {
	// ComponentAddress is how a component's address is spelled in device
	// addresses: loop_point (default; the two halves the standard calls
	// 区号 and 位号, "1-23") or number (one 32-bit number).
	ComponentAddress string `yaml:"component_address"`
}

// DefaultConfig returns the defaults the section is decoded over.
func DefaultConfig() Config { return Config{ComponentAddress: AddressLoopPoint} }

// Validate reports every problem with the section.
func (c *Config) Validate() shouwang.FieldErrors {
	var fe shouwang.FieldErrors
	if c.ComponentAddress != AddressLoopPoint && c.ComponentAddress != AddressNumber {
		fe.Add("component_address", "%q is not an address form (valid: %s, %s)", c.ComponentAddress, AddressLoopPoint, AddressNumber)
	}
	return fe
}

// maxTracked bounds the components whose state a decoder keeps; a UITD
// with more (or noise that passed the checksum) gets its events without
// change detection.
const maxTracked = 1 << 16

// aheadLimit is how far ahead of the receive time a time label may be
// before it is taken for a wrong clock.
const aheadLimit = time.Hour

// Decoder reads one stream of GB/T 26875.3 frames. Device addresses are
// "<UITD>:<system type>/<system address>/<component>" for a component,
// "<UITD>:<system type>/<system address>" for the fire alarm system
// (the panel) and "<UITD>:uitd" for the transmission device, the UITD
// being the sender's address as a decimal number; the driver also finds
// a device placed without the "<UITD>:" part.
type Decoder struct {
	cfg     Config
	loc     *time.Location
	onError stream.ErrorFunc

	buf       []byte
	pendSince time.Time // when the incomplete frame at buf[0] began to wait
	reply     []byte
	states    map[stateKey]*state

	labelSec int64 // the second labelAt holds
	labelAt  [6]byte
}

// stateKey names what has a state: the UITD, a system or a component.
type stateKey struct {
	uitd    Address
	scope   byte // TypeSystemStatus, TypeComponentStatus or TypeUITDStatus
	sysType byte
	sysAddr byte
	comp    uint32
}

type state struct {
	address string
	bits    uint16
	seen    bool
}

// New makes a decoder; c must be valid. Time labels are read in loc (the
// UITD's clock; China keeps one offset, +08:00).
func New(c Config, loc *time.Location, onError stream.ErrorFunc) *Decoder {
	return &Decoder{cfg: c, loc: loc, onError: onError, buf: make([]byte, 0, 2*MaxFrame),
		states: map[stateKey]*state{}, labelSec: -1}
}

var _ stream.Decoder = (*Decoder)(nil)

var startMarker = []byte("@@")

// Feed implements stream.Decoder. The reply holds a confirm frame for
// every valid data frame and a deny for a valid frame the gateway cannot
// take, in order; a frame that failed its checksum is never answered.
// Feed with no bytes lets a frame that stopped arriving time out.
func (d *Decoder) Feed(p []byte, now time.Time, b *shouwang.Batch) []byte {
	d.reply = d.reply[:0]
	for {
		n := min(len(p), MaxFrame)
		d.buf = append(d.buf, p[:n]...)
		p = p[n:]
		d.scan(now, b)
		if len(p) == 0 {
			break
		}
	}
	if len(d.reply) == 0 {
		return nil
	}
	return d.reply
}

// frameTimeout is how long an incomplete frame waits for its rest. A
// whole frame of 1054 bytes takes 1.1 s at 9600 baud.
const frameTimeout = 3 * time.Second

// scan takes every complete frame off the front of buf and keeps the rest.
func (d *Decoder) scan(now time.Time, b *shouwang.Batch) {
	buf := d.buf
	for len(buf) > 0 {
		i := bytes.Index(buf, startMarker)
		if i < 0 {
			keep := len(buf)
			if buf[len(buf)-1] == '@' {
				keep--
			}
			if keep > 0 {
				d.onError(ErrNoise, buf[:keep])
			}
			buf = buf[keep:]
			break
		}
		if i > 0 {
			d.onError(ErrNoise, buf[:i])
			buf = buf[i:]
		}
		n, kind := frameLen(buf)
		switch {
		case kind != "":
			d.onError(kind, buf[:min(len(buf), n)])
			buf, d.pendSince = buf[1:], time.Time{}
			continue
		case n > len(buf):
			if j := nextFrame(buf); j > 0 {
				d.onError(ErrTruncated, buf[:j])
				buf, d.pendSince = buf[j:], time.Time{}
				continue
			}
			if d.pendSince.IsZero() {
				d.pendSince = now
			} else if now.Sub(d.pendSince) >= frameTimeout {
				d.onError(ErrTruncated, buf)
				buf, d.pendSince = buf[1:], time.Time{}
				continue
			}
			d.keep(buf)
			return
		}
		d.pendSince = time.Time{}
		d.frame(buf[:n], now, b)
		buf = buf[n:]
	}
	d.pendSince = time.Time{}
	d.keep(buf)
}

// keep moves the unread rest to the front of the buffer.
func (d *Decoder) keep(rest []byte) {
	d.buf = d.buf[:copy(d.buf, rest)]
}

// frameLen checks the frame starting at f[0] as far as its bytes have
// arrived: n is its whole length (possibly more than len(f)), or kind
// says why it is no frame.
func frameLen(f []byte) (n int, kind string) {
	if len(f) < HeaderSize {
		return MaxFrame, ""
	}
	l := int(binary.LittleEndian.Uint16(f[24:]))
	if l > MaxADU {
		return HeaderSize, ErrBadLength
	}
	n = HeaderSize + l + TrailerLen
	if len(f) < n {
		return n, ""
	}
	if f[n-2] != '#' || f[n-1] != '#' {
		return n, ErrBadEnd
	}
	if checksum(f[2:n-3]) != f[n-3] {
		return n, ErrChecksum
	}
	return n, ""
}

// nextFrame returns where a complete, valid frame starts inside the
// incomplete one at f[0], or 0. A UITD sends one frame after another, so
// such a frame means the one waiting lost its tail; without this a lying
// length field would hold back the frames behind it until more bytes
// came, which on a quiet line is until the next alarm.
func nextFrame(f []byte) int {
	for off := 1; off < len(f); {
		i := bytes.Index(f[off:], startMarker)
		if i < 0 {
			return 0
		}
		j := off + i
		if n, kind := frameLen(f[j:]); kind == "" && n <= len(f)-j {
			return j
		}
		off = j + 1
	}
	return 0
}

// frame handles one frame that passed its checks.
func (d *Decoder) frame(f []byte, now time.Time, b *shouwang.Batch) {
	h := parseHeader(f)
	adu := f[HeaderSize : len(f)-TrailerLen]
	switch h.Command {
	case CmdSend:
		if d.adu(h, adu, now, b) {
			d.answer(h, CmdConfirm, now)
		} else {
			d.answer(h, CmdDeny, now)
		}
	case CmdResponse:
		d.adu(h, adu, now, b)
	case CmdConfirm, CmdDeny:
		// answers to the centre's own frames; the gateway sends none yet
	case CmdControl, CmdRequest:
		d.onError(ErrUnexpectedCommand, f)
		d.answer(h, CmdDeny, now)
	default:
		d.onError(ErrUnknownCommand, f)
		d.answer(h, CmdDeny, now)
	}
}

// answer appends the confirm or deny of h: the same serial number and
// version, source and destination swapped, no data, the gateway's time.
func (d *Decoder) answer(h Header, cmd byte, now time.Time) {
	if sec := now.Unix(); sec != d.labelSec {
		d.labelSec, d.labelAt = sec, TimeLabel(now.In(d.loc))
	}
	d.reply = AppendFrame(d.reply, Header{Serial: h.Serial, Version: h.Version, Time: d.labelAt,
		Source: h.Dest, Dest: h.Source, Command: cmd}, nil)
}

// adu decodes an application data unit; it returns false when its
// objects do not fit its length (the frame is denied, nothing is taken).
func (d *Decoder) adu(h Header, adu []byte, now time.Time, b *shouwang.Batch) bool {
	if len(adu) == 0 {
		return true // a heartbeat
	}
	if len(adu) < 2 {
		d.onError(ErrBadADU, adu)
		return false
	}
	typ, count := adu[0], int(adu[1])
	size, known := objectSize[typ]
	switch {
	case ignoredTypes[typ]:
		return true
	case !known:
		d.onError(ErrUnknownType, adu[:min(len(adu), 64)])
		return true
	case count == 0 || 2+count*size != len(adu):
		d.onError(ErrBadADU, adu[:min(len(adu), 64)])
		return false
	}
	for o := adu[2:]; len(o) > 0; o = o[size:] {
		d.object(h.Source, typ, o[:size], now, b)
	}
	return true
}

// object turns one object into events and readings.
func (d *Decoder) object(uitd Address, typ byte, o []byte, now time.Time, b *shouwang.Batch) {
	at := d.eventTime(o[len(o)-6:], now)
	switch typ {
	case TypeSystemStatus:
		st := d.state(stateKey{uitd: uitd, scope: TypeSystemStatus, sysType: o[0], sysAddr: o[1]})
		d.conditions(b, st, binary.LittleEndian.Uint16(o[2:]), systemBits, at, nil, -1)
	case TypeComponentStatus:
		st := d.state(d.componentKey(uitd, o))
		d.conditions(b, st, binary.LittleEndian.Uint16(o[7:]), componentBits, at, o[9:40], int(o[2]))
	case TypeAnalog:
		st := d.state(d.componentKey(uitd, o))
		k, ok := analogKinds[o[7]]
		if !ok {
			k = analogKind{point: "analog_" + strconv.Itoa(int(o[7])), scale: 1}
		}
		v := float64(int16(binary.LittleEndian.Uint16(o[8:]))) * k.scale
		b.Readings = append(b.Readings, shouwang.Reading{Device: st.address, Point: k.point, Value: v, Unit: k.unit, Time: at})
	case TypeOperation:
		st := d.state(stateKey{uitd: uitd, scope: TypeSystemStatus, sysType: o[0], sysAddr: o[1]})
		d.operations(b, st.address, o[2], o[3], facilityOperations, at)
	case TypeUITDStatus:
		st := d.state(stateKey{uitd: uitd, scope: TypeUITDStatus})
		d.conditions(b, st, uint16(o[0]), uitdBits, at, nil, -1)
	case TypeUITDOperation:
		st := d.state(stateKey{uitd: uitd, scope: TypeUITDStatus})
		d.operations(b, st.address, o[0], o[1], uitdOperations, at)
	}
}

func (d *Decoder) componentKey(uitd Address, o []byte) stateKey {
	return stateKey{uitd: uitd, scope: TypeComponentStatus, sysType: o[0], sysAddr: o[1], comp: binary.LittleEndian.Uint32(o[3:])}
}

// eventTime is an object's time label, or now when the label is no date
// or lies more than aheadLimit ahead (a UITD whose clock was never set).
func (d *Decoder) eventTime(label []byte, now time.Time) time.Time {
	t, ok := parseTime(label, d.loc)
	if !ok || t.Sub(now) > aheadLimit {
		d.onError(ErrBadTime, label)
		return now
	}
	return t
}

// state returns what is known of k, making its address the first time.
func (d *Decoder) state(k stateKey) *state {
	if st, ok := d.states[k]; ok {
		return st
	}
	st := &state{address: d.address(k)}
	if len(d.states) < maxTracked {
		d.states[k] = st
	} else {
		d.onError(ErrTooManyComponents, []byte(st.address))
	}
	return st
}

func (d *Decoder) address(k stateKey) string {
	uitd := strconv.FormatUint(uint64(k.uitd), 10)
	switch k.scope {
	case TypeUITDStatus:
		return uitd + ":uitd"
	case TypeSystemStatus:
		return fmt.Sprintf("%s:%d/%d", uitd, k.sysType, k.sysAddr)
	}
	if d.cfg.ComponentAddress == AddressNumber {
		return fmt.Sprintf("%s:%d/%d/%d", uitd, k.sysType, k.sysAddr, k.comp)
	}
	return fmt.Sprintf("%s:%d/%d/%d-%d", uitd, k.sysType, k.sysAddr, k.comp&0xFFFF, k.comp>>16)
}

// conditions reports the bits of table that changed since st was last
// seen, and all of them the first time (so the rules learn the state
// after a restart). desc is a component's description as sent (decoded
// only when there is something to report), compType its type code or -1.
func (d *Decoder) conditions(b *shouwang.Batch, st *state, bits uint16, table []bitKind, at time.Time, rawDesc []byte, compType int) {
	changed := bits ^ st.bits
	first := !st.seen
	st.bits, st.seen = bits, true
	if !first && changed == 0 {
		return
	}
	desc := description(rawDesc)
	for _, k := range table {
		on := bits&(1<<k.bit) != 0
		if !first && changed&(1<<k.bit) == 0 || k.oneOff && !on {
			continue
		}
		e := shouwang.Event{Device: st.address, Kind: k.kind, Severity: k.severity, Message: k.label, Time: at,
			Attrs: map[string]string{"status": fmt.Sprintf("0x%04X", bits)}}
		if !on {
			e.Kind, e.Severity, e.Message = shouwang.ClearKind(k.kind), shouwang.Info, k.label+"恢复"
		}
		if desc != "" {
			e.Message += " " + desc
			e.Attrs["description"] = desc
		}
		if compType >= 0 {
			e.Attrs["component_type"] = strconv.Itoa(compType)
		}
		b.Events = append(b.Events, e)
	}
}

// operations reports each operation bit set, with the operator's number.
func (d *Decoder) operations(b *shouwang.Batch, address string, flags, operator byte, table []bitKind, at time.Time) {
	for _, k := range table {
		if flags&(1<<k.bit) == 0 {
			continue
		}
		b.Events = append(b.Events, shouwang.Event{Device: address, Kind: k.kind, Severity: k.severity, Message: k.label, Time: at,
			Attrs: map[string]string{"operator": strconv.Itoa(int(operator))}})
	}
}

// description decodes a component's 31-byte GB 18030 text, trimmed of the
// spaces and NULs that pad it.
func description(raw []byte) string {
	raw = bytes.TrimRight(raw, " \x00")
	raw = bytes.TrimLeft(raw, " ")
	if len(raw) == 0 {
		return ""
	}
	s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(raw)
	if err != nil {
		return strings.ToValidUTF8(string(raw), "?")
	}
	return strings.TrimSpace(string(s))
}
