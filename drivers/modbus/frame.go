package modbus

import (
	"errors"
	"fmt"
	"io"
)

// RTU framing. goburrow's RTU transporter reads as many bytes as the
// request implies and never flushes, so after a timeout a slow slave's
// late answer is taken as the next request's; it also reads a serial port
// only. ReadFrame reads one answer from any stream (a serial port, or a
// serial server's TCP socket), sized from its own header, and goburrow's
// RTU packager then checks its CRC, slave id and function.

// RTU frame sizes: slave id, function, ..., CRC-16.
const (
	// A valid frame is at most 256 bytes; the buffer holds 3 + 255 + 2,
	// the most a byte count can announce.
	rtuMaxFrame       = 260
	rtuExceptionFrame = 5 // id, function|0x80, code, crc
)

// ErrFrame wraps every answer that is not a well-formed RTU frame for the
// request (short, too long, another slave's, another function's).
var ErrFrame = errors.New("malformed RTU frame")

// ReadFrame reads the answer to the RTU request req from r: for reads
// (functions 1 to 4) the data bytes the request's quantity takes, which the
// answer's byte count must say,
// for writes (5, 6, 15, 16) the fixed echo, and for an exception the
// five-byte frame. The answer's slave id and function must be the
// request's (or its exception): anything else is a late answer to an
// earlier request or line noise, returned as ErrFrame for the caller to
// flush. The CRC is not checked here. buf, if it holds 260 bytes (the
// most a byte count can announce), holds the result.
func ReadFrame(r io.Reader, req []byte, buf []byte) ([]byte, error) {
	if len(req) < 4 {
		return nil, fmt.Errorf("%w: request of %d bytes", ErrFrame, len(req))
	}
	if cap(buf) < rtuMaxFrame {
		buf = make([]byte, rtuMaxFrame)
	}
	buf = buf[:rtuMaxFrame]
	if _, err := io.ReadFull(r, buf[:3]); err != nil {
		return nil, err
	}
	id, fn := buf[0], buf[1]
	if id != req[0] {
		return nil, fmt.Errorf("%w: answer from slave %d to a request to %d", ErrFrame, id, req[0])
	}
	var n int
	switch {
	case fn == req[1]|0x80:
		n = rtuExceptionFrame
	case fn != req[1]:
		return nil, fmt.Errorf("%w: function %d in the answer to function %d", ErrFrame, fn, req[1])
	case fn >= 1 && fn <= 4:
		if len(req) < 6 {
			return nil, fmt.Errorf("%w: read request of %d bytes", ErrFrame, len(req))
		}
		// RTU has no transaction id: a late answer from this slave to an
		// earlier, different read is told apart by its size.
		if want := answerBytes(fn, int(req[4])<<8|int(req[5])); int(buf[2]) != want {
			return nil, fmt.Errorf("%w: %d data bytes in the answer to a read that takes %d", ErrFrame, buf[2], want)
		}
		n = 3 + int(buf[2]) + 2
	case fn == 5 || fn == 6 || fn == 15 || fn == 16:
		n = 8
	default:
		return nil, fmt.Errorf("%w: function %d is not one this driver sends", ErrFrame, fn)
	}
	if _, err := io.ReadFull(r, buf[3:n]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf[:n], nil
}

// answerBytes is the data bytes a read of quantity entries returns.
func answerBytes(fn byte, quantity int) int {
	if fn <= 2 {
		return (quantity + 7) / 8
	}
	return 2 * quantity
}
