package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// A record is one published batch. Its payload, inside the log's framing:
//
//	version   1 byte (recordVersion)
//	appended  varint, unix ms: when the outbox took it (for the oldest-age metric)
//	readings  uvarint count, then per reading: device, point, value (8 bytes
//	          IEEE 754 LE), unit, quality (1 byte), time (varint unix ns)
//	events    uvarint count, then per event: device, kind, severity (1 byte),
//	          message, time (varint unix ns), attrs (uvarint count, key, value)
//
// Strings are a uvarint length and the bytes.
const recordVersion = 1

// minReadingLen and minEventLen are the smallest encodings, used to refuse
// counts that cannot fit before allocating for them.
const (
	minReadingLen = 1 + 1 + 8 + 1 + 1 + 1
	minEventLen   = 1 + 1 + 1 + 1 + 1 + 1
)

var errShort = errors.New("record ends early")

func appendRecord(dst []byte, b shouwang.Batch, appended time.Time) []byte {
	dst = append(dst, recordVersion)
	dst = binary.AppendVarint(dst, appended.UnixMilli())
	dst = binary.AppendUvarint(dst, uint64(len(b.Readings)))
	for i := range b.Readings {
		r := &b.Readings[i]
		dst = appendString(dst, r.Device)
		dst = appendString(dst, r.Point)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(r.Value))
		dst = appendString(dst, r.Unit)
		dst = append(dst, byte(r.Quality))
		dst = binary.AppendVarint(dst, r.Time.UnixNano())
	}
	dst = binary.AppendUvarint(dst, uint64(len(b.Events)))
	for i := range b.Events {
		e := &b.Events[i]
		dst = appendString(dst, e.Device)
		dst = appendString(dst, e.Kind)
		dst = append(dst, byte(e.Severity))
		dst = appendString(dst, e.Message)
		dst = binary.AppendVarint(dst, e.Time.UnixNano())
		dst = binary.AppendUvarint(dst, uint64(len(e.Attrs)))
		for k, v := range e.Attrs {
			dst = appendString(dst, k)
			dst = appendString(dst, v)
		}
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decodeRecord is the inverse of appendRecord. The log's checksum has
// already vouched for the bytes, but a record written by a future version
// or a bug must give an error, never a panic or a huge allocation.
func decodeRecord(p []byte) (b shouwang.Batch, appended time.Time, err error) {
	d := decoder{p: p}
	if v := d.byte(); v != recordVersion {
		if d.err != nil {
			return b, appended, d.err
		}
		return b, appended, fmt.Errorf("record version %d (this build reads %d)", v, recordVersion)
	}
	appended = time.UnixMilli(d.varint())
	if n := d.count(minReadingLen); n > 0 {
		b.Readings = make([]shouwang.Reading, n)
		for i := range b.Readings {
			r := &b.Readings[i]
			r.Device, r.Point = d.string(), d.string()
			r.Value = math.Float64frombits(d.uint64())
			r.Unit = d.string()
			r.Quality = shouwang.Quality(d.byte())
			r.Time = time.Unix(0, d.varint())
		}
	}
	if n := d.count(minEventLen); n > 0 {
		b.Events = make([]shouwang.Event, n)
		for i := range b.Events {
			e := &b.Events[i]
			e.Device, e.Kind = d.string(), d.string()
			e.Severity = shouwang.Severity(d.byte())
			e.Message = d.string()
			e.Time = time.Unix(0, d.varint())
			if na := d.count(2); na > 0 {
				e.Attrs = make(map[string]string, na)
				for range na {
					k := d.string()
					e.Attrs[k] = d.string()
				}
			}
		}
	}
	if d.err == nil && len(d.p) != 0 {
		d.err = fmt.Errorf("%d bytes after the last event", len(d.p))
	}
	if d.err != nil {
		return shouwang.Batch{}, time.Time{}, d.err
	}
	return b, appended, nil
}

// decoder reads from p; after the first error every read returns zero
// values and err keeps that first error.
type decoder struct {
	p   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.p = nil
}

func (d *decoder) byte() byte {
	if len(d.p) < 1 {
		d.fail(errShort)
		return 0
	}
	c := d.p[0]
	d.p = d.p[1:]
	return c
}

func (d *decoder) uint64() uint64 {
	if len(d.p) < 8 {
		d.fail(errShort)
		return 0
	}
	v := binary.LittleEndian.Uint64(d.p)
	d.p = d.p[8:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.p)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.p)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.p = d.p[n:]
	return v
}

// count reads an element count and refuses one that the remaining bytes
// cannot hold at minLen bytes per element.
func (d *decoder) count(minLen int) int {
	n := d.uvarint()
	if n > uint64(len(d.p)/minLen) {
		d.fail(fmt.Errorf("count %d does not fit in %d bytes", n, len(d.p)))
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.p)) {
		d.fail(errShort)
		return ""
	}
	s := string(d.p[:n])
	d.p = d.p[n:]
	return s
}
