package modbus

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	gm "github.com/goburrow/modbus"
	"go.bug.st/serial"
)

// The transports a driver may use.
const (
	TransportTCP        = "tcp"          // Modbus TCP (MBAP header)
	TransportRTU        = "rtu"          // RTU on a serial port (RS-485)
	TransportRTUOverTCP = "rtu_over_tcp" // RTU frames through a serial server's TCP socket
)

// Link is one connection to a bus, owned by one goroutine: a Modbus TCP
// connection, or a stream of RTU frames on a serial port or a serial
// server's socket. Calls are strictly sequential. After a failure that may
// leave bytes in flight (a timeout, a broken frame) the next call starts
// clean: the TCP connection is dropped and re-dialled, an RTU stream's
// input is flushed, so a late answer is never taken for the next one.
type Link struct {
	transport string
	tcp       *gm.TCPClientHandler // TransportTCP
	rtu       *rtuTransport        // the RTU transports
	packager  *gm.RTUClientHandler // encodes and checks RTU frames
	client    gm.Client
}

// LinkConfig says how to reach a bus.
type LinkConfig struct {
	Transport string
	Address   string // host:port, for TCP and RTU over TCP
	Port      string // serial device, for RTU
	Line      Line
	Timeout   time.Duration // per transaction, beyond the frames' own time on the wire
}

// NewLink makes a link; nothing is opened until the first call.
func NewLink(c LinkConfig) *Link {
	l := &Link{transport: c.Transport}
	switch c.Transport {
	case TransportTCP:
		l.tcp = gm.NewTCPClientHandler(c.Address)
		l.tcp.Timeout = c.Timeout
		l.tcp.IdleTimeout = 0 // kept open: the driver polls it all the time
		l.client = gm.NewClient(l.tcp)
		return l
	case TransportRTU:
		mode := c.Line.Mode()
		l.rtu = &rtuTransport{timeout: c.Timeout, gap: FrameGap(c.Line.Baud), charTime: charTime(c.Line.Baud),
			open: func() (stream, error) {
				p, err := serial.Open(c.Port, mode)
				if err != nil {
					return nil, err
				}
				return &serialStream{port: p}, nil
			}}
	case TransportRTUOverTCP:
		l.rtu = &rtuTransport{timeout: c.Timeout, open: func() (stream, error) {
			conn, err := net.DialTimeout("tcp", c.Address, c.Timeout)
			if err != nil {
				return nil, err
			}
			return &netStream{Conn: conn}, nil
		}}
	default:
		panic(fmt.Sprintf("modbus: unknown transport %q", c.Transport))
	}
	l.packager = gm.NewRTUClientHandler("")
	l.client = gm.NewClient2(l.packager, l.rtu)
	return l
}

// charTime is one 11-bit character's time on the wire at baud.
func charTime(baud int) time.Duration {
	if baud <= 0 {
		return 0
	}
	return time.Duration(11 * int64(time.Second) / int64(baud))
}

// Slave returns the client, addressed to slave id.
func (l *Link) Slave(id byte) gm.Client {
	if l.tcp != nil {
		l.tcp.SlaveId = id
	} else {
		l.packager.SlaveId = id
	}
	return l.client
}

// Connect opens the connection or port if it is not open.
func (l *Link) Connect() error {
	if l.tcp != nil {
		return l.tcp.Connect()
	}
	return l.rtu.connect()
}

// Reset is called after a failed call: what may still be in flight is
// discarded before the next.
func (l *Link) Reset(err error) {
	if Exception(err) != nil {
		return // a well-formed answer: nothing is in flight
	}
	if l.tcp != nil {
		l.tcp.Close() // goburrow would read a late answer as the next one's
		return
	}
	l.rtu.dirty = true
	if !IsTimeout(err) && !errors.Is(err, ErrFrame) {
		l.rtu.close() // the port or socket itself failed: reopen it
	}
}

// Close closes the connection or port.
func (l *Link) Close() error {
	if l.tcp != nil {
		return l.tcp.Close()
	}
	return l.rtu.close()
}

// Exception returns the exception reply err wraps (the device answered,
// refusing the request), or nil.
func Exception(err error) *gm.ModbusError {
	var me *gm.ModbusError
	if errors.As(err, &me) {
		return me
	}
	return nil
}

// IsTimeout says whether err is a transaction that got no (full) answer
// in time.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// stream is an RTU byte stream with read deadlines.
type stream interface {
	io.ReadWriteCloser
	SetReadDeadline(t time.Time) error
	// Flush discards input already received.
	Flush() error
}

// rtuTransport sends RTU frames on a stream: goburrow's Transporter.
type rtuTransport struct {
	open     func() (stream, error)
	conn     stream
	timeout  time.Duration
	gap      time.Duration // silence before each request (serial only)
	charTime time.Duration // per character on the wire (serial only)
	lastIO   time.Time
	dirty    bool // the last call failed: flush before the next
	buf      [rtuMaxFrame + 8]byte
}

func (t *rtuTransport) connect() error {
	if t.conn != nil {
		return nil
	}
	c, err := t.open()
	if err != nil {
		return err
	}
	t.conn, t.dirty = c, true
	return nil
}

func (t *rtuTransport) close() error {
	if t.conn == nil {
		return nil
	}
	err := t.conn.Close()
	t.conn = nil
	return err
}

// Send writes one request and reads its answer.
func (t *rtuTransport) Send(req []byte) ([]byte, error) {
	if err := t.connect(); err != nil {
		return nil, err
	}
	if t.dirty {
		if err := t.conn.Flush(); err != nil {
			return nil, err
		}
		t.dirty = false
	}
	if wait := t.gap - time.Since(t.lastIO); wait > 0 {
		time.Sleep(wait)
	}
	if _, err := t.conn.Write(req); err != nil {
		return nil, err
	}
	// The request and its answer take their own time on the wire on top
	// of the timeout.
	wire := time.Duration(len(req)+answerSize(req)) * t.charTime
	if err := t.conn.SetReadDeadline(time.Now().Add(t.timeout + wire)); err != nil {
		return nil, err
	}
	resp, err := ReadFrame(t.conn, req, t.buf[:])
	t.lastIO = time.Now()
	if err != nil {
		return nil, err
	}
	// goburrow's client keeps the answer's data: give it its own copy.
	return append([]byte(nil), resp...), nil
}

// serialStream is a serial port with read deadlines.
type serialStream struct {
	port     serial.Port
	deadline time.Time
}

func (s *serialStream) SetReadDeadline(t time.Time) error { s.deadline = t; return nil }

func (s *serialStream) Read(p []byte) (int, error) {
	for {
		d := time.Until(s.deadline)
		if d <= 0 {
			return 0, os.ErrDeadlineExceeded
		}
		if err := s.port.SetReadTimeout(d); err != nil {
			return 0, err
		}
		n, err := s.port.Read(p)
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func (s *serialStream) Write(p []byte) (int, error) { return s.port.Write(p) }
func (s *serialStream) Close() error                { return s.port.Close() }
func (s *serialStream) Flush() error                { return s.port.ResetInputBuffer() }

// netStream is a serial server's TCP socket.
type netStream struct{ net.Conn }

// Flush reads what has arrived until the line is quiet for 20 ms.
func (s *netStream) Flush() error {
	var buf [256]byte
	for {
		if err := s.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
			return err
		}
		if _, err := s.Read(buf[:]); err != nil {
			if IsTimeout(err) {
				return nil
			}
			return err
		}
	}
}

// answerSize is how long the answer to an RTU request is when all goes
// well: a read's data and five bytes around it, a write's 8-byte echo.
func answerSize(req []byte) int {
	switch fn := req[1]; {
	case fn >= 1 && fn <= 4 && len(req) >= 6:
		return 5 + answerBytes(fn, int(req[4])<<8|int(req[5]))
	case fn == 5 || fn == 6 || fn == 15 || fn == 16:
		return 8
	}
	return rtuMaxFrame
}
