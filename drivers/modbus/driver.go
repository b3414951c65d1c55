package modbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// Driver polls the devices on one bus. One goroutine owns the bus: it
// polls the device due next on the BusSchedule, publishes what it read
// and the events its status registers and its schedule raise, and waits.
type Driver struct {
	name    string
	cfg     Config
	link    *Link
	devices map[string]*device
	order   []*device // config order, for the schedule
	sched   *BusSchedule
	now     func() time.Time
	log     *slog.Logger
	*metrics

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

var (
	_ shouwang.Driver    = (*Driver)(nil)
	_ shouwang.RawKeeper = (*Driver)(nil)
)

// device is one slave on the bus and what the owner remembers of it.
type device struct {
	shouwang.Device
	slave    byte
	model    *Model
	points   []Point
	plan     *PollPlan
	interval time.Duration
	// flags are the state of each status event, in model order; known[i]
	// is false until status register i is first read after start or after
	// the device was offline.
	flags   []bool
	known   []bool
	failure string // the kind of the last failure logged, "" after a success
	raw     *rawRegisters
	keepRaw RawWords // raw.keep, made once
}

func newDriver(c *Config, env shouwang.DriverEnv) (*Driver, error) {
	lc, err := c.Link(env.Devices, env.Models)
	if err != nil {
		return nil, err
	}
	d := &Driver{name: env.Name, cfg: *c, devices: map[string]*device{}, now: env.Now, log: env.Logger, link: NewLink(lc)}
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	ids := make([]string, 0, len(env.Devices))
	for _, dev := range env.Devices {
		m, ok := env.Models[dev.Profile].(*Model)
		if !ok {
			return nil, fmt.Errorf("device %s: profile %q has no modbus section", dev.ID, dev.Profile)
		}
		slave, _ := c.SlaveID(dev) // checked by Validate
		points := m.PollPoints()
		plan, err := NewPollPlan(points, m.Limits())
		if err != nil {
			return nil, fmt.Errorf("device %s: %w", dev.ID, err)
		}
		iv := c.Interval
		if v, ok := c.Intervals[dev.ID]; ok {
			iv = v
		}
		dv := &device{Device: dev, slave: slave, model: m, points: points, plan: plan, interval: iv, known: make([]bool, len(m.Status)),
			raw: newRawRegisters(len(points))}
		dv.keepRaw = dv.raw.keep
		for _, s := range m.Status {
			dv.flags = append(dv.flags, make([]bool, len(s.Bits)+len(s.Values))...)
		}
		d.devices[dev.ID] = dv
		d.order = append(d.order, dv)
		ids = append(ids, dev.ID)
	}
	d.metrics = newMetrics(env.Name, ids)
	return d, nil
}

// Start opens the bus and starts polling. A serial port that cannot be
// opened fails Start (the gateway retries it); a TCP peer that is down
// does not: its devices go offline and are retried with backoff.
func (d *Driver) Start(ctx context.Context, pub shouwang.Publisher) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done != nil {
		return errors.New("modbus: driver already started")
	}
	if err := d.link.Connect(); err != nil {
		if d.cfg.Transport == TransportRTU {
			return fmt.Errorf("open %s: %w", d.cfg.Port, err)
		}
		d.log.Warn("modbus peer not reachable yet; its devices are retried", "address", d.cfg.Address, "err", err)
	}
	d.sched = NewBusSchedule(ScheduleConfig{FailuresOffline: d.cfg.OfflineAfter, MinBackoff: d.cfg.MinBackoff, MaxBackoff: d.cfg.MaxBackoff})
	now := d.now()
	for _, dv := range d.order {
		d.sched.Add(dv.ID, dv.interval, now)
	}
	ctx, d.cancel = context.WithCancel(ctx)
	d.done = make(chan struct{})
	go d.run(ctx, pub)
	return nil
}

// Close stops polling, waits for the bus owner to finish and closes the
// bus.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done == nil {
		return d.link.Close()
	}
	d.cancel()
	<-d.done
	return nil
}

func (d *Driver) run(ctx context.Context, pub shouwang.Publisher) {
	defer close(d.done)
	defer d.link.Close()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		id, due := d.sched.Next()
		if id == "" {
			<-ctx.Done()
			return
		}
		if wait := due.Sub(d.now()); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		b := d.poll(d.devices[id])
		if b.Len() == 0 {
			continue
		}
		if err := pub.Publish(ctx, b); err != nil {
			return
		}
	}
}

// poll reads one device once and returns what to publish.
func (d *Driver) poll(dv *device) shouwang.Batch {
	at := d.now()
	readings, st, err := Poll(d.link.Slave(dv.slave), dv.plan, dv.points, dv.ID, at, make([]shouwang.Reading, 0, len(dv.points)), dv.keepRaw)
	d.count(dv.ID, st)
	var events []shouwang.Event
	if err != nil {
		kind := failureKind(err)
		d.failed(dv.ID, kind)
		d.link.Reset(err)
		if dv.failure != kind {
			d.log.Warn("modbus poll failed", "device", dv.ID, "slave", dv.slave, "kind", kind, "err", err)
			dv.failure = kind
		}
	} else if dv.failure != "" {
		d.log.Info("modbus device answers again", "device", dv.ID, "slave", dv.slave)
		dv.failure = ""
	}
	switch change := d.sched.Done(dv.ID, d.now(), err == nil); change {
	case WentOffline:
		d.up(dv.ID, false)
		clear(dv.known)
		d.log.Warn("modbus device offline", "device", dv.ID, "slave", dv.slave, "retry_after", d.cfg.MinBackoff)
		events = append(events, shouwang.Event{Device: dv.ID, Kind: change.String(), Severity: shouwang.Fault, Time: at,
			Message: fmt.Sprintf("slave %d %s: no good answer in %d polls: %v", dv.slave, d.where(), d.cfg.OfflineAfter, err)})
	case CameBack:
		d.up(dv.ID, true)
		d.log.Info("modbus device back online", "device", dv.ID, "slave", dv.slave)
		events = append(events, shouwang.Event{Device: dv.ID, Kind: change.String(), Severity: shouwang.Info, Time: at,
			Message: fmt.Sprintf("slave %d %s answers again", dv.slave, d.where())})
	}
	events = dv.statusEvents(readings, at, events)
	return shouwang.Batch{Readings: readings, Events: events}
}

func (d *Driver) where() string {
	if d.cfg.Transport == TransportRTU {
		return "on " + d.cfg.Port
	}
	return "at " + d.cfg.Address
}

// statusEvents appends the events the status registers in readings
// raise: each flag that changed since the register was last read, or
// every flag on its first read (so a condition that ended while the
// gateway was down, or the device offline, is cleared). A poll in which
// nothing changed costs no allocation.
func (dv *device) statusEvents(readings []shouwang.Reading, at time.Time, dst []shouwang.Event) []shouwang.Event {
	for _, r := range readings {
		if r.Quality != shouwang.Good {
			continue
		}
		k := 0 // the first flag of status register si
		for si := range dv.model.Status {
			s := &dv.model.Status[si]
			flags := dv.flags[k : k+len(s.Bits)+len(s.Values)]
			k += len(flags)
			if s.Name != r.Point {
				continue
			}
			raw, first := uint16(r.Value), !dv.known[si]
			dv.known[si] = true
			for j, b := range s.Bits {
				if on := raw>>b.Bit&1 == 1; first || flags[j] != on {
					flags[j] = on
					state := "clear"
					if on {
						state = "set"
					}
					dst = append(dst, dv.flagEvent(s, raw, b.Event, on, at, fmt.Sprintf("bit %d %s", b.Bit, state)))
				}
			}
			for j, v := range s.Values {
				if on := raw == v.Value; first || flags[len(s.Bits)+j] != on {
					flags[len(s.Bits)+j] = on
					dst = append(dst, dv.flagEvent(s, raw, v.Event, on, at, fmt.Sprintf("value %d", raw)))
				}
			}
			break // a status register is read once (Model.Validate)
		}
	}
	return dst
}

// flagEvent is the event of status register s's flag kind turning on, or
// its clear.
func (dv *device) flagEvent(s *StatusMap, raw uint16, kind string, on bool, at time.Time, what string) shouwang.Event {
	sev := dv.model.Severity(kind)
	if !on {
		kind, sev = shouwang.ClearKind(kind), shouwang.Info
	}
	hex := fmt.Sprintf("0x%04x", raw)
	return shouwang.Event{Device: dv.ID, Kind: kind, Severity: sev, Time: at,
		Message: fmt.Sprintf("%s (%s %d) = %s: %s", s.Name, s.Table, s.Address, hex, what),
		Attrs:   map[string]string{"register": s.Name, "raw": hex}}
}

// failureKind names what went wrong with a poll, for /metrics and logs.
func failureKind(err error) string {
	switch {
	case Exception(err) != nil:
		return "exception"
	case IsTimeout(err):
		return "timeout"
	case strings.Contains(err.Error(), "crc"):
		return "crc"
	case errors.Is(err, ErrFrame), strings.Contains(err.Error(), "modbus: "), strings.Contains(err.Error(), "bytes in the answer"):
		return "frame"
	}
	return "io"
}
