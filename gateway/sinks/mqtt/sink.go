// Package mqtt is the uplink to the district platform: it publishes every
// reading and event, one JSON message each, to the district's MQTT broker
// (EMQX, Mosquitto) with QoS 1, on topics made from templates.
//
// Like every sink it does not buffer or retry: the outbox keeps each batch
// on disk and calls Write again, with the same batch, until Write returns
// nil, which it does only once the broker has acknowledged every message
// of the batch. A failed Write may have delivered part of the batch, so
// the district can see a message twice (identical bytes); it sees each
// message for the first time in the order the outbox holds them.
//
// Each connection is a paho client of its own, opened by the Write that
// needs it and dropped when it fails; the outbox's backoff paces the
// reconnects. See Sink for why paho's own reconnect is not used.
package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/mqttconn"
)

// Sink publishes batches to one broker. It is safe for concurrent use;
// Writes run one at a time, in the order they take the lock. It is a
// prometheus.Collector of its own metrics.
//
// A connection that fails is dropped, and the next Write opens a new one
// with a new paho client (same client id, clean session off, so the
// broker keeps the session). paho's auto-reconnect is not used: with the
// persistent session and no paho store (mqttconn.NoStore; the outbox keeps
// what is unacknowledged), the tokens of messages in flight when the
// connection drops never complete and their packet ids are never freed,
// so each outage would leak up to max_inflight of the 65,535 ids; and
// paho retries in the background without telling Write why it fails.
type Sink struct {
	broker   mqttconn.Broker
	clientID string
	qos      byte
	retain   bool
	timeout  time.Duration
	inflight int
	logger   *slog.Logger

	mu     sync.Mutex // one Write at a time, and Close after it; guards the fields below
	link   *link
	enc    *encoder
	msgs   []message
	tokens []paho.Token

	live      atomic.Pointer[link] // the connection last opened, for /metrics
	acked     atomic.Uint64
	closed    atomic.Bool
	done      chan struct{} // closed by Close, to end a Write that waits
	closeOnce sync.Once

	messagesDesc, connectedDesc *prometheus.Desc
}

// link is one connection: a paho client and its CONNECT.
type link struct {
	client  paho.Client
	connect paho.Token
	up      bool          // the CONNECT succeeded; guarded by Sink.mu
	lost    chan struct{} // closed when the connection drops
	lostErr error         // why; written before lost is closed
	once    sync.Once
}

func (l *link) setLost(err error) {
	l.once.Do(func() {
		if err == nil {
			err = errors.New("connection closed")
		}
		l.lostErr = err
		close(l.lost)
	})
}

func newSink(c Config, env shouwang.SinkEnv) *Sink {
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	readings, _ := parseTemplate(c.Topics.Readings, readingNames, "")
	events, _ := parseTemplate(c.Topics.Events, eventNames, "")
	labels := prometheus.Labels{"sink": env.Name}
	s := &Sink{
		broker:   c.Broker,
		clientID: c.clientID(env),
		qos:      byte(c.QoS),
		retain:   c.Retain,
		timeout:  c.Timeout,
		inflight: c.MaxInflight,
		logger:   logger.With("broker", c.URL),
		enc:      newEncoder(readings, events, env.Gateway, env.Devices),
		done:     make(chan struct{}),
		messagesDesc: prometheus.NewDesc("shouwang_uplink_messages_total",
			"Readings and events the district broker acknowledged (with qos 0: sent).", nil, labels),
		connectedDesc: prometheus.NewDesc("shouwang_uplink_connected",
			"1 while the uplink's connection to the district broker is open.", nil, labels),
	}
	if c.QoS == 0 {
		s.logger.Warn("mqtt uplink with qos 0: the broker acknowledges nothing, so messages in flight when the connection drops are lost")
	}
	return s
}

var errClosed = errors.New("sink is closed")

// Write publishes one message per reading and per event, pipelined (up to
// max_inflight ahead of the acknowledgements), and returns nil once the
// broker has acknowledged all of them. The first Write connects.
//
// Every error is a retryable *shouwang.WriteError wrapping the cause, and
// says which it is: the broker cannot be reached (paho's network error,
// wrapping the dial or TLS error), the broker refused the login (wrapping
// paho's packets.ErrorRefusedNotAuthorised or
// ErrorRefusedBadUsernameOrPassword), the certificate files cannot be
// read, the connection was lost, no acknowledgement came within timeout,
// ctx ended (wrapping ctx.Err()), or the sink is closed. None is
// Permanent: the broker cannot refuse one message, so the outbox must
// never quarantine a batch for a failed Write.
func (s *Sink) Write(ctx context.Context, b shouwang.Batch) error {
	if s.closed.Load() {
		return s.writeError(errClosed)
	}
	if b.Len() == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return s.writeError(errClosed)
	}
	l, err := s.connection(ctx)
	if err != nil {
		return s.writeError(err)
	}
	s.msgs, err = s.enc.encode(s.msgs[:0], b)
	if err != nil {
		return &shouwang.WriteError{Err: fmt.Errorf("mqtt uplink: %w", err), Permanent: true}
	}
	acked, err := s.publish(ctx, l, s.msgs)
	n := len(s.msgs)
	clear(s.msgs)
	if cap(s.msgs) > 1<<16 {
		s.msgs = nil
	}
	if err != nil {
		s.drop(l)
		return s.writeError(fmt.Errorf("%d of %d messages acknowledged, the batch goes again: %w", acked, n, err))
	}
	return nil
}

func (s *Sink) writeError(err error) error {
	return &shouwang.WriteError{Err: fmt.Errorf("mqtt uplink to %s: %w", s.broker.URL, err)}
}

// connection returns the open connection, opening one if there is none.
// Called with s.mu held.
func (s *Sink) connection(ctx context.Context) (*link, error) {
	if l := s.link; l != nil {
		select {
		case <-l.lost:
			s.drop(l)
		default:
		}
	}
	if s.link == nil {
		l, err := s.dial()
		if err != nil {
			return nil, err
		}
		s.link = l
	}
	l := s.link
	if l.up {
		return l, nil
	}
	// paho bounds the dial, TLS and the MQTT handshake by timeout; the
	// timer only guards against the library never answering.
	timer := time.NewTimer(s.timeout + 5*time.Second)
	defer timer.Stop()
	select {
	case <-l.connect.Done():
	case <-ctx.Done():
		// The attempt goes on; the next Write waits for it, Close ends it.
		return nil, fmt.Errorf("connecting: %w", ctx.Err())
	case <-s.done:
		return nil, errClosed
	case <-timer.C:
		s.drop(l)
		return nil, fmt.Errorf("connecting: no answer within %v", s.timeout)
	}
	if err := l.connect.Error(); err != nil {
		s.link = nil // paho has given up on it: nothing runs
		return nil, s.connectError(l.connect, err)
	}
	l.up = true
	s.live.Store(l)
	s.logger.Info("mqtt uplink connected", "client_id", s.clientID,
		"session_present", l.connect.(*paho.ConnectToken).SessionPresent())
	return l, nil
}

// dial builds a paho client for one connection and starts its CONNECT.
func (s *Sink) dial() (*link, error) {
	opts, err := s.broker.Options() // reads the certificate files
	if err != nil {
		return nil, fmt.Errorf("TLS files: %w", err)
	}
	l := &link{lost: make(chan struct{})}
	opts.SetClientID(s.clientID).
		SetCleanSession(false).
		SetStore(mqttconn.NoStore{}).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetResumeSubs(false).
		// No fallback to MQTT 3.1, which would turn a refused login into
		// "unacceptable protocol version".
		SetProtocolVersion(4).
		SetDialer(&net.Dialer{Timeout: s.timeout}). // ws:// and wss://; the others dial with the connect timeout
		SetConnectTimeout(s.timeout).
		SetWriteTimeout(s.timeout).
		SetKeepAlive(30 * time.Second).
		SetPingTimeout(10 * time.Second).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			l.setLost(err)
			s.logger.Warn("mqtt uplink connection lost; the next write reconnects", "err", err)
		})
	l.client = paho.NewClient(opts)
	l.connect = l.client.Connect()
	return l, nil
}

// connectError says why the CONNECT failed in terms the operator can act
// on, wrapping paho's error.
func (s *Sink) connectError(t paho.Token, err error) error {
	ct, _ := t.(*paho.ConnectToken)
	if ct == nil {
		return fmt.Errorf("cannot connect to the broker: %w", err)
	}
	switch ct.ReturnCode() {
	case packets.ErrRefusedBadUsernameOrPassword, packets.ErrRefusedNotAuthorised:
		if s.broker.Username == "" {
			return fmt.Errorf("the broker refused the login without a username (CONNACK: %w; set username and password)", err)
		}
		return fmt.Errorf("the broker refused the login of user %q with client id %q (CONNACK: %w; check username and password, and the broker's ACL)",
			s.broker.Username, s.clientID, err)
	case packets.ErrRefusedIDRejected:
		return fmt.Errorf("the broker rejected client id %q (CONNACK: %w)", s.clientID, err)
	case packets.ErrRefusedServerUnavailable:
		return fmt.Errorf("the broker is unavailable (CONNACK: %w)", err)
	case packets.ErrRefusedBadProtocolVersion:
		return fmt.Errorf("the broker does not take MQTT 3.1.1 (CONNACK: %w)", err)
	}
	return fmt.Errorf("cannot connect to the broker: %w", err)
}

// publish sends msgs with at most s.inflight unacknowledged, and waits
// until every one is acknowledged. It returns how many were.
func (s *Sink) publish(ctx context.Context, l *link, msgs []message) (acked int, err error) {
	tokens := s.tokens[:0]
	defer func() {
		clear(tokens)
		s.tokens = tokens[:0]
	}()
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	wait := func(t paho.Token) error {
		select {
		case <-t.Done():
			if err := t.Error(); err != nil {
				// paho fails a token when the connection fails under it:
				// a write error, not connected, or its write timeout.
				return fmt.Errorf("connection lost: %w", err)
			}
			acked++
			s.acked.Add(1)
			timer.Reset(s.timeout) // the timeout runs from the last acknowledgement
			return nil
		case <-l.lost:
			return fmt.Errorf("connection lost: %w", l.lostErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return errClosed
		case <-timer.C:
			select {
			case <-l.lost: // a Publish caught in the loss blocked until now
				return fmt.Errorf("connection lost: %w", l.lostErr)
			default:
				return fmt.Errorf("no acknowledgement from the broker within %v", s.timeout)
			}
		}
	}
	for i, m := range msgs {
		if i >= s.inflight {
			if err := wait(tokens[i-s.inflight]); err != nil {
				return acked, err
			}
		}
		select {
		case <-l.lost:
			return acked, fmt.Errorf("connection lost: %w", l.lostErr)
		default:
		}
		// Publish returns once paho has taken the message, except when the
		// connection fails just then: it blocks up to its write timeout
		// (timeout), which bounds how long a Write can take to notice.
		tokens = append(tokens, l.client.Publish(m.topic, s.qos, s.retain, m.payload))
	}
	for _, t := range tokens[max(0, len(tokens)-s.inflight):] {
		if err := wait(t); err != nil {
			return acked, err
		}
	}
	return acked, nil
}

// drop closes l and forgets it. Called with s.mu held.
func (s *Sink) drop(l *link) {
	if s.link == l {
		s.link = nil
	}
	s.live.CompareAndSwap(l, nil)
	l.client.Disconnect(0)
}

// Close disconnects, waiting first for a connection being opened (at most
// timeout). It blocks until a Write in progress has returned, is safe to
// call more than once, and Write after Close fails with a retryable
// error.
func (s *Sink) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.done)
		s.mu.Lock()
		defer s.mu.Unlock()
		l := s.link
		if l == nil {
			return
		}
		s.link = nil
		s.live.Store(nil)
		select {
		case <-l.connect.Done():
		case <-time.After(s.timeout + 5*time.Second):
		}
		l.client.Disconnect(250)
	})
	return nil
}

// Acknowledged is how many messages the broker has acknowledged since the
// sink was built.
func (s *Sink) Acknowledged() uint64 { return s.acked.Load() }

// Describe implements prometheus.Collector.
func (s *Sink) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.messagesDesc
	ch <- s.connectedDesc
}

// Collect implements prometheus.Collector.
func (s *Sink) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(s.messagesDesc, prometheus.CounterValue, float64(s.acked.Load()))
	up := 0.0
	if l := s.live.Load(); l != nil && l.client.IsConnectionOpen() {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(s.connectedDesc, prometheus.GaugeValue, up)
}

var _ prometheus.Collector = (*Sink)(nil)
