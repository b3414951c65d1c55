package mqtt

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/mqttconn"
)

// Driver subscribes and turns messages into readings and events.
//
// paho's router hands every message to receive, in order; one goroutine
// (collect) takes what has queued, decodes it into one batch, publishes it
// (which returns once the batch is durable) and only then acknowledges
// the messages, in the order they came. While one batch is committed the
// next queues up, so the outbox's fsync is shared by as many messages as
// the broker keeps in flight.
type Driver struct {
	cfg     Config
	logger  *slog.Logger
	now     func() time.Time
	subs    []*subscription
	devices map[string]*deviceState // by address
	metrics *metrics
	// unmatched logs messages on topics no subscription matches.
	unmatched badLog

	session mqttconn.Session
	msgs    chan inbound
	stop    chan struct{} // closed by Close: receive stops waiting

	mu        sync.Mutex // guards client and cancel
	client    paho.Client
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// subscription is a Subscription with its state; only collect touches it.
type subscription struct {
	Subscription
	qos    byte
	caps   []string
	point  int // the {point} capture, or -1
	places []placeCheck
	keyBuf []byte
	badLog badLog
}

// placeCheck is a capture that names part of the device's location.
type placeCheck struct {
	capture int
	name    string
	want    func(shouwang.Location) string
}

// places are the captures checked against the map. The community is not:
// the map knows it by its name (阳光花园), a topic by an id.
var places = map[string]func(shouwang.Location) string{
	"building": func(l shouwang.Location) string { return l.Building },
	"unit":     func(l shouwang.Location) string { return l.Unit },
	"floor":    func(l shouwang.Location) string { return strconv.Itoa(l.Floor) },
	"room":     func(l shouwang.Location) string { return l.Room },
}

func newDriver(c Config, env shouwang.DriverEnv) *Driver {
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Driver{cfg: c, logger: logger, now: env.Now, devices: map[string]*deviceState{},
		msgs: make(chan inbound, 2*c.MaxBatch), stop: make(chan struct{})}
	if d.now == nil {
		d.now = time.Now
	}
	var names []string
	filters := map[string]byte{}
	for _, s := range c.Subscriptions {
		sub := &subscription{Subscription: s, qos: 1, caps: make([]string, len(s.pattern.Names())), point: -1}
		if s.QoS != nil {
			sub.qos = byte(*s.QoS)
		}
		for i, n := range s.pattern.Names() {
			if n == "point" {
				sub.point = i
			}
			if want, ok := places[n]; ok {
				sub.places = append(sub.places, placeCheck{i, n, want})
			}
		}
		d.subs = append(d.subs, sub)
		names = append(names, s.Topic)
		filters[s.pattern.Filter()] = sub.qos
	}
	for _, dev := range env.Devices {
		m := env.Models[dev.Profile].(*Model)
		st := &deviceState{dev: dev, model: m, flags: make([]int8, len(m.Flags))}
		for i := range st.flags {
			st.flags[i] = -1
		}
		d.devices[dev.Key()] = st
	}
	d.metrics = newMetrics(env.Name, names)
	d.session = mqttconn.Session{Broker: &d.cfg.Broker, Filters: filters,
		ConnectTimeout: c.ConnectTimeout, KeepAlive: c.KeepAlive, Logger: logger,
		Receive: d.receive, Connected: d.setConnected}
	return d
}

func (d *Driver) setConnected(up bool) {
	if up {
		d.metrics.connected.Set(1)
	} else {
		d.metrics.connected.Set(0)
	}
}

// Start connects, subscribes, and returns once the subscriptions are
// granted; an error says why not (refused credentials, a subscription
// the broker's ACL denies). paho reconnects by itself after that. A
// failed Start leaves nothing running and may be called again.
func (d *Driver) Start(ctx context.Context, pub shouwang.Publisher) error {
	d.mu.Lock()
	select {
	case <-d.stop:
		d.mu.Unlock()
		return shouwang.ErrStopped
	default:
	}
	runCtx, cancel := context.WithCancel(ctx)
	d.cancel = cancel // Close cancels a Start under way
	d.wg.Add(1)
	d.mu.Unlock()
	go func() {
		defer d.wg.Done()
		d.collect(runCtx, pub)
	}()
	client, err := d.session.Connect(runCtx)
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case <-d.stop: // Close ran while this connected
		if client != nil {
			client.Disconnect(0)
		}
		err = shouwang.ErrStopped
	default:
	}
	if err != nil {
		cancel()
		d.wg.Wait()
		return err
	}
	d.client = client
	return nil
}

// inbound is a message and when it came: a backlog delivered at once
// after an outage is not one instant.
type inbound struct {
	paho.Message
	at time.Time
}

// receive runs on paho's router goroutine: a full queue holds it back,
// and with it the broker, which keeps the rest in its session.
func (d *Driver) receive(m paho.Message) {
	select {
	case d.msgs <- inbound{m, d.now()}:
	case <-d.stop: // not acknowledged: the broker sends it again
	}
}

// collect commits what queued and acknowledges it, until ctx ends.
func (d *Driver) collect(ctx context.Context, pub shouwang.Publisher) {
	batch := make([]inbound, 0, d.cfg.MaxBatch)
	for {
		select {
		case m := <-d.msgs:
			batch = append(batch, m)
		case <-ctx.Done():
			return
		}
	fill:
		for len(batch) < cap(batch) {
			select {
			case m := <-d.msgs:
				batch = append(batch, m)
			default:
				break fill
			}
		}
		b := shouwang.Batch{Readings: make([]shouwang.Reading, 0, 2*len(batch))}
		for _, m := range batch {
			d.read(m, &b)
		}
		if b.Len() > 0 && !mqttconn.Commit(ctx, pub, b, d.logger) {
			// Not durable, so not acknowledged: the broker keeps the
			// messages in the session and sends them again.
			return
		}
		for i, m := range batch {
			m.Ack()
			batch[i] = inbound{}
		}
		d.metrics.messages.Add(float64(len(batch)))
		batch = batch[:0]
	}
}

// read decodes one message into b, or counts and logs why it cannot.
func (d *Driver) read(m inbound, b *shouwang.Batch) {
	topic, payload, now := m.Topic(), m.Payload(), m.at
	var sub *subscription
	for _, s := range d.subs {
		if s.pattern.Match(topic, s.caps) {
			sub = s
			break
		}
	}
	if sub == nil {
		// A subscription of an earlier config, kept by the session.
		d.bad(nil, fail(reasonUnknown, "the topic matches no subscription"), topic, payload, now)
		return
	}
	if len(payload) > int(d.cfg.MaxPayload) {
		d.bad(sub, fail(reasonTooLarge, "%d bytes (max_payload %v)", len(payload), d.cfg.MaxPayload), topic, payload, now)
		return
	}
	sub.keyBuf = sub.device.Append(sub.keyBuf[:0], sub.caps)
	dev := d.devices[string(sub.keyBuf)]
	if dev == nil {
		d.bad(sub, fail(reasonUnknown, "no device has address %q on this driver", clip(string(sub.keyBuf))), topic, payload, now)
		return
	}
	if m.Retained() && dev.model.Time == "" {
		// A retained message comes again with every subscription: with no
		// time of its own it would look like a new report each time.
		d.bad(sub, fail(reasonRetained, "a retained message without a time field is not a new report"), topic, payload, now)
		return
	}
	for _, pc := range sub.places {
		if got, want := sub.caps[pc.capture], pc.want(dev.dev.Location); got != want {
			// The map is what an installer placed; the reading is kept.
			d.bad(sub, fail(reasonLocation, "the topic's %s is %q, device %s is placed in %s %q", pc.name, clip(got), dev.dev.ID, pc.name, want), topic, payload, now)
		}
	}
	point := ""
	if sub.point >= 0 {
		point = sub.caps[sub.point]
	}
	if p := dev.decode(payload, point, now, b); p != nil {
		d.bad(sub, p, topic, payload, now)
	}
}

// Close stops the driver and waits for its goroutines. Messages not yet
// committed are not acknowledged; the broker sends them again.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		close(d.stop)
		client, cancel := d.client, d.cancel
		d.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		d.wg.Wait()
		if client != nil {
			client.Disconnect(250)
		}
		d.metrics.connected.Set(0)
	})
	return nil
}
