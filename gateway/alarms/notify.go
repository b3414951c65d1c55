package alarms

import (
	"context"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// A Notifier carries announced alarm messages somewhere outside the
// gateway: an MQTT broker, a webhook. Notify blocks until the message is
// delivered or the notifier gives up on it (after its own retries), and
// then returns the error; ctx ends it early at shutdown.
type Notifier interface {
	Notify(ctx context.Context, m Message) error
	Close() error
}

// outlet feeds one notifier from its own queue and goroutine, so a slow
// or unreachable peer never holds the desk (or the other notifiers) up.
type outlet struct {
	name   string
	n      Notifier
	q      chan Message
	logger *slog.Logger
	failed prometheus.Counter
	lost   prometheus.Counter
}

// notifiers runs every outlet.
type notifiers struct {
	outlets []*outlet
	wg      sync.WaitGroup
	cancel  context.CancelFunc
}

// queueLen is how many messages a notifier may fall behind before further
// ones are dropped for it (and counted): an hour of a bad alarm flood.
const queueLen = 10_000

// AddNotifier registers a notifier; call before Start.
func (d *Desk) AddNotifier(name string, n Notifier) {
	o := &outlet{name: name, n: n, q: make(chan Message, queueLen), logger: d.logger.With("notifier", name),
		failed: d.m.notifyFailed.WithLabelValues(name), lost: d.m.notifyLost.WithLabelValues(name)}
	d.notify.outlets = append(d.notify.outlets, o)
}

// StartNotifiers starts one goroutine per notifier; StopNotifiers stops
// them after they have sent what is queued, or when ctx ends.
func (d *Desk) StartNotifiers(ctx context.Context) {
	ctx, d.notify.cancel = context.WithCancel(ctx)
	for _, o := range d.notify.outlets {
		d.notify.wg.Go(func() { o.run(ctx) })
	}
}

// StopNotifiers closes the queues, waits for them to drain until ctx
// ends, then closes the notifiers.
func (d *Desk) StopNotifiers(ctx context.Context) {
	for _, o := range d.notify.outlets {
		close(o.q)
	}
	done := make(chan struct{})
	go func() { d.notify.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		if d.notify.cancel != nil {
			d.notify.cancel()
		}
		<-done
	}
	if d.notify.cancel != nil {
		d.notify.cancel()
	}
	for _, o := range d.notify.outlets {
		o.n.Close()
	}
}

func (d *Desk) enqueue(m Message) {
	for _, o := range d.notify.outlets {
		select {
		case o.q <- m:
		default:
			o.lost.Inc()
			o.logger.Error("notifier queue full; message dropped for this notifier", "alarm", m.AlarmID, "kind", m.Kind.String())
		}
	}
}

func (o *outlet) run(ctx context.Context) {
	for m := range o.q {
		if err := o.n.Notify(ctx, m); err != nil {
			if ctx.Err() != nil {
				return
			}
			o.failed.Inc()
			o.logger.Error("alarm message not delivered", "alarm", m.AlarmID, "kind", m.Kind.String(), "err", err)
		}
	}
}
