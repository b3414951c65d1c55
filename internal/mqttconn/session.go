package mqttconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/shouwang-iot/shouwang"
)

// Session is a subscribing client with a persistent session whose
// messages the caller acknowledges (Message.Ack) once what they said is
// durable: until then the broker keeps them, and sends them again after
// a reconnect or a restart of the gateway. The MQTT and camera drivers
// subscribe through it.
type Session struct {
	// Broker is where to subscribe; its ClientID names the session.
	Broker *Broker
	// Filters maps each topic filter to its QoS. It is read on every
	// connect, so it must not change after Connect.
	Filters map[string]byte
	// ConnectTimeout bounds the connect and the wait for the grants.
	ConnectTimeout time.Duration
	KeepAlive      time.Duration
	// Logger is told of connects, lost connections and failed
	// subscriptions; nil logs nothing.
	Logger *slog.Logger
	// Receive is handed every message, in order, on paho's router
	// goroutine: while it blocks, paho reads no more, and the broker
	// keeps the rest in the session.
	Receive func(paho.Message)
	// Connected, if set, is told true once subscribed after each
	// (re)connect and false when the connection is lost: a metric.
	Connected func(bool)
}

// Connect connects, subscribes to Filters, and returns once the broker
// granted every subscription; paho then reconnects (and subscribes
// again) by itself until the caller disconnects the client. An error
// says why not (refused credentials, a subscription the broker's ACL
// denies), and leaves nothing running. ctx cancels a Connect under way;
// it does not bound the client's life after that.
func (s *Session) Connect(ctx context.Context) (paho.Client, error) {
	opts, err := s.Broker.Options()
	if err != nil {
		return nil, err
	}
	logger := s.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	subscribed := make(chan error, 1) // this Connect's; a stale client's outcome cannot reach it
	// Acks go out in the order messages came (OrderMatters) and only when
	// the caller says; NoStore, since the broker's session keeps what is
	// not acknowledged.
	opts.SetCleanSession(false).SetStore(NoStore{}).SetAutoAckDisabled(true).SetOrderMatters(true).
		SetAutoReconnect(true).SetConnectRetry(false).SetMaxReconnectInterval(30 * time.Second).
		SetConnectTimeout(s.ConnectTimeout).SetKeepAlive(s.KeepAlive).
		SetProtocolVersion(4). // without it paho tries 3.1 after each refusal, doubling every wait
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { s.Receive(m) }).
		SetOnConnectHandler(func(c paho.Client) { s.subscribe(c, logger, subscribed) }).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			s.connected(false)
			logger.Warn("MQTT connection lost; reconnecting", "broker", s.Broker.URL, "err", err)
		})
	client := paho.NewClient(opts)
	if err = wait(ctx, client.Connect()); err != nil {
		err = fmt.Errorf("connect to %s: %w", s.Broker.URL, err)
	} else {
		select {
		case err = <-subscribed:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		client.Disconnect(0)
		return nil, err
	}
	return client, nil
}

func wait(ctx context.Context, t paho.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// subscribe runs after every connect: a persistent session keeps the
// subscriptions, but a broker that lost its state (restarted without
// persistence) has forgotten them.
func (s *Session) subscribe(c paho.Client, logger *slog.Logger, subscribed chan<- error) {
	t := c.SubscribeMultiple(s.Filters, nil)
	var err error
	switch {
	case !t.WaitTimeout(s.ConnectTimeout):
		err = fmt.Errorf("no answer to the subscription within %v", s.ConnectTimeout)
	case t.Error() != nil:
		err = t.Error()
	default:
		for filter, granted := range t.(*paho.SubscribeToken).Result() {
			if granted == 0x80 {
				err = errors.Join(err, fmt.Errorf("the broker refused the subscription to %s (its ACL?)", filter))
			}
		}
	}
	if err != nil {
		logger.Error("MQTT subscribe failed", "broker", s.Broker.URL, "err", err)
	} else {
		s.connected(true)
		logger.Info("MQTT connected and subscribed", "broker", s.Broker.URL, "subscriptions", len(s.Filters))
	}
	select {
	case subscribed <- err:
	default:
	}
}

func (s *Session) connected(up bool) {
	if s.Connected != nil {
		s.Connected(up)
	}
}

// Commit publishes b until it is durable and reports whether it is; only
// then may the messages it came from be acknowledged. A commit that fails
// (a full disk) is tried again with backoff rather than decoded again:
// decoding moves a driver's state on (flags, incidents). It gives up,
// false, when ctx ends or the pipeline has stopped; the broker then sends
// the messages again.
func Commit(ctx context.Context, pub shouwang.Publisher, b shouwang.Batch, logger *slog.Logger) bool {
	backoff := 100 * time.Millisecond
	for {
		err := pub.Publish(ctx, b)
		if err == nil {
			return true
		}
		if ctx.Err() != nil || errors.Is(err, shouwang.ErrStopped) {
			return false
		}
		if logger != nil {
			logger.Error("MQTT messages not committed; retrying, unacknowledged", "err", err, "items", b.Len(), "in", backoff)
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}
