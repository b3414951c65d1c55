package frames

import (
	"bytes"
	"fmt"
	"math/bits"
	"strconv"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/serial/stream"
)

var _ stream.Decoder = (*Decoder)(nil)

// Decoder reads one stream of frames. One goroutine uses it.
//
// It holds at most max_frame bytes between calls, however the stream
// misbehaves: after a bad frame it goes on at the byte after that frame's
// start, not after the length the frame claimed, so a good frame behind a
// lying length field is still read.
type Decoder struct {
	l       layout
	onError stream.ErrorFunc
	// buf holds the start of a frame not yet complete; its capacity is
	// max_frame and it never grows.
	buf []byte
	// pos is the stream offset of the first byte scan looks at: buf[0],
	// or the next byte fed when buf is empty. The offsets below are
	// stream offsets too, so they stay right however reads cut the stream.
	pos int64
	// quietEnd ends the bytes of the last bad frame: skipping them is not
	// noise, as the frame was counted already.
	quietEnd int64
	// No end marker starts in [endFrom, endKnown): a search for one that
	// begins in that range goes on from endKnown, so neither a frame fed
	// byte by byte nor a run of start markers rescans the same bytes.
	endFrom, endKnown int64
	// synced is false, without a start marker, while the decoder looks for
	// an end marker to go on after.
	synced bool
	// noiseN counts the bytes of the current run of noise; noise holds its
	// first bytes, the sample reported.
	noiseN int
	noise  [32]byte
	// sensors holds each address's name and flags; panel is the one
	// sensor of a config without an address field.
	sensors map[uint32]*sensor
	panel   sensor
}

// sensor is what a decoder remembers of one address.
type sensor struct {
	name  string
	flags uint64 // bit i is flags[i]'s last state
	seen  bool   // flags is known: the first frame's states were reported
}

// New returns a decoder for c, which must be valid (Validate), telling
// onError (which may be nil) what it could not read. It panics on an
// invalid config: the gateway validates configs before it builds anything.
func New(c Config, onError stream.ErrorFunc) *Decoder {
	if fe := c.Validate(); len(fe) > 0 {
		panic("frames.New: invalid config: " + fe.Error())
	}
	l := newLayout(&c)
	return &Decoder{l: l, onError: onError, buf: make([]byte, 0, l.maxFrame), synced: true,
		sensors: map[uint32]*sensor{}, panel: sensor{name: stream.PanelAddress}}
}

// Feed reads the frames p completes into b, with Time now. It always
// returns nil: the concentrators it reads expect no answer.
func (d *Decoder) Feed(p []byte, now time.Time, b *shouwang.Batch) (reply []byte) {
	for len(p) > 0 {
		if len(d.buf) == 0 {
			// Read straight from p; keep only an unfinished frame.
			c := d.scan(p, now, b)
			d.pos += int64(c)
			d.buf = append(d.buf, p[c:]...)
			return nil
		}
		// Top up the held frame to at most max_frame bytes.
		held := len(d.buf)
		k := min(len(p), d.l.maxFrame-held)
		d.buf = append(d.buf, p[:k]...)
		c := d.scan(d.buf, now, b)
		d.pos += int64(c)
		if c >= held {
			// What was held is read; go on from p itself, where the
			// bytes scan left over begin.
			p = p[c-held:]
			d.buf = d.buf[:0]
			continue
		}
		d.buf = d.buf[:copy(d.buf, d.buf[c:])]
		p = p[k:]
	}
	return nil
}

// scan reads the frames in data, whose first byte is at stream offset
// d.pos, and returns how many bytes it is done with. What it leaves is the
// start of a frame or marker not yet complete, always shorter than
// max_frame.
func (d *Decoder) scan(data []byte, now time.Time, b *shouwang.Batch) int {
	l := &d.l
	i := 0
	for {
		switch {
		case len(l.start) > 0:
			k := bytes.Index(data[i:], l.start)
			if k < 0 {
				cut := max(i, len(data)-len(l.start)+1) // keep a marker's beginning
				d.skip(data, i, cut)
				return cut
			}
			d.skip(data, i, i+k)
			d.flushNoise()
			i += k
		case !d.synced:
			e := d.findEnd(data, i, len(data))
			if e < 0 {
				cut := max(i, len(data)-len(l.end)+1)
				d.skip(data, i, cut)
				return cut
			}
			d.skip(data, i, e+len(l.end))
			d.flushNoise()
			i = e + len(l.end)
			d.synced = true
		}
		n, kind, extent := d.frame(data, i)
		switch {
		case kind != "":
			d.report(kind, data[i:i+extent])
			d.quietEnd = max(d.quietEnd, d.pos+int64(i+extent))
			i++
			d.synced = false
		case n == 0:
			return i
		default:
			d.emit(data[i:i+n], now, b)
			i += n
		}
	}
}

// frame reads the frame that starts at data[i]: its length n, or the kind
// of what is wrong with it and how many bytes to report, or neither when
// it is not complete yet.
func (d *Decoder) frame(data []byte, i int) (n int, kind string, extent int) {
	l := &d.l
	avail := len(data) - i
	if l.hasLength {
		h := l.length.off + l.length.size
		if avail < h {
			return 0, "", 0
		}
		n = int(l.length.read(data[i:])) + l.adjust
		if n < l.minLen || n > l.maxFrame {
			return 0, ErrBadLength, h
		}
		if avail < n {
			return 0, "", 0
		}
		if len(l.end) > 0 && !bytes.Equal(data[i+n-len(l.end):i+n], l.end) {
			return 0, ErrBadEnd, n
		}
	} else {
		limit := i + l.maxFrame
		hi := min(len(data), limit)
		e := d.findEnd(data, i+l.minLen-len(l.end), hi)
		if e < 0 {
			if hi == limit {
				return 0, ErrOverlong, l.maxFrame
			}
			return 0, "", 0
		}
		n = e + len(l.end) - i
	}
	if !l.checkOK(data[i : i+n]) {
		return 0, ErrChecksum, n
	}
	return n, "", 0
}

// findEnd returns the index of the first end marker that starts at from
// or after and ends by hi, or -1.
func (d *Decoder) findEnd(data []byte, from, hi int) int {
	end := d.l.end
	at := d.pos + int64(from)
	s := from
	if d.endFrom <= at && at < d.endKnown {
		s = int(d.endKnown - d.pos)
	}
	if s+len(end) > hi {
		return -1
	}
	if k := bytes.Index(data[s:hi], end); k >= 0 {
		d.endFrom, d.endKnown = at, d.pos+int64(s+k)
		return s + k
	}
	d.endFrom, d.endKnown = at, d.pos+int64(hi-len(end)+1)
	return -1
}

// skip passes over data[from:to], counting what is not part of a bad
// frame as noise.
func (d *Decoder) skip(data []byte, from, to int) {
	if q := d.quietEnd - d.pos; q > int64(from) {
		from = int(min(q, int64(to)))
	}
	for from < to {
		k := min(to-from, d.l.maxFrame-d.noiseN)
		if d.noiseN < len(d.noise) {
			copy(d.noise[d.noiseN:], data[from:from+k])
		}
		d.noiseN += k
		from += k
		if d.noiseN == d.l.maxFrame {
			d.flushNoise()
		}
	}
}

// flushNoise reports the current run of noise, if any.
func (d *Decoder) flushNoise() {
	if d.noiseN > 0 {
		d.report(ErrNoise, d.noise[:min(d.noiseN, len(d.noise))])
		d.noiseN = 0
	}
}

func (d *Decoder) report(kind string, sample []byte) {
	if d.onError != nil {
		d.onError(kind, sample)
	}
}

// emit appends what a good frame says to b.
func (d *Decoder) emit(f []byte, now time.Time, b *shouwang.Batch) {
	l := &d.l
	s, device := d.sensor(f)
	for i := range l.points {
		p := &l.points[i]
		b.Readings = append(b.Readings, shouwang.Reading{Device: device, Point: p.name,
			Value: p.value(f), Unit: p.unit, Quality: shouwang.Good, Time: now})
	}
	if s == nil || len(l.flags) == 0 {
		return
	}
	var state uint64
	for i := range l.flags {
		if f[l.flags[i].off]&l.flags[i].mask != 0 {
			state |= 1 << i
		}
	}
	changed := state ^ s.flags
	if !s.seen {
		changed = 1<<len(l.flags) - 1 // MaxFlags is 64: 1<<64 - 1 is all ones
		s.seen = true
	}
	s.flags = state
	for changed != 0 {
		i := bits.TrailingZeros64(changed)
		changed &= changed - 1
		fl := &l.flags[i]
		ev := shouwang.Event{Device: device, Kind: fl.event, Severity: fl.severity, Message: fl.setMsg, Time: now}
		if state&(1<<i) == 0 {
			ev.Kind, ev.Severity, ev.Message = fl.clear, shouwang.Info, fl.clearMsg
		}
		b.Events = append(b.Events, ev)
	}
}

// sensor returns the frame's sensor and its device address; the sensor
// is nil for a new address past MaxAddresses.
func (d *Decoder) sensor(f []byte) (*sensor, string) {
	if !d.l.hasAddress {
		return &d.panel, d.panel.name
	}
	a := d.l.address.read(f)
	if s := d.sensors[a]; s != nil {
		return s, s.name
	}
	name := strconv.FormatUint(uint64(a), 10)
	if len(d.sensors) >= MaxAddresses {
		d.report(ErrTooManyAddresses, f)
		return nil, name
	}
	s := &sensor{name: name}
	d.sensors[a] = s
	return s, name
}

// layout is a valid config made ready to read frames with.
type layout struct {
	start, end []byte
	maxFrame   int
	// minLen is the shortest frame that holds the markers and fields.
	minLen int

	hasLength bool
	length    numField
	adjust    int

	check     int // checkNone or one of the check* values
	checkSize int
	from      int
	to, at    int // negative: from the frame's end

	hasAddress bool
	address    numField
	points     []pointField
	flags      []flagField
}

const (
	checkNone = iota
	checkSum8
	checkXOR8
	checkCRC16
)

// numField is where an unsigned number is in a frame.
type numField struct {
	off, size int
	little    bool
}

func (n numField) read(f []byte) uint32 {
	p := f[n.off : n.off+n.size]
	switch {
	case n.size == 1:
		return uint32(p[0])
	case n.size == 2 && n.little:
		return uint32(p[0]) | uint32(p[1])<<8
	case n.size == 2:
		return uint32(p[0])<<8 | uint32(p[1])
	case n.little:
		return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
	default:
		return uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
	}
}

type pointField struct {
	numField
	signed     bool
	scale      float64
	name, unit string
}

func (p *pointField) value(f []byte) float64 {
	raw := p.read(f)
	var v float64
	switch {
	case !p.signed:
		v = float64(raw)
	case p.size == 1:
		v = float64(int8(raw))
	case p.size == 2:
		v = float64(int16(raw))
	default:
		v = float64(int32(raw))
	}
	return v * p.scale
}

type flagField struct {
	off              int
	mask             byte
	event, clear     string
	severity         shouwang.Severity
	setMsg, clearMsg string
}

// newLayout resolves c's defaults. c's types and sizes are valid; offsets
// may not be, which minLen then shows.
func newLayout(c *Config) layout {
	l := layout{start: bytes.Clone(c.Start), end: bytes.Clone(c.End), maxFrame: c.MaxFrame}
	body := len(l.start) // the bytes before the end marker
	if c.Length != nil {
		l.hasLength, l.adjust = true, c.Length.Adjust
		l.length = numField{off: c.Length.Offset, size: c.Length.Size, little: c.Length.Order == OrderLittle}
		body = max(body, l.length.off+l.length.size)
	}
	if c.Address != nil {
		l.hasAddress = true
		l.address = numField{off: c.Address.Offset, size: c.Address.Size, little: c.Address.Order == OrderLittle}
		body = max(body, l.address.off+l.address.size)
	}
	for _, p := range c.Points {
		scale := p.Scale
		if scale == 0 {
			scale = 1
		}
		l.points = append(l.points, pointField{numField: numField{off: p.Offset, size: p.Size, little: p.Order == OrderLittle},
			signed: p.Signed, scale: scale, name: p.Name, unit: p.Unit})
		body = max(body, p.Offset+p.Size)
	}
	for _, f := range c.Flags {
		sev, _ := shouwang.ParseSeverity(f.Severity)
		l.flags = append(l.flags, flagField{off: f.Offset, mask: 1 << f.Bit, event: f.Event,
			clear: shouwang.ClearKind(f.Event), severity: sev,
			setMsg:   fmt.Sprintf("bit %d of byte %d set", f.Bit, f.Offset),
			clearMsg: fmt.Sprintf("bit %d of byte %d clear", f.Bit, f.Offset)})
		body = max(body, f.Offset+1)
	}
	l.minLen = body + len(l.end)
	if ck := c.Check; ck != nil {
		l.check = map[string]int{CheckSum8: checkSum8, CheckXOR8: checkXOR8, CheckCRC16Modbus: checkCRC16}[ck.Type]
		l.checkSize, l.from, l.at, l.to = checkSize(ck.Type), ck.From, ck.At, ck.To
		if l.at == 0 {
			l.at = -(len(l.end) + l.checkSize)
		}
		if l.to == 0 {
			l.to = l.at
		}
		// The check's bytes and range must fit: a negative offset needs
		// that many bytes, and the range must not end before from.
		if l.at < 0 {
			l.minLen = max(l.minLen, -l.at)
		}
		if l.to < 0 {
			l.minLen = max(l.minLen, l.from-l.to)
		}
		if l.at > 0 {
			l.minLen = max(l.minLen, l.at+l.checkSize+len(l.end))
		}
		if l.to > 0 {
			l.minLen = max(l.minLen, l.to+len(l.end))
		}
	}
	l.minLen = max(l.minLen, 1)
	return l
}

// checkOK reports whether the frame's check matches; f is at least
// minLen long.
func (l *layout) checkOK(f []byte) bool {
	if l.check == checkNone {
		return true
	}
	at, to := l.at, l.to
	if at < 0 {
		at += len(f)
	}
	if to < 0 {
		to += len(f)
	}
	p := f[l.from:to]
	switch l.check {
	case checkSum8:
		var s byte
		for _, c := range p {
			s += c
		}
		return f[at] == s
	case checkXOR8:
		var x byte
		for _, c := range p {
			x ^= c
		}
		return f[at] == x
	default:
		c := crc16Modbus(p)
		return f[at] == byte(c) && f[at+1] == byte(c>>8)
	}
}

// crcTable is CRC-16/MODBUS (reflected polynomial 0xA001) by byte.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

func crc16Modbus(p []byte) uint16 {
	c := uint16(0xFFFF)
	for _, b := range p {
		c = c>>8 ^ crcTable[byte(c)^b]
	}
	return c
}
