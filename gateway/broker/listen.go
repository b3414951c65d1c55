package broker

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// connectTimeout bounds the time from accepting a connection to its
// CONNECT packet (and, on TLS, the handshake). mochi sets no deadline
// until CONNECT has arrived, so a silent socket would hold a goroutine
// forever; after CONNECT, mochi's keepalive deadline replaces this one.
const connectTimeout = 10 * time.Second

// trackingListener hands mochi its connections, with the connect
// deadline set, and keeps them in the broker's connSet. It also retries
// temporary Accept errors (too many open files), on which mochi's own
// loop would stop accepting for good.
type trackingListener struct {
	net.Listener
	id    string
	b     *Broker
	done  chan struct{}
	close sync.Once
}

func (b *Broker) track(id string, ln net.Listener) *trackingListener {
	return &trackingListener{Listener: ln, id: id, b: b, done: make(chan struct{})}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	var wait time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			tc := &trackedConn{Conn: c, set: l.b.conns}
			c.SetDeadline(time.Now().Add(connectTimeout))
			l.b.conns.add(tc)
			return tc, nil
		}
		var te interface{ Temporary() bool }
		if errors.Is(err, net.ErrClosed) || !errors.As(err, &te) || !te.Temporary() {
			select {
			case <-l.done:
			default:
				l.b.logger.Error("MQTT broker listener stopped", "listener", l.id, "err", err)
			}
			return nil, err
		}
		wait = min(max(2*wait, 5*time.Millisecond), time.Second)
		l.b.logger.Warn("MQTT broker cannot accept a connection; retrying", "listener", l.id, "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-l.done:
			t.Stop()
			return nil, net.ErrClosed
		}
	}
}

func (l *trackingListener) Close() error {
	l.close.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// trackedConn is a client connection; established is set once the client
// has a session (CONNACK sent), from when on mochi closes it itself.
type trackedConn struct {
	net.Conn
	set         *connSet
	established atomic.Bool
	counted     atomic.Bool // counts against max_clients
	closed      sync.Once
}

func (c *trackedConn) Close() error {
	c.closed.Do(func() { c.set.remove(c) })
	return c.Conn.Close()
}

// connSet holds the open client connections.
type connSet struct {
	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

func newConnSet() *connSet { return &connSet{conns: map[*trackedConn]struct{}{}} }

func (s *connSet) add(c *trackedConn) {
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.conns[c] = struct{}{}
	}
	s.mu.Unlock()
	if closed {
		c.Conn.Close() // accepted while the broker closed
	}
}

func (s *connSet) remove(c *trackedConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// closePending closes the connections that have no session yet, and any
// accepted from now on.
func (s *connSet) closePending() {
	s.mu.Lock()
	s.closed = true
	var pending []*trackedConn
	for c := range s.conns {
		if !c.established.Load() {
			pending = append(pending, c)
		}
	}
	s.mu.Unlock()
	for _, c := range pending {
		c.Close()
	}
}
