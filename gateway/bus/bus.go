// Package bus carries what drivers publish to the outbox and on to the
// consumers that follow it (the rule engine, the local history). It is
// bounded: when a consumer falls behind, Publish blocks and the drivers
// slow down; nothing is ever dropped on the way.
//
// One goroutine takes published batches in groups and commits each group
// to the outbox with a single fsync (group commit), answers every
// publisher, then hands the group to each follower's bounded queue.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shouwang-iot/shouwang"
)

// Config is the bus section of the config file.
type Config struct {
	// Capacity is how many published batches may wait for the commit
	// before Publish blocks.
	Capacity int `yaml:"capacity"`
	// MaxGroup is the most batches committed with one fsync.
	MaxGroup int `yaml:"max_group"`
	// FollowerQueue is how many committed groups may wait for each
	// follower. A follower that falls behind takes all of them at once, so
	// a deeper queue buys no throughput, only memory: 8 groups of an MQTT
	// driver's batches are already tens of thousands of readings.
	FollowerQueue int `yaml:"follower_queue"`
}

// DefaultConfig holds the bus defaults.
func DefaultConfig() Config { return Config{Capacity: 1024, MaxGroup: 256, FollowerQueue: 8} }

// Validate reports every problem as shouwang.FieldErrors.
func (c *Config) Validate() error {
	var errs shouwang.FieldErrors
	if c.Capacity < 1 {
		errs.Add("capacity", "%d is too small (want 1 or more, e.g. 1024)", c.Capacity)
	}
	if c.MaxGroup < 1 {
		errs.Add("max_group", "%d is too small (want 1 or more, e.g. 256)", c.MaxGroup)
	}
	if c.FollowerQueue < 1 {
		errs.Add("follower_queue", "%d is too small (want 1 or more, e.g. 8)", c.FollowerQueue)
	}
	return errs.Err()
}

// CommitFunc makes a group of batches durable; the outbox's Append.
type CommitFunc func(batches ...shouwang.Batch) error

// Follower consumes every committed group, in order.
type Follower struct {
	Name string
	// Take handles one group. Its errors are logged and counted; the
	// group is not offered again (the outbox is the durable path).
	Take func(ctx context.Context, group []shouwang.Batch) error
}

// Options are the bus's collaborators.
type Options struct {
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Inspect, if set, sees every reading before anything else does, with
	// the time it was published, and may lower its quality (a value out of
	// the sensor's range, a clock far ahead).
	Inspect func(r *shouwang.Reading, now time.Time)
}

type item struct {
	b    shouwang.Batch
	done chan error
}

// Bus is the bounded pipeline between drivers and consumers.
type Bus struct {
	cfg       Config
	commit    CommitFunc
	followers []*follower
	now       func() time.Time
	inspect   func(*shouwang.Reading, time.Time)
	logger    *slog.Logger
	m         metrics

	in   chan item
	quit chan struct{} // closed by Stop: blocked publishers give up

	mu      sync.RWMutex // held for reading while sending on in; Stop closes in under the write lock
	stopped bool

	ctx    context.Context // cancelled when Stop runs out of time
	cancel context.CancelFunc
	wg     sync.WaitGroup

	lifeMu   sync.Mutex // guards started and stopping
	started  bool
	stopping bool
	stopOnce sync.Once
}

type follower struct {
	Follower
	q chan []shouwang.Batch
}

var _ shouwang.Publisher = (*Bus)(nil)

// New builds a bus; nothing runs until Start. A nil commit acknowledges a
// batch once it is queued for every follower, which makes nothing durable:
// the gateway always passes one (the outbox, or the history store).
func New(cfg Config, commit CommitFunc, followers []Follower, opts Options) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bus: %w", err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Bus{cfg: cfg, commit: commit, now: opts.Now, inspect: opts.Inspect, logger: opts.Logger.With("component", "bus"),
		in: make(chan item, cfg.Capacity), quit: make(chan struct{})}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	for _, f := range followers {
		b.followers = append(b.followers, &follower{Follower: f, q: make(chan []shouwang.Batch, cfg.FollowerQueue)})
	}
	b.m = newMetrics(b, opts.Registerer)
	return b, nil
}

// Start starts the committer and one goroutine per follower.
func (b *Bus) Start() {
	// Not b.mu: a Publish blocked on a full bus before Start holds it.
	b.lifeMu.Lock()
	defer b.lifeMu.Unlock()
	if b.started || b.stopping {
		return
	}
	b.started = true
	var fwg sync.WaitGroup
	for _, f := range b.followers {
		fwg.Add(1)
		go func() { defer fwg.Done(); b.follow(f) }()
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.commitLoop()
		for _, f := range b.followers {
			close(f.q)
		}
		fwg.Wait()
	}()
}

// Publish implements shouwang.Publisher: it blocks while the bus is full
// and returns once the batch is committed to the outbox.
func (b *Bus) Publish(ctx context.Context, batch shouwang.Batch) error {
	if batch.Len() == 0 {
		return nil
	}
	if err := b.prepare(&batch); err != nil {
		return err
	}
	it := item{b: batch, done: make(chan error, 1)}
	b.mu.RLock()
	if b.stopped {
		b.mu.RUnlock()
		return shouwang.ErrStopped
	}
	select {
	case b.in <- it:
	default:
		// Full: this is the backpressure, and it is measured.
		start := time.Now()
		select {
		case b.in <- it:
		case <-ctx.Done():
			b.mu.RUnlock()
			return ctx.Err()
		case <-b.quit:
			b.mu.RUnlock()
			return shouwang.ErrStopped
		}
		b.m.blocked.Add(time.Since(start).Seconds())
	}
	b.mu.RUnlock()
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// prepare stamps readings and events that carry no time and refuses what
// no consumer could place.
func (b *Bus) prepare(batch *shouwang.Batch) error {
	now := b.now()
	for i := range batch.Readings {
		r := &batch.Readings[i]
		if r.Device == "" || r.Point == "" || !utf8.ValidString(r.Device) || !utf8.ValidString(r.Point) {
			return fmt.Errorf("bus: reading %d needs a device and a point in UTF-8: %+v", i, *r)
		}
		if r.Time.IsZero() {
			r.Time = now
		}
		if b.inspect != nil {
			b.inspect(r, now)
		}
	}
	for i := range batch.Events {
		e := &batch.Events[i]
		if e.Device == "" || e.Kind == "" || !utf8.ValidString(e.Device) || !utf8.ValidString(e.Kind) {
			return fmt.Errorf("bus: event %d needs a device and a kind in UTF-8: %+v", i, *e)
		}
		if e.Time.IsZero() {
			e.Time = now
		}
	}
	return nil
}

func (b *Bus) commitLoop() {
	group := make([]item, 0, b.cfg.MaxGroup)
	batches := make([]shouwang.Batch, 0, b.cfg.MaxGroup)
	for {
		it, ok := <-b.in
		if !ok {
			return
		}
		group = append(group[:0], it)
	fill:
		for len(group) < b.cfg.MaxGroup {
			select {
			case it, ok := <-b.in:
				if !ok {
					break fill
				}
				group = append(group, it)
			default:
				break fill
			}
		}
		batches = batches[:0]
		n := 0
		for _, it := range group {
			batches = append(batches, it.b)
			n += it.b.Len()
		}
		// With no commit, the followers' queues are what holds the batch.
		var err error
		if b.commit != nil {
			if err = b.commit(batches...); err != nil {
				b.m.commitErrors.Inc()
				b.logger.Error("outbox commit failed; publishers are told, followers still get the readings", "err", err, "batches", len(batches))
			}
		}
		b.m.groups.Inc()
		b.m.items.Add(float64(n))
		// Rules must see readings even when the disk fails, so followers get
		// the group either way. They share one copy of the slice, since
		// batches is reused for the next group.
		out := append([]shouwang.Batch(nil), batches...)
		for _, f := range b.followers {
			b.handOver(f, out)
		}
		for _, it := range group {
			it.done <- err
		}
	}
}

// handOver blocks while the follower's queue is full: that is how a slow
// consumer slows the drivers down instead of losing readings.
func (b *Bus) handOver(f *follower, group []shouwang.Batch) {
	select {
	case f.q <- group:
		return
	default:
	}
	start := time.Now()
	f.q <- group
	b.m.followerBlocked.WithLabelValues(f.Name).Add(time.Since(start).Seconds())
}

// follow feeds one follower. When it has fallen behind, it takes every
// group waiting in its queue at once: a store then commits one transaction
// for all of them instead of one per group.
func (b *Bus) follow(f *follower) {
	var joined []shouwang.Batch
	for group := range f.q {
		joined = append(joined[:0], group...)
	more:
		for len(joined) < b.cfg.MaxGroup*4 {
			select {
			case g, ok := <-f.q:
				if !ok {
					break more
				}
				joined = append(joined, g...)
			default:
				break more
			}
		}
		group = joined
		if err := f.Take(b.ctx, group); err != nil {
			b.m.followerErrors.WithLabelValues(f.Name).Inc()
			b.logger.Error("follower failed to take a group", "follower", f.Name, "err", err)
		}
	}
}

// Stop refuses new batches, lets what was published run through the
// commit and every follower, and waits. If ctx ends first the followers'
// context is cancelled and Stop still waits for the goroutines to exit
// before returning ctx.Err().
func (b *Bus) Stop(ctx context.Context) error {
	b.stopOnce.Do(func() {
		close(b.quit)
		b.lifeMu.Lock()
		defer b.lifeMu.Unlock()
		b.stopping = true
		b.mu.Lock()
		b.stopped = true
		close(b.in)
		b.mu.Unlock()
		if !b.started {
			b.started = true
			b.wg.Add(1)
			go func() { // nothing ran: answer anything queued before Stop
				defer b.wg.Done()
				for it := range b.in {
					it.done <- shouwang.ErrStopped
				}
			}()
		}
	})
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
		b.cancel()
		return nil
	case <-ctx.Done():
		b.cancel()
		<-done
		return errors.Join(ctx.Err(), errors.New("bus: followers did not drain in time"))
	}
}

// Depth is the number of batches waiting for the commit.
func (b *Bus) Depth() int { return len(b.in) }
