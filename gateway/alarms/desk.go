package alarms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/rules"
)

// Message is what the desk announces for a transition: everything the duty
// officer needs without another lookup.
type Message struct {
	rules.Transition
	DeviceName string            `json:"device_name,omitempty"`
	DeviceType string            `json:"device_type,omitempty"`
	Location   shouwang.Location `json:"location"`
	Tags       map[string]string `json:"tags,omitempty"`
	Unit       string            `json:"unit,omitempty"`
	// RaisedAt is when the alarm was raised, so that any one message
	// tells the board since when (zero once the alarm has closed).
	RaisedAt time.Time `json:"raised_at,omitzero"`
	// Links are the API paths to act on the alarm.
	Links map[string]string `json:"links"`
}

// Desk owns the rule engine and the alarm book. Readings and events come
// in from the bus, time from Run's ticker, operator actions from the API;
// every resulting transition is committed to the journal, then announced
// to the subscribers. One lock orders all of it, so the journal's order is
// the book's.
type Desk struct {
	mu      sync.Mutex
	engine  *rules.Engine
	book    *rules.AlarmBook
	journal *Journal
	devices map[string]shouwang.Device
	now     func() time.Time
	unit    func(device, point string) string
	logger  *slog.Logger
	m       metrics

	changes []rules.Change
	trans   []rules.Transition

	subMu sync.Mutex
	subs  map[chan Message]struct{}

	notify notifiers
}

// Options are the desk's collaborators.
type Options struct {
	// Unit gives the unit of a device's point ("%LEL"), for messages; nil
	// leaves units out.
	Unit func(device, point string) string
	// Events returns what a device reported in [from, to), oldest first
	// (the history store): after a restart, the events since each open
	// alarm went active are replayed to its rule, so that a clear whose
	// off_delay had not run out is not lost. nil skips the replay.
	Events     func(ctx context.Context, device string, from, to time.Time) ([]shouwang.Event, error)
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// NewDesk builds the desk and brings back the open alarms the journal
// holds.
func NewDesk(ctx context.Context, engine *rules.Engine, book *rules.AlarmBook, journal *Journal,
	devices []shouwang.Device, opts Options) (*Desk, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Unit == nil {
		opts.Unit = func(string, string) string { return "" }
	}
	d := &Desk{unit: opts.Unit, engine: engine, book: book, journal: journal, devices: map[string]shouwang.Device{},
		now: opts.Now, logger: opts.Logger.With("component", "alarms"), subs: map[chan Message]struct{}{}}
	for _, dev := range devices {
		d.devices[dev.ID] = dev
	}
	d.m = newMetrics(d, opts.Registerer)
	snap, ok, err := journal.Load(ctx)
	if err != nil {
		return nil, err
	}
	if ok {
		if err := book.Restore(snap); err != nil {
			return nil, fmt.Errorf("alarm journal: restoring the open alarms: %w", err)
		}
		var active []rules.Change
		for _, a := range book.Open() {
			active = append(active, rules.Change{Rule: a.Rule, Device: a.Device, Active: a.Active,
				Severity: a.Severity, Level: a.Level, Point: a.Point, Value: a.Value})
		}
		now := d.now()
		engine.Restore(active, now)
		d.logger.Info("alarms restored from the journal", "open", len(active))
		if opts.Events != nil {
			if err := d.replayEvents(ctx, opts.Events, now); err != nil {
				return nil, err
			}
		}
	}
	return d, nil
}

const (
	// replayLimit bounds how far back replayEvents looks.
	replayLimit = 24 * time.Hour
	// replaySkew starts the replay this much before the alarm went
	// active: events carry the device's time, and a device clock a little
	// slow stamps its clear before the gateway saw the alarm. Replaying a
	// few older events is harmless: they are fed in order.
	replaySkew = 5 * time.Minute
)

// replayEvents feeds each open, active alarm's rule the events its device
// reported since the alarm last went active, and settles what follows.
func (d *Desk) replayEvents(ctx context.Context, events func(context.Context, string, time.Time, time.Time) ([]shouwang.Event, error), now time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.changes = d.changes[:0]
	for _, a := range d.book.Open() {
		if !a.Active {
			continue
		}
		from := a.ActiveSince.Add(-replaySkew)
		if from.Before(now.Add(-replayLimit)) {
			from = now.Add(-replayLimit)
		}
		evs, err := events(ctx, a.Device, from, now.Add(time.Millisecond))
		if err != nil {
			return fmt.Errorf("alarm %d: replaying the events of %s: %w", a.ID, a.Device, err)
		}
		d.changes = d.engine.ReplayEvents(d.changes, a.Rule, a.Device, evs)
	}
	if len(d.changes) == 0 {
		return nil
	}
	return d.settle(ctx, now, false)
}

// Take is the desk's bus follower: it evaluates every reading and event.
func (d *Desk) Take(ctx context.Context, group []shouwang.Batch) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	d.changes = d.changes[:0]
	for i := range group {
		b := &group[i]
		for j := range b.Readings {
			d.changes = d.engine.Reading(d.changes, &b.Readings[j], now)
		}
		for j := range b.Events {
			d.changes = d.engine.Event(d.changes, &b.Events[j], now)
		}
	}
	return d.settle(ctx, now, false)
}

// Run ticks the engine and the book every interval until ctx ends: delays
// run out, silent devices go stale, unacknowledged alarms escalate.
func (d *Desk) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.Tick(ctx); err != nil {
				d.logger.Error("alarm tick", "err", err)
			}
		}
	}
}

// Tick moves the engine and the book to the desk's clock's now.
func (d *Desk) Tick(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	d.changes = d.engine.Tick(d.changes[:0], now)
	return d.settle(ctx, now, true)
}

// settle applies d.changes to the book (and ticks it), commits what
// happened and announces it. Called with d.mu held.
func (d *Desk) settle(ctx context.Context, now time.Time, tick bool) error {
	d.trans = d.trans[:0]
	for _, c := range d.changes {
		d.trans = d.book.Apply(d.trans, c, now)
	}
	if tick {
		d.trans = d.book.Tick(d.trans, now)
	}
	if len(d.trans) == 0 {
		return nil
	}
	return d.commitAndAnnounce(ctx, d.trans)
}

func (d *Desk) commitAndAnnounce(ctx context.Context, ts []rules.Transition) error {
	closed := d.book.TakeClosed()
	err := d.journal.Commit(context.WithoutCancel(ctx), ts, d.book.Snapshot(), closed)
	if err != nil {
		// A gas leak must not wait for a broken SD card: announce anyway,
		// and say loudly that the audit trail has a hole.
		d.m.journalErrors.Inc()
		d.logger.Error("alarm journal write failed; announcing anyway", "err", err, "transitions", len(ts))
	}
	for _, a := range closed {
		grid := d.devices[a.Device].Location.Grid
		d.m.closed.WithLabelValues(grid).Inc()
		d.m.toClose.WithLabelValues(grid).Observe(a.Closed.Time.Sub(a.RaisedAt).Seconds())
	}
	for _, t := range ts {
		d.m.transitions.WithLabelValues(t.Kind.String()).Inc()
		d.measure(t)
		if t.Announce {
			d.logger.Warn("alarm", "id", t.AlarmID, "kind", t.Kind.String(), "severity", t.Severity.String(),
				"device", t.Device, "level", t.Level, "value", t.Value, "escalation", t.Escalation)
		}
		m := d.message(t)
		if a, err := d.book.Get(t.AlarmID); err == nil {
			m.RaisedAt = a.RaisedAt
		}
		d.announce(m)
		if err != nil {
			d.sendDirect(m)
		}
	}
	if err == nil {
		d.wakeNotifiers()
	}
	return err
}

// measure feeds the closed-loop figures that need the alarm itself.
func (d *Desk) measure(t rules.Transition) {
	grid := d.devices[t.Device].Location.Grid
	switch t.Kind {
	case rules.KindRaised:
		d.m.raised.WithLabelValues(grid, t.Severity.String()).Inc()
	case rules.KindAcknowledged:
		if a, err := d.book.Get(t.AlarmID); err == nil && a.FirstAck.Equal(t.Time) {
			d.m.toAck.WithLabelValues(grid).Observe(t.Time.Sub(a.RaisedAt).Seconds())
		}
	}
}

func (d *Desk) message(t rules.Transition) Message {
	m := Message{Transition: t, Links: links(t.AlarmID)}
	if dev, ok := d.devices[t.Device]; ok {
		m.DeviceName, m.DeviceType, m.Location, m.Tags = dev.Name, dev.Type, dev.Location.Refine(t.Detail), dev.Tags
	}
	if t.Point != "" {
		m.Unit = d.unit(t.Device, t.Point)
	}
	return m
}

func links(id uint64) map[string]string {
	base := fmt.Sprintf("/api/v1/alarms/%d", id)
	out := map[string]string{"self": base}
	for _, a := range []string{"acknowledge", "dispatch", "resolve", "close", "reset", "shelve", "unshelve"} {
		out[a] = base + "/" + a
	}
	return out
}

// Act performs an operator's step on an alarm. It returns the book's
// errors (rules.ErrNoAlarm, rules.ErrInvalidStep, rules.ErrInvalidInput)
// for the API to map.
func (d *Desk) Act(ctx context.Context, id uint64, action rules.Action, operator, note string, until time.Time) (rules.Transition, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	var t rules.Transition
	var err error
	switch action {
	case rules.ActionAcknowledge:
		t, err = d.book.Acknowledge(id, operator, note, now)
	case rules.ActionDispatch:
		t, err = d.book.Dispatch(id, operator, note, now)
	case rules.ActionResolve:
		t, err = d.book.Resolve(id, operator, note, now)
	case rules.ActionClose:
		t, err = d.book.Close(id, operator, note, now)
	case rules.ActionReset:
		t, err = d.book.Reset(id, operator, note, now)
	case rules.ActionShelve:
		t, err = d.book.Shelve(id, operator, note, until, now)
	case rules.ActionUnshelve:
		t, err = d.book.Unshelve(id, operator, note, now)
	default:
		return t, fmt.Errorf("%w: unknown action %v", rules.ErrInvalidInput, action)
	}
	if err != nil {
		return t, err
	}
	return t, d.commitAndAnnounce(ctx, []rules.Transition{t})
}

// Open lists the open alarms, most severe and oldest first is the caller's
// choice; here they come by id.
func (d *Desk) Open() []rules.Alarm {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.book.Open()
}

// Get returns an alarm, open or closed, with its history.
func (d *Desk) Get(ctx context.Context, id uint64) (rules.Alarm, []rules.Transition, error) {
	d.mu.Lock()
	a, err := d.book.Get(id)
	d.mu.Unlock()
	if errors.Is(err, rules.ErrNoAlarm) {
		var ok bool
		a, ok, err = d.journal.Closed(ctx, id)
		if err == nil && !ok {
			err = fmt.Errorf("%w: no alarm %d", rules.ErrNoAlarm, id)
		}
	}
	if err != nil {
		return a, nil, err
	}
	h, err := d.journal.History(ctx, id)
	return a, h, err
}

// Device returns what the desk knows of a device.
func (d *Desk) Device(id string) (shouwang.Device, bool) {
	dev, ok := d.devices[id]
	return dev, ok
}

// Subscribe returns a feed of every announced message. A subscriber that
// falls buffer messages behind is cut off (its channel closed) rather than
// hold the desk up; it reconnects and reloads the open alarms.
func (d *Desk) Subscribe(buffer int) (<-chan Message, func()) {
	ch := make(chan Message, buffer)
	d.subMu.Lock()
	d.subs[ch] = struct{}{}
	d.subMu.Unlock()
	return ch, func() {
		d.subMu.Lock()
		defer d.subMu.Unlock()
		if _, ok := d.subs[ch]; ok {
			delete(d.subs, ch)
			close(ch)
		}
	}
}

func (d *Desk) announce(m Message) {
	d.subMu.Lock()
	defer d.subMu.Unlock()
	for ch := range d.subs {
		select {
		case ch <- m:
		default:
			delete(d.subs, ch)
			close(ch)
			d.m.dropSubs.Inc()
		}
	}
}
