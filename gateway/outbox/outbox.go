// Package outbox keeps every reading and event bound for the time-series
// store on disk until the store has confirmed it. It is the gateway's
// promise that nothing is lost: not when the store is down for a day, not
// on kill -9, not when the power is cut in the middle of a write.
//
// Append makes batches durable (one fsync for the whole group) before the
// bus acknowledges them to the drivers. Each sink has a Forwarder that
// reads from its own durable cursor, writes batches to the sink, retries
// with backoff and advances the cursor on success: at-least-once delivery,
// and InfluxDB overwrites a replayed point (same series and timestamp).
// When the outbox outgrows its bound, the oldest plain readings go first;
// events are carried forward, never dropped.
package outbox

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shouwang-iot/shouwang"
)

// Config is the outbox section of the config file.
type Config struct {
	// Dir holds the segment files and cursors; the gateway defaults it to
	// <data_dir>/outbox.
	Dir string `yaml:"dir"`
	// MaxBytes bounds the outbox on disk. Past it the oldest readings are
	// dropped (and counted); events are kept.
	MaxBytes shouwang.ByteSize `yaml:"max_bytes"`
	// SegmentBytes is the size at which a new segment file is started;
	// whole segments are deleted once every sink has confirmed them.
	SegmentBytes shouwang.ByteSize `yaml:"segment_bytes"`
}

// DefaultConfig holds the outbox defaults: a day of a busy community's
// readings fits in 1 GiB many times over.
func DefaultConfig() Config {
	return Config{MaxBytes: 1 << 30, SegmentBytes: 16 << 20}
}

// Validate reports every problem as shouwang.FieldErrors.
func (c *Config) Validate() error {
	var errs shouwang.FieldErrors
	if c.Dir == "" {
		errs.Add("dir", "must be set (a directory on persistent storage)")
	}
	if c.SegmentBytes < 64<<10 {
		errs.Add("segment_bytes", "%s is too small (want at least 64KiB, e.g. 16MiB)", c.SegmentBytes)
	}
	if c.MaxBytes < 4*c.SegmentBytes {
		errs.Add("max_bytes", "%s is less than four segments of %s (want at least %s)", c.MaxBytes, c.SegmentBytes, 4*c.SegmentBytes)
	}
	return errs.Err()
}

// Options are the outbox's collaborators.
type Options struct {
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are kept but not exported
}

// maxRecordItems splits a huge published batch into records a sink can
// take a few at a time.
const maxRecordItems = 4096

var errClosed = errors.New("outbox: closed")

// Outbox is the durable queue between the bus and the sinks.
type Outbox struct {
	cfg    Config
	log    *segmentLog
	now    func() time.Time
	logger *slog.Logger
	m      *metrics

	appendMu sync.Mutex // one group at a time; guards enc, payloads
	enc      []byte
	payloads [][]byte

	mu      sync.Mutex
	cursors map[string]*cursor
	changed chan struct{} // closed and replaced after every append
	closed  bool
}

// Open opens (or creates) the outbox in cfg.Dir. consumers names every
// sink that reads from it; their cursors decide what may be deleted.
func Open(cfg Config, consumers []string, opts Options) (*Outbox, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l, torn, err := openSegmentLog(cfg.Dir, int64(cfg.SegmentBytes))
	if err != nil {
		return nil, err
	}
	o := &Outbox{
		cfg: cfg, log: l, now: opts.Now, logger: opts.Logger.With("component", "outbox"),
		cursors: make(map[string]*cursor), changed: make(chan struct{}),
	}
	first, next, _ := l.state()
	for _, name := range consumers {
		c, err := loadCursor(cfg.Dir, name, first, next)
		if err != nil {
			l.close()
			return nil, err
		}
		o.cursors[name] = c
	}
	o.m = newMetrics(o, opts.Registerer)
	if torn != nil {
		// Only records never acknowledged can be in a torn tail: append
		// returns after fsync, and a cut can only hit what was being written.
		o.m.tornBytes.Add(float64(torn.Bytes))
		o.logger.Warn("cut a torn tail left by a crash or power cut; the records in it were never acknowledged",
			"segment", torn.Segment, "bytes", torn.Bytes)
	}
	if err := o.removeAcked(); err != nil {
		l.close()
		return nil, err
	}
	return o, nil
}

// Append makes the batches durable with one write and one fsync. Only when
// it returns nil may anything upstream be acknowledged.
func (o *Outbox) Append(batches ...shouwang.Batch) error {
	o.appendMu.Lock()
	defer o.appendMu.Unlock()
	n, err := o.appendLocked(batches)
	if errors.Is(err, syscall.ENOSPC) {
		// The disk is full (the SD card is shared with the history): make
		// room by dropping the oldest readings, and try once more.
		o.logger.Error("disk full: dropping the oldest unsent readings to make room", "err", err)
		if _, derr := o.dropOldest(); derr != nil {
			o.logger.Error("could not drop readings to make room", "err", derr)
		}
		n, err = o.appendLocked(batches)
	}
	if err != nil {
		return err
	}
	o.m.appended.Add(float64(n))
	o.wake()
	// The batches are durable: a failure to trim the outbox is the
	// outbox's problem to report, not the publisher's.
	if err := o.enforceBound(); err != nil {
		o.logger.Error("outbox is over max_bytes and could not drop its oldest readings", "err", err)
	}
	return nil
}

func (o *Outbox) appendLocked(batches []shouwang.Batch) (items int, err error) {
	now := o.now()
	enc, payloads := o.enc[:0], o.payloads[:0]
	var starts []int
	for _, b := range batches {
		for b.Len() > 0 {
			part := b
			if part.Len() > maxRecordItems {
				part, b = split(b, maxRecordItems)
			} else {
				b = shouwang.Batch{}
			}
			starts = append(starts, len(enc))
			enc = appendRecord(enc, part, now)
			items += part.Len()
		}
	}
	if len(starts) == 0 {
		return 0, nil
	}
	for i, s := range starts {
		end := len(enc)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		payloads = append(payloads, enc[s:end])
	}
	o.enc, o.payloads = enc, payloads
	if _, err := o.log.append(payloads); err != nil {
		return 0, err
	}
	return items, nil
}

// split cuts the first n readings and events off b.
func split(b shouwang.Batch, n int) (head, rest shouwang.Batch) {
	nr := min(n, len(b.Readings))
	head.Readings, rest.Readings = b.Readings[:nr], b.Readings[nr:]
	ne := min(n-nr, len(b.Events))
	head.Events, rest.Events = b.Events[:ne], b.Events[ne:]
	return head, rest
}

func (o *Outbox) wake() {
	o.mu.Lock()
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
}

// changes returns a channel closed at the next append.
func (o *Outbox) changes() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.changed
}

// minCursor is the oldest record some consumer still needs.
func (o *Outbox) minCursor() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, m, _ := o.log.state()
	for _, c := range o.cursors {
		m = min(m, c.seq)
	}
	return m
}

// enforceBound drops the oldest segments while the outbox is over its
// bound, carrying their events forward. Each segment is looked at once at
// most: if only events are left, the outbox stays over its bound rather
// than drop one. Called with appendMu held.
func (o *Outbox) enforceBound() error {
	o.log.mu.Lock()
	budget := len(o.log.segs) - 1
	o.log.mu.Unlock()
	dropped := 0
	for ; budget > 0; budget-- {
		if _, _, bytes := o.log.state(); bytes <= int64(o.cfg.MaxBytes) {
			return nil
		}
		n, err := o.dropOldest()
		if err != nil {
			return err
		}
		dropped += n
	}
	if _, _, bytes := o.log.state(); bytes > int64(o.cfg.MaxBytes) && dropped == 0 {
		o.logger.Error("outbox is over its bound with events only; keeping them",
			"bytes", bytes, "max_bytes", o.cfg.MaxBytes)
	}
	return nil
}

// dropOldest removes the oldest segment behind the tail, appending its
// unsent events again first (so a crash in between duplicates them rather
// than loses them), and returns how many unsent readings went with it.
func (o *Outbox) dropOldest() (int, error) {
	first, end, ok := o.log.oldest()
	if !ok {
		return 0, nil
	}
	var keep shouwang.Batch
	dropped := 0
	r := newLogReader(o.log, max(first, o.minCursor()))
	for r.seq < end {
		seq, p, err := r.next()
		if errors.Is(err, io.EOF) || seq >= end {
			break
		} else if err != nil {
			r.closeFile()
			if f, _, _ := o.log.state(); f > first {
				return 0, nil // every sink confirmed it and it went meanwhile
			}
			return 0, err
		}
		b, _, err := decodeRecord(p)
		if err != nil {
			continue // unreadable either way; the forwarder counts it
		}
		dropped += len(b.Readings)
		keep.Events = append(keep.Events, b.Events...)
	}
	r.closeFile()
	if len(keep.Events) > 0 {
		if _, err := o.appendLocked([]shouwang.Batch{keep}); err != nil {
			return 0, err
		}
	}
	if err := o.log.removeBefore(end); err != nil {
		return 0, err
	}
	o.mu.Lock()
	for _, c := range o.cursors {
		c.seq = max(c.seq, end)
	}
	o.mu.Unlock()
	o.m.dropped.Add(float64(dropped))
	if dropped > 0 {
		o.logger.Warn("outbox full: dropped the oldest readings not yet in the store",
			"readings", dropped, "events_kept", len(keep.Events), "max_bytes", o.cfg.MaxBytes)
	}
	return dropped, nil
}

// ack records that consumer name has everything before seq, durably, and
// deletes the segments no consumer needs any more.
func (o *Outbox) ack(name string, seq uint64) error {
	o.mu.Lock()
	c := o.cursors[name]
	if c == nil {
		o.mu.Unlock()
		return fmt.Errorf("outbox: unknown consumer %q", name)
	}
	if seq <= c.seq {
		o.mu.Unlock()
		return nil
	}
	c.seq = seq
	o.mu.Unlock()
	if err := c.save(seq); err != nil {
		return err
	}
	return o.removeAcked()
}

func (o *Outbox) removeAcked() error {
	if len(o.cursors) == 0 {
		return nil
	}
	return o.log.removeBefore(o.minCursor())
}

// cursorOf returns where consumer name will read next.
func (o *Outbox) cursorOf(name string) (uint64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c, ok := o.cursors[name]
	if !ok {
		return 0, false
	}
	return c.seq, true
}

// unsent is the number of records the slowest consumer has not had
// confirmed.
func (o *Outbox) unsent() uint64 {
	_, next, _ := o.log.state()
	return next - min(o.minCursor(), next)
}

// Pending is the number of records consumer name has not had confirmed.
func (o *Outbox) Pending(name string) uint64 {
	seq, ok := o.cursorOf(name)
	if !ok {
		return 0
	}
	_, next, _ := o.log.state()
	return next - min(seq, next)
}

// Close closes the log. Forwarders must have stopped first.
func (o *Outbox) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	o.mu.Unlock()
	o.appendMu.Lock()
	defer o.appendMu.Unlock()
	return o.log.close()
}
