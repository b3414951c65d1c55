package sim

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// Driver publishes the Model's batches on a ticker and, when Config.Load
// is on, the load generator's batches. Build it with Config.NewDriver.
type Driver struct {
	cfg       Config
	name      string
	devices   []shouwang.Device
	log       *slog.Logger
	now       func() time.Time
	loadRetry time.Duration // wait before a failed load batch is published again

	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newDriver(cfg Config, env shouwang.DriverEnv) *Driver {
	cfg.Incidents = slices.Clone(cfg.Incidents)
	d := &Driver{
		cfg:       cfg,
		name:      env.Name,
		devices:   slices.Clone(env.Devices),
		log:       env.Logger,
		now:       env.Now,
		loadRetry: loadRetryWait,
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	return d
}

// Start starts the goroutine that publishes a batch for all devices at once
// and then every Interval and, when Config.Load.Rate is set, a second one
// that generates the load (see runLoad), and returns at once. Both run
// until ctx ends or Close is called; the load generator also stops by
// itself after Load.Limit readings. Start returns an error if the driver
// was already started or closed, or if pub is nil.
func (d *Driver) Start(ctx context.Context, pub shouwang.Publisher) error {
	if pub == nil {
		return errors.New("sim: Start with a nil Publisher")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return errors.New("sim: Start after Close")
	case d.started:
		return errors.New("sim: already started")
	}
	start := d.now()
	m, err := NewModel(d.cfg, d.devices, start)
	if err != nil {
		return err
	}
	d.started = true
	ctx, d.cancel = context.WithCancel(ctx)
	d.wg.Go(func() { d.run(ctx, pub, m) })
	if d.cfg.Load.Rate > 0 {
		g := newLoadGen(d.cfg.Load, start)
		d.wg.Go(func() { d.runLoad(ctx, pub, g) })
	}
	return nil
}

// run publishes until ctx ends. A Publish that blocks (backpressure) delays
// the next batch: the ticker holds at most one tick for a slow receiver, so
// after a stall one batch goes out at once and the ticks missed meanwhile
// are skipped, not made up.
func (d *Driver) run(ctx context.Context, pub shouwang.Publisher, m *Model) {
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	failed := 0 // batches dropped since Publish last succeeded
	for {
		if b := m.Step(d.now()); b.Len() > 0 {
			err := pub.Publish(ctx, b)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				if failed == 0 {
					d.log.Warn("sim: publish failed; dropping batches until it works again",
						"driver", d.name, "err", err)
				}
				failed++
			case failed > 0:
				d.log.Info("sim: publishing again", "driver", d.name, "dropped", failed)
				failed = 0
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close stops the goroutines and waits for them to return. It is safe to call
// more than once and without Start, and always returns nil.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.closed = true
	if d.cancel != nil {
		d.cancel()
	}
	d.mu.Unlock()
	d.wg.Wait()
	return nil
}
