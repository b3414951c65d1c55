package alarms

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// A Notifier carries alarm messages somewhere outside the gateway: an MQTT
// broker, a webhook. Notify returns nil once the message is delivered or
// set aside for good by the notifier's own rules (a webhook's dead letter,
// after about 18 minutes of tries with the defaults, or at once for an
// answer that retrying cannot change); an error means "not now": the same
// message is offered again after a pause, so that nothing is skipped and
// the order holds. ctx ends it early at shutdown.
type Notifier interface {
	Notify(ctx context.Context, m Message) error
	Close() error
}

// A StateKeeper is a notifier that also publishes each device's current
// alarms (the MQTT retained state topic). Seed gives it the open alarms
// its route takes before any message, so the state is whole after a
// restart.
type StateKeeper interface {
	Seed(ctx context.Context, open []Message) error
}

// outlet feeds one notifier from the journal's feed, in commit order, from
// its own goroutine: a slow or unreachable peer holds up nobody else, and
// what it missed (a peer down for a day, a power cut before delivery) is
// still in the journal when it can take it.
type outlet struct {
	name   string
	n      Notifier
	route  Route
	wake   chan struct{} // a commit happened
	direct chan Message  // messages the journal failed to hold
	logger *slog.Logger
	sent   prometheus.Counter
	failed prometheus.Counter
	lost   prometheus.Counter
}

// notifiers runs every outlet.
type notifiers struct {
	outlets  []*outlet
	wg       sync.WaitGroup
	cancel   context.CancelFunc
	draining chan struct{}
	stopped  bool
}

const (
	// feedBatch is how many journal rows an outlet reads at once.
	feedBatch = 256
	// directLen bounds the messages held in memory while the journal
	// fails to commit.
	directLen = 1000
	// retryMin and retryMax bound the pause before a message a notifier
	// refused is offered again.
	retryMin = 500 * time.Millisecond
	retryMax = 30 * time.Second
)

// AddNotifier registers a notifier under its config name; call before
// StartNotifiers.
func (d *Desk) AddNotifier(name string, route Route, n Notifier) {
	d.notify.outlets = append(d.notify.outlets, &outlet{name: name, n: n, route: route,
		wake: make(chan struct{}, 1), direct: make(chan Message, directLen),
		logger: d.logger.With("notifier", name),
		sent:   d.m.notifySent.WithLabelValues(name),
		failed: d.m.notifyFailed.WithLabelValues(name),
		lost:   d.m.notifyLost.WithLabelValues(name)})
}

// StartNotifiers starts one goroutine per notifier, each from where it
// left off in the journal (a notifier new to the journal from its end).
// Call it before the desk takes readings.
func (d *Desk) StartNotifiers(ctx context.Context) error {
	names := make([]string, len(d.notify.outlets))
	for i, o := range d.notify.outlets {
		names[i] = o.name
	}
	cursors, err := d.journal.Cursors(ctx, names)
	if err != nil {
		return err
	}
	open := d.Open()
	for _, o := range d.notify.outlets {
		if sk, ok := o.n.(StateKeeper); ok {
			var seed []Message
			for _, a := range open {
				if m := d.alarmView(a); o.route.Match(&m) {
					seed = append(seed, m)
				}
			}
			if err := sk.Seed(ctx, seed); err != nil {
				return fmt.Errorf("notifier %s: %w", o.name, err)
			}
		}
	}
	ctx, d.notify.cancel = context.WithCancel(ctx)
	d.notify.draining = make(chan struct{})
	for _, o := range d.notify.outlets {
		d.notify.wg.Go(func() { o.run(ctx, d, cursors[o.name], d.notify.draining) })
	}
	return nil
}

// StopNotifiers lets the notifiers deliver what is committed until ctx
// ends, then stops and closes them. What they could not deliver stays in
// the journal for the next start.
func (d *Desk) StopNotifiers(ctx context.Context) {
	if d.notify.stopped {
		return
	}
	d.notify.stopped = true
	if d.notify.cancel != nil {
		close(d.notify.draining)
		done := make(chan struct{})
		go func() { d.notify.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			d.notify.cancel()
			<-done
		}
		d.notify.cancel()
	}
	for _, o := range d.notify.outlets {
		if err := o.n.Close(); err != nil {
			o.logger.Warn("closing notifier", "err", err)
		}
	}
}

// wakeNotifiers tells every outlet that the journal holds more.
func (d *Desk) wakeNotifiers() {
	for _, o := range d.notify.outlets {
		select {
		case o.wake <- struct{}{}:
		default:
		}
	}
}

// sendDirect hands a message the journal failed to hold straight to the
// outlets whose route takes it: better delivered without an audit trail
// than not at all.
func (d *Desk) sendDirect(m Message) {
	for _, o := range d.notify.outlets {
		if !o.route.Match(&m) {
			continue
		}
		select {
		case o.direct <- m:
		default:
			o.lost.Inc()
			o.logger.Error("alarm message lost: the journal failed and the notifier is too far behind",
				"alarm", m.AlarmID, "kind", m.Kind.String())
		}
	}
}

// run delivers the journal's feed from cursor on, and what sendDirect
// hands over, until ctx ends or, once draining, nothing is left.
func (o *outlet) run(ctx context.Context, d *Desk, cursor int64, draining <-chan struct{}) {
	saved := cursor
	save := func() {
		if cursor == saved {
			return
		}
		if err := d.journal.Advance(context.WithoutCancel(ctx), o.name, cursor); err != nil {
			o.logger.Error("saving the notifier's place in the feed; some messages may be sent again after a restart", "err", err)
			return
		}
		saved = cursor
	}
	defer save() // what was delivered before ctx ended is not sent again
	pause := retryMin
	for {
		if !o.deliverDirect(ctx) {
			return
		}
		batch, err := d.journal.Feed(ctx, cursor, feedBatch)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			o.logger.Error("reading the alarm feed", "err", err)
			if sleep(ctx, pause) != nil {
				return
			}
			pause = min(2*pause, retryMax)
			continue
		}
		pause = retryMin
		for _, e := range batch {
			m := d.message(e.Transition)
			if o.route.Match(&m) && !o.deliver(ctx, &m) {
				return
			}
			cursor = e.ID
		}
		if len(batch) > 0 {
			save()
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-draining:
			o.deliverDirect(ctx)
			return
		case <-o.wake:
		case m := <-o.direct:
			if !o.deliver(ctx, &m) {
				return
			}
		}
	}
}

// deliverDirect delivers what sendDirect has queued; false when ctx ended
// first.
func (o *outlet) deliverDirect(ctx context.Context) bool {
	for {
		select {
		case m := <-o.direct:
			if !o.deliver(ctx, &m) {
				return false
			}
		default:
			return true
		}
	}
}

// deliver offers m until the notifier takes it; false when ctx ended
// first.
func (o *outlet) deliver(ctx context.Context, m *Message) bool {
	pause := retryMin
	for {
		err := o.n.Notify(ctx, *m)
		if err == nil {
			o.sent.Inc()
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		o.failed.Inc()
		o.logger.Warn("alarm message not delivered; trying again", "alarm", m.AlarmID, "seq", m.Seq,
			"kind", m.Kind.String(), "in", pause, "err", err)
		if sleep(ctx, pause) != nil {
			return false
		}
		pause = min(2*pause, retryMax)
	}
}

// sleep waits d, or until ctx ends and then returns ctx.Err().
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
