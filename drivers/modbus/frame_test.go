package modbus_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"testing/iotest"

	gm "github.com/goburrow/modbus"
	"github.com/shouwang-iot/shouwang/drivers/modbus"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// Requests as the driver sends them.
var (
	readCoils    = testenv.RTUFrame(1, 1, 0, 0, 0, 10)   // 10 coils from 0
	readDiscrete = testenv.RTUFrame(1, 2, 0, 4, 0, 3)    // 3 discrete inputs from 4
	readHolding  = testenv.RTUFrame(1, 3, 0, 0, 0, 2)    // 2 holding registers from 0
	readInput    = testenv.RTUFrame(7, 4, 0, 0, 0, 125)  // 125 input registers, slave 7
	writeCoil    = testenv.RTUFrame(1, 5, 0, 3, 0xFF, 0) // coil 3 on
	writeReg     = testenv.RTUFrame(1, 6, 0, 16, 0, 2)   // holding 16 = 2
	writeCoils   = testenv.RTUFrame(1, 15, 0, 0, 0, 10, 2, 0xFF, 0x03)
	writeRegs    = testenv.RTUFrame(1, 16, 0, 0, 0, 2, 4, 0, 50, 0, 100)
)

// inputAnswer is the answer to readInput: 125 registers, 250 bytes, the
// most a read returns.
func inputAnswer() []byte {
	b := []byte{7, 4, 250}
	for i := range 250 {
		b = append(b, byte(i))
	}
	return testenv.RTUFrame(b...)
}

// TestReadFrame reads well-formed answers, whole and byte by byte, each
// followed by the start of the next answer, which must stay unread.
func TestReadFrame(t *testing.T) {
	for _, tc := range []struct {
		name      string
		req, want []byte
	}{
		{"holding registers", readHolding, testenv.RTUFrame(1, 3, 4, 0x00, 0x7D, 0x01, 0x02)},
		{"input registers, 250 bytes", readInput, inputAnswer()},
		{"coils", readCoils, testenv.RTUFrame(1, 1, 2, 0b0000_0101, 0b01)},
		{"discrete inputs", readDiscrete, testenv.RTUFrame(1, 2, 1, 0b010)},
		{"exception", readHolding, testenv.RTUFrame(1, 0x83, 2)},
		{"exception to a write", writeRegs, testenv.RTUFrame(1, 0x90, 4)},
		{"write single coil echo", writeCoil, writeCoil},
		{"write single register echo", writeReg, writeReg},
		{"write multiple coils", writeCoils, testenv.RTUFrame(1, 15, 0, 0, 0, 10)},
		{"write multiple registers", writeRegs, testenv.RTUFrame(1, 16, 0, 0, 0, 2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := []byte{tc.req[0], tc.req[1]}
			stream := append(append([]byte(nil), tc.want...), next...)
			for _, rd := range []struct {
				name string
				wrap func(io.Reader) io.Reader
			}{
				{"whole", func(r io.Reader) io.Reader { return r }},
				{"byte by byte", iotest.OneByteReader},
				{"in halves", iotest.HalfReader},
			} {
				src := bytes.NewReader(stream)
				buf := make([]byte, 512)
				got, err := modbus.ReadFrame(rd.wrap(src), tc.req, buf)
				if err != nil {
					t.Fatalf("%s: %v", rd.name, err)
				}
				if !bytes.Equal(got, tc.want) {
					t.Errorf("%s: got % x, want % x", rd.name, got, tc.want)
				}
				if &got[0] != &buf[0] {
					t.Errorf("%s: the frame is not in buf", rd.name)
				}
				if src.Len() != len(next) {
					t.Errorf("%s: %d bytes left unread, want the next answer's %d", rd.name, src.Len(), len(next))
				}
			}
			// Without a buffer, or with one too small, it makes its own.
			for _, buf := range [][]byte{nil, make([]byte, 8)} {
				got, err := modbus.ReadFrame(bytes.NewReader(stream), tc.req, buf)
				if err != nil || !bytes.Equal(got, tc.want) {
					t.Errorf("buf of %d: % x, %v", cap(buf), got, err)
				}
			}
		})
	}
}

// TestReadFrameMalformed: short frames are EOF errors; answers for
// another request (another slave, another function, another read's byte
// count), a byte count no read may return and functions the driver never
// sends are ErrFrame, read no further than the header; a stream's own
// error (a deadline) is returned as it is.
func TestReadFrameMalformed(t *testing.T) {
	deadline := func(b ...byte) io.Reader {
		return io.MultiReader(bytes.NewReader(b), iotest.ErrReader(os.ErrDeadlineExceeded))
	}
	for _, tc := range []struct {
		name   string
		req    []byte
		stream io.Reader
		want   error
		unread int // bytes of a bytes.Reader stream left unread; -1 not checked
	}{
		{"nothing", readHolding, bytes.NewReader(nil), io.EOF, 0},
		{"two bytes", readHolding, bytes.NewReader([]byte{1, 3}), io.ErrUnexpectedEOF, 0},
		{"data cut short", readHolding, bytes.NewReader(testenv.RTUFrame(1, 3, 4, 0, 1, 0, 2)[:8]), io.ErrUnexpectedEOF, 0},
		{"no CRC", readHolding, bytes.NewReader([]byte{1, 3, 4, 0, 1, 0, 2}), io.ErrUnexpectedEOF, 0},
		{"exception cut short", readHolding, bytes.NewReader(testenv.RTUFrame(1, 0x83, 2)[:4]), io.ErrUnexpectedEOF, 0},
		{"echo cut short", writeReg, bytes.NewReader(writeReg[:7]), io.ErrUnexpectedEOF, 0},
		{"another slave", readHolding, bytes.NewReader(testenv.RTUFrame(2, 3, 4, 0, 1, 0, 2)), modbus.ErrFrame, 6},
		{"another function", readHolding, bytes.NewReader(testenv.RTUFrame(1, 4, 4, 0, 1, 0, 2)), modbus.ErrFrame, 6},
		{"another function's exception", readHolding, bytes.NewReader(testenv.RTUFrame(1, 0x84, 2)), modbus.ErrFrame, 2},
		{"a write's echo to a read", readHolding, bytes.NewReader(writeReg), modbus.ErrFrame, 5},
		{"byte count 0", readHolding, bytes.NewReader(testenv.RTUFrame(1, 3, 0)), modbus.ErrFrame, 2},
		{"another read's byte count", readHolding, bytes.NewReader(testenv.RTUFrame(1, 3, 6, 0, 1, 0, 2, 0, 3)), modbus.ErrFrame, 8},
		{"another coil read's byte count", readCoils, bytes.NewReader(testenv.RTUFrame(1, 1, 1, 5)), modbus.ErrFrame, 3},
		{"byte count 251", readHolding, bytes.NewReader(append([]byte{1, 3, 251}, make([]byte, 253)...)), modbus.ErrFrame, 253},
		{"byte count 255", readCoils, bytes.NewReader([]byte{1, 1, 255}), modbus.ErrFrame, 0},
		{"unknown function", testenv.RTUFrame(1, 8, 0, 0, 0xA5, 0x37), bytes.NewReader(testenv.RTUFrame(1, 8, 0, 0, 0xA5, 0x37)), modbus.ErrFrame, 5},
		{"function 0", testenv.RTUFrame(1, 0, 0, 0), bytes.NewReader(testenv.RTUFrame(1, 0, 0, 0)), modbus.ErrFrame, 3},
		{"request too short", []byte{1, 3, 0}, bytes.NewReader(testenv.RTUFrame(1, 3, 0)), modbus.ErrFrame, 5},
		{"read request without a quantity", []byte{1, 3, 0, 0}, bytes.NewReader(testenv.RTUFrame(1, 3, 2, 0, 1)), modbus.ErrFrame, 4},
		{"deadline in the header", readHolding, deadline(1), os.ErrDeadlineExceeded, -1},
		{"deadline in the data", readHolding, deadline(1, 3, 4, 0, 1), os.ErrDeadlineExceeded, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := modbus.ReadFrame(tc.stream, tc.req, nil)
			if !errors.Is(err, tc.want) || got != nil {
				t.Fatalf("got % x, %v; want %v", got, err, tc.want)
			}
			if errors.Is(err, modbus.ErrFrame) && err.Error() == modbus.ErrFrame.Error() {
				t.Errorf("%v does not say what is wrong", err)
			}
			if src, ok := tc.stream.(*bytes.Reader); ok && tc.unread >= 0 && src.Len() != tc.unread {
				t.Errorf("%d bytes left unread, want %d", src.Len(), tc.unread)
			}
		})
	}
}

// TestReadFrameGoburrow: a frame ReadFrame reads passes goburrow's RTU
// packager (the client's Verify and Decode, which checks the CRC) and
// decodes to the answer sent; the same frame with any byte changed does
// not. The test's CRC agrees with the one goburrow's Encode appends.
func TestReadFrameGoburrow(t *testing.T) {
	h := gm.NewRTUClientHandler("")
	h.SlaveId = 1
	req, err := h.Encode(&gm.ProtocolDataUnit{FunctionCode: gm.FuncCodeReadHoldingRegisters, Data: []byte{0, 0, 0, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(req, readHolding) {
		t.Fatalf("goburrow encodes % x, the test's CRC gives % x", req, readHolding)
	}
	for _, tc := range []struct {
		name    string
		req     []byte
		answer  []byte
		fn      byte
		payload []byte
	}{
		{"holding registers", req, testenv.RTUFrame(1, 3, 4, 0x00, 0x7D, 0x01, 0x02), 3, []byte{4, 0x00, 0x7D, 0x01, 0x02}},
		{"coils", readCoils, testenv.RTUFrame(1, 1, 2, 0x05, 0x01), 1, []byte{2, 0x05, 0x01}},
		{"exception", req, testenv.RTUFrame(1, 0x83, 2), 0x83, []byte{2}},
		{"write echo", writeRegs, testenv.RTUFrame(1, 16, 0, 0, 0, 2), 16, []byte{0, 0, 0, 2}},
		{"250 bytes", readInput, inputAnswer(), 4, inputAnswer()[2:253]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frame, err := modbus.ReadFrame(bytes.NewReader(tc.answer), tc.req, nil)
			if err != nil {
				t.Fatal(err)
			}
			h := gm.NewRTUClientHandler("")
			h.SlaveId = tc.req[0]
			if err := h.Verify(tc.req, frame); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			pdu, err := h.Decode(frame)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if pdu.FunctionCode != tc.fn || !bytes.Equal(pdu.Data, tc.payload) {
				t.Errorf("Decode: function %d data % x, want %d % x", pdu.FunctionCode, pdu.Data, tc.fn, tc.payload)
			}
			for i := range frame {
				for _, flip := range []byte{0x01, 0x80, 0xFF} {
					bad := append([]byte(nil), frame...)
					bad[i] ^= flip
					if _, err := h.Decode(bad); err == nil {
						t.Errorf("Decode accepts the frame with byte %d ^ %#02x: % x", i, flip, bad)
					}
				}
			}
		})
	}
}

// FuzzReadFrame reads any stream as the answer to any request. ReadFrame
// never panics; it reads the frame it returns and not a byte more; the
// frame is the request's slave and function, or that function's
// five-byte exception, and as long as its header says, which for a read
// is what the request's quantity takes (at most the 256 bytes of an RTU
// frame when the request is one the protocol allows); it frames the same
// whether the stream comes whole or a byte at a time; and it fails with
// EOF only on an empty stream, with ErrUnexpectedEOF only once the stream
// is read to its end, and with ErrFrame after at most the header.
func FuzzReadFrame(f *testing.F) {
	for _, s := range []struct{ req, stream []byte }{
		{readHolding, testenv.RTUFrame(1, 3, 4, 0x00, 0x7D, 0x01, 0x02)},
		{readInput, inputAnswer()},
		{readCoils, testenv.RTUFrame(1, 1, 2, 5, 1)},
		{readDiscrete, testenv.RTUFrame(1, 2, 1, 2)},
		{readHolding, append(testenv.RTUFrame(1, 0x83, 2), 1, 3)},
		{writeCoil, writeCoil},
		{writeReg, writeReg},
		{writeCoils, testenv.RTUFrame(1, 15, 0, 0, 0, 10)},
		{writeRegs, testenv.RTUFrame(1, 16, 0, 0, 0, 2)},
		{readHolding, testenv.RTUFrame(2, 3, 2, 0, 1)},
		{readHolding, []byte{1, 3, 251}},
		{testenv.RTUFrame(1, 0x83, 0, 0, 0, 1), testenv.RTUFrame(1, 0x83, 2)},
		{[]byte{1, 3}, nil},
		{readHolding, []byte{1, 3}},
	} {
		f.Add(s.req, s.stream)
	}
	f.Fuzz(func(t *testing.T, req, stream []byte) {
		src := bytes.NewReader(stream)
		buf := bytes.Repeat([]byte{0xEE}, 512) // not what the stream holds
		frame, err := modbus.ReadFrame(src, req, buf)
		read := len(stream) - src.Len()

		slow, slowErr := modbus.ReadFrame(iotest.OneByteReader(bytes.NewReader(stream)), req, nil)
		if !bytes.Equal(slow, frame) || (err == nil) != (slowErr == nil) {
			t.Fatalf("whole: % x, %v; byte by byte: % x, %v", frame, err, slow, slowErr)
		}

		if err != nil {
			if frame != nil {
				t.Fatalf("% x with error %v", frame, err)
			}
			switch {
			case errors.Is(err, modbus.ErrFrame):
				if read > 3 {
					t.Fatalf("%v after reading %d bytes", err, read)
				}
			case err == io.EOF:
				if len(stream) != 0 {
					t.Fatalf("EOF from a stream of %d bytes", len(stream))
				}
			case err == io.ErrUnexpectedEOF:
				if src.Len() != 0 || len(stream) == 0 {
					t.Fatalf("%v with %d of %d bytes unread", err, src.Len(), len(stream))
				}
			default:
				t.Fatalf("unexpected error %v", err)
			}
			return
		}

		n := len(frame)
		if read != n || !bytes.Equal(frame, stream[:n]) {
			t.Fatalf("returned % x (%d bytes) after reading %d of % x", frame, n, read, stream)
		}
		if n < 5 || n > 3+255+2 {
			t.Fatalf("frame of %d bytes", n)
		}
		if len(req) < 4 || frame[0] != req[0] {
			t.Fatalf("frame % x for request % x", frame, req)
		}
		switch fn := frame[1]; {
		case fn == req[1]|0x80:
			if n != 5 {
				t.Fatalf("exception frame % x of %d bytes", frame, n)
			}
		case fn != req[1]:
			t.Fatalf("function %d in the answer to %d", fn, req[1])
		case fn >= 1 && fn <= 4:
			if len(req) < 6 {
				t.Fatalf("read answer % x to a request of %d bytes", frame, len(req))
			}
			quantity := int(req[4])<<8 | int(req[5])
			want, limit := 2*quantity, 125
			if fn <= 2 {
				want, limit = (quantity+7)/8, 2000
			}
			if int(frame[2]) != want || n != 3+want+2 {
				t.Fatalf("read of %d answered by % x: byte count %d, %d bytes", quantity, frame, frame[2], n)
			}
			if quantity <= limit && n > 256 {
				t.Fatalf("read of %d answered by a frame of %d bytes", quantity, n)
			}
		case fn == 5 || fn == 6 || fn == 15 || fn == 16:
			if n != 8 {
				t.Fatalf("write answer % x of %d bytes", frame, n)
			}
		default:
			t.Fatalf("frame % x of function %d, which the driver never sends", frame, fn)
		}
	})
}
