package modbus

import (
	"encoding/binary"
	"fmt"
	"time"

	gm "github.com/goburrow/modbus"
	"github.com/shouwang-iot/shouwang"
)

// Reader is what a poll needs of a Modbus client (goburrow's modbus.Client
// has it): the four reads, each returning the response's data bytes.
type Reader interface {
	ReadCoils(address, quantity uint16) ([]byte, error)
	ReadDiscreteInputs(address, quantity uint16) ([]byte, error)
	ReadHoldingRegisters(address, quantity uint16) ([]byte, error)
	ReadInputRegisters(address, quantity uint16) ([]byte, error)
}

// PollStats count what one poll did.
type PollStats struct {
	Transactions int // requests sent, answered or not
	Splits       int // coalesced reads split after exception 2
	Unreadable   int // points the device refuses even alone
}

// RawWords receives, for each point read (by its index in the points
// given to Poll), the registers its value was decoded from (a coil or input bit as one word, 0 or 1): what the
// installer holds the decoded value against. The slice is Poll's; copy it.
type RawWords func(point int, words []uint16)

// Poll reads every request of plan (built from points) through r and
// appends a reading per numeric point to dst, stamped now; raw, unless
// nil, sees every point's registers. A read that
// gets exception 2 (illegal data address) is split and the halves read
// in the same poll; a point the device refuses even alone is reported as
// a Bad reading, and the plan remembers not to join it again. Any other
// failure (a timeout, a broken frame, another exception) ends the poll and
// is returned with what was read before it: the caller decides whether the
// device is offline.
func Poll(r Reader, plan *PollPlan, points []Point, device string, now time.Time, dst []shouwang.Reading, raw RawWords) ([]shouwang.Reading, PollStats, error) {
	var st PollStats
	buf := plan.words[:protocolMaxRegisters] // a request's registers, decoded
	bit := plan.words[protocolMaxRegisters:] // a bit point's, for raw
	for i := 0; i < len(plan.Requests()); i++ {
		req := plan.Requests()[i]
		st.Transactions++
		data, err := read(r, req)
		if err != nil {
			if me := Exception(err); me == nil || me.ExceptionCode != gm.ExceptionCodeIllegalDataAddress {
				return dst, st, fmt.Errorf("%s %d+%d: %w", req.Table, req.Start, req.Count, err)
			}
			if plan.Split(i) {
				st.Splits++
				i-- // read the narrower requests that took its place
				continue
			}
			st.Unreadable += len(req.Points)
			for _, k := range req.Points {
				if p := &points[k]; p.Type != String {
					dst = append(dst, shouwang.Reading{Device: device, Point: p.Name, Unit: p.Unit, Quality: shouwang.Bad, Time: now})
				}
			}
			continue
		}
		var regs []uint16
		if !req.Table.Bits() {
			if len(data) < 2*int(req.Count) {
				return dst, st, fmt.Errorf("%s %d+%d: %d bytes in the answer, want %d", req.Table, req.Start, req.Count, len(data), 2*req.Count)
			}
			regs = buf[:req.Count] // at most 125: the plan keeps to the protocol
			for j := range regs {
				regs[j] = binary.BigEndian.Uint16(data[2*j:])
			}
		}
		for _, k := range req.Points {
			p := &points[k]
			if p.Type == String {
				continue // text is for the installer's table, not a reading
			}
			rd := shouwang.Reading{Device: device, Point: p.Name, Unit: p.Unit, Quality: shouwang.Good, Time: now}
			off := int(p.Address - req.Start)
			var err error
			if req.Table.Bits() {
				var on bool
				if on, err = Bit(data, off); on {
					rd.Value = 1
				}
				if raw != nil && err == nil {
					bit[0] = uint16(rd.Value)
					raw(k, bit)
				}
			} else {
				rd.Value, err = Value(p, regs[off:])
				if n := int(p.Span()); raw != nil && off+n <= len(regs) {
					raw(k, regs[off:off+n])
				}
			}
			if err != nil {
				rd.Quality, rd.Value = shouwang.Bad, 0
			}
			dst = append(dst, rd)
		}
	}
	return dst, st, nil
}

func read(r Reader, req Request) ([]byte, error) {
	switch req.Table {
	case Coils:
		return r.ReadCoils(req.Start, req.Count)
	case DiscreteInputs:
		return r.ReadDiscreteInputs(req.Start, req.Count)
	case HoldingRegisters:
		return r.ReadHoldingRegisters(req.Start, req.Count)
	case InputRegisters:
		return r.ReadInputRegisters(req.Start, req.Count)
	}
	return nil, fmt.Errorf("no read for table %s", req.Table)
}
