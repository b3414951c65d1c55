package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/durable"
)

// ForwardConfig is how a forwarder batches and retries for one sink.
type ForwardConfig struct {
	// BatchSize is the readings and events per write (a record is never
	// split, so a batch may run over by less than one record).
	BatchSize int `yaml:"batch_size"`
	// FlushInterval is how long a partial batch waits for more.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// MinBackoff and MaxBackoff bound the wait between failed writes; it
	// doubles from min to max, or is what the store asked (Retry-After).
	MinBackoff time.Duration `yaml:"min_backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// Quarantine is the file (JSON lines) that receives batches the store
	// rejected as malformed, with the store's error.
	Quarantine string `yaml:"quarantine"`
}

// DefaultForwardConfig holds the forwarding defaults.
func DefaultForwardConfig() ForwardConfig {
	return ForwardConfig{BatchSize: 5000, FlushInterval: time.Second, MinBackoff: 250 * time.Millisecond, MaxBackoff: time.Minute}
}

// Validate reports every problem as shouwang.FieldErrors.
func (c *ForwardConfig) Validate() error {
	var errs shouwang.FieldErrors
	if c.BatchSize < 1 || c.BatchSize > 100_000 {
		errs.Add("batch_size", "%d is out of range (want 1 to 100000, e.g. 5000)", c.BatchSize)
	}
	if c.FlushInterval <= 0 {
		errs.Add("flush_interval", "must be positive (e.g. 1s)")
	}
	if c.MinBackoff <= 0 {
		errs.Add("min_backoff", "must be positive (e.g. 250ms)")
	}
	if c.MaxBackoff < c.MinBackoff {
		errs.Add("max_backoff", "%s is less than min_backoff %s", c.MaxBackoff, c.MinBackoff)
	}
	if c.Quarantine == "" {
		errs.Add("quarantine", "must name a file")
	}
	return errs.Err()
}

// Forwarder moves records from the outbox to one sink.
type Forwarder struct {
	o      *Outbox
	name   string
	sink   shouwang.Sink
	cfg    ForwardConfig
	logger *slog.Logger

	drain     chan struct{}
	drainOnce sync.Once
}

// Forwarder returns the forwarder for consumer name, which must have been
// named when the outbox was opened.
func (o *Outbox) Forwarder(name string, sink shouwang.Sink, cfg ForwardConfig) (*Forwarder, error) {
	if _, ok := o.cursorOf(name); !ok {
		return nil, fmt.Errorf("outbox: %q was not named as a consumer at open", name)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("outbox: forwarder %s: %w", name, err)
	}
	// Export every series from the start, so a dashboard sees 0 rather
	// than nothing before the first failure.
	for _, kind := range []string{"retryable", "permanent", "decode"} {
		o.m.errors.WithLabelValues(name, kind)
	}
	o.m.sent.WithLabelValues(name)
	o.m.quarantined.WithLabelValues(name)
	return &Forwarder{o: o, name: name, sink: sink, cfg: cfg, drain: make(chan struct{}),
		logger: o.logger.With("sink", name)}, nil
}

// Drain asks Run to return once everything appended so far is confirmed.
func (f *Forwarder) Drain() { f.drainOnce.Do(func() { close(f.drain) }) }

func (f *Forwarder) draining() bool {
	select {
	case <-f.drain:
		return true
	default:
		return false
	}
}

// Run forwards until ctx ends, or until Drain was called and nothing is
// left. It returns ctx.Err() or nil.
func (f *Forwarder) Run(ctx context.Context) error {
	seq, _ := f.o.cursorOf(f.name)
	r := newLogReader(f.o.log, seq)
	r.onErr = func(err error) { f.logger.Error("outbox storage returned garbled records", "err", err) }
	defer r.closeFile()
	var (
		batch    shouwang.Batch
		end      uint64 // sequence number after the last record in batch
		deadline <-chan time.Time
		timer    = time.NewTimer(time.Hour)
		readErr  error
	)
	timer.Stop()
	defer timer.Stop()
	for {
		changed := f.o.changes()
		lost := r.Lost
		readErr = nil
		for batch.Len() < f.cfg.BatchSize {
			s, p, err := r.next()
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				readErr = err
				break
			}
			end = s + 1
			b, appended, err := decodeRecord(p)
			if err != nil {
				f.o.m.errors.WithLabelValues(f.name, "decode").Inc()
				f.logger.Error("skipping an outbox record this build cannot read", "seq", s, "err", err)
				continue
			}
			if batch.Len() == 0 {
				f.o.setOldest(f.name, appended)
			}
			batch.Readings = append(batch.Readings, b.Readings...)
			batch.Events = append(batch.Events, b.Events...)
		}
		f.o.m.lost.Add(float64(r.Lost - lost))
		if batch.Len() > 0 && (batch.Len() >= f.cfg.BatchSize || f.draining()) {
			if err := f.flush(ctx, batch, end); err != nil {
				return err
			}
			batch, deadline = shouwang.Batch{}, nil
			continue
		}
		switch {
		case readErr != nil:
			// The disk failed us: try again shortly, and never report the
			// outbox drained while records are left in it.
			f.logger.Error("reading the outbox; retrying", "err", readErr)
			timer.Reset(f.cfg.MinBackoff)
			deadline = timer.C
		case batch.Len() == 0:
			if end > 0 {
				f.o.ack(f.name, end) // only unreadable records were read: confirm past them
			}
			f.o.setOldest(f.name, time.Time{})
			if f.draining() {
				return nil
			}
		case deadline == nil:
			timer.Reset(f.cfg.FlushInterval)
			deadline = timer.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-f.drain:
		case <-deadline:
			deadline = nil
			if batch.Len() > 0 {
				if err := f.flush(ctx, batch, end); err != nil {
					return err
				}
				batch = shouwang.Batch{}
			}
		}
	}
}

// flush sends the batch and then confirms the records up to end.
func (f *Forwarder) flush(ctx context.Context, b shouwang.Batch, end uint64) error {
	if err := f.send(ctx, b); err != nil {
		return err
	}
	if err := f.o.ack(f.name, end); err != nil {
		f.logger.Error("saving the outbox cursor", "err", err)
	}
	return nil
}

// send writes the batch until the sink takes it or ctx ends. A batch the
// store rejects as malformed is halved and each half sent again, so only
// the readings that are really bad end up in quarantine.
func (f *Forwarder) send(ctx context.Context, b shouwang.Batch) error {
	backoff := f.cfg.MinBackoff
	failing := false
	for {
		start := time.Now()
		err := f.sink.Write(ctx, b)
		f.o.m.batch.WithLabelValues(f.name).Observe(time.Since(start).Seconds())
		if err == nil {
			f.o.m.sent.WithLabelValues(f.name).Add(float64(b.Len()))
			if failing {
				f.logger.Info("sink is taking writes again")
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var we *shouwang.WriteError
		permanent := errors.As(err, &we) && we.Permanent
		if permanent {
			f.o.m.errors.WithLabelValues(f.name, "permanent").Inc()
			if b.Len() > 1 {
				head, tail := split(b, b.Len()/2)
				if err := f.send(ctx, head); err != nil {
					return err
				}
				return f.send(ctx, tail)
			}
			if err = f.quarantine(b, err); err == nil {
				return nil
			}
			// Not written to quarantine: keep the record and try again.
		} else {
			f.o.m.errors.WithLabelValues(f.name, "retryable").Inc()
		}
		wait := backoff
		if we != nil && we.RetryAfter > 0 {
			wait = we.RetryAfter
		}
		if !failing {
			f.logger.Warn("sink write failed; retrying with backoff, the outbox keeps everything", "err", err, "wait", wait)
			failing = true
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, f.cfg.MaxBackoff)
	}
}

// quarantine keeps a reading or event the store refused, with the store's
// reason, so an engineer can fix and replay it; the outbox then moves on.
// If it cannot be written, the caller keeps the record and retries.
func (f *Forwarder) quarantine(b shouwang.Batch, cause error) error {
	line, err := json.Marshal(struct {
		Time     time.Time          `json:"time"`
		Sink     string             `json:"sink"`
		Error    string             `json:"error"`
		Readings []shouwang.Reading `json:"readings"`
		Events   []shouwang.Event   `json:"events"`
	}{f.o.now(), f.name, cause.Error(), b.Readings, b.Events})
	if err == nil {
		err = durable.Append(f.cfg.Quarantine, append(line, '\n'))
	}
	if err != nil {
		return fmt.Errorf("store rejected a record (%w) and writing it to quarantine %s failed: %w", cause, f.cfg.Quarantine, err)
	}
	f.o.m.quarantined.WithLabelValues(f.name).Add(float64(b.Len()))
	f.logger.Error("store rejected a record as malformed; moved it to quarantine",
		"err", cause, "file", f.cfg.Quarantine)
	return nil
}

func (o *Outbox) setOldest(name string, t time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if c := o.cursors[name]; c != nil {
		c.oldest = t
	}
}

func (o *Outbox) oldestAge() float64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var oldest time.Time
	for _, c := range o.cursors {
		if !c.oldest.IsZero() && (oldest.IsZero() || c.oldest.Before(oldest)) {
			oldest = c.oldest
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return o.now().Sub(oldest).Seconds()
}
