package serial

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/serial/stream"
)

// ErrUnknownDevice counts reports from an address no device is placed at
// when no panel device is placed to take them either.
const ErrUnknownDevice = "unknown_device"

// readTimeout is how long a read waits before the decoder is told that
// time passed (a frame cut off by silence times out) and ctx is checked.
const readTimeout = 100 * time.Millisecond

// Driver reads one serial port or one TCP listener.
type Driver struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	loc     *time.Location
	devices map[string]string // address → device id
	metrics *metrics
	errLog  errorLog

	book   conditionBook // guarded by bookMu: connections share it
	bookMu sync.Mutex

	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed bool
	ln     io.Closer // the TCP listener
}

var _ shouwang.Driver = (*Driver)(nil)

func newDriver(c Config, env shouwang.DriverEnv, loc *time.Location) *Driver {
	d := &Driver{cfg: c, log: env.Logger, now: env.Now, loc: loc, devices: map[string]string{},
		metrics: newMetrics(env.Name, c.errorKinds()), book: conditionBook{}}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	d.log = d.log.With("driver", env.Name)
	for _, dev := range env.Devices {
		d.devices[dev.Address] = dev.ID
	}
	return d
}

// Start opens nothing itself for a port: the port's goroutine opens it,
// and reopens it with backoff whenever it fails, reporting the panel
// offline meanwhile, so a panel unplugged at boot is read once it is
// plugged in. A listener that cannot bind fails Start.
func (d *Driver) Start(ctx context.Context, pub shouwang.Publisher) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("serial driver closed")
	}
	if d.cancel != nil {
		return errors.New("serial driver already started")
	}
	ctx, cancel := context.WithCancel(ctx)
	if d.cfg.Listen != "" {
		ln, err := d.listen(ctx, pub)
		if err != nil {
			cancel()
			return err
		}
		d.ln = ln
	} else {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.runPort(ctx, pub)
		}()
	}
	d.cancel = cancel
	return nil
}

// Close stops every goroutine and waits for them.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.closed = true
	cancel, ln := d.cancel, d.ln
	d.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if ln != nil {
		ln.Close()
	}
	d.wg.Wait()
	return nil
}

// serve reads one stream until it fails or ctx ends: it feeds the
// decoder, publishes what the frames said and, once that is durable,
// writes the decoder's reply. rw's Read returns 0, nil when readTimeout
// passes without a byte. It returns the read or write error that ended it,
// or nil when ctx ended.
func (d *Driver) serve(ctx context.Context, pub shouwang.Publisher, rw io.ReadWriter, name string, idle time.Duration) error {
	dec := d.cfg.newDecoder(d.loc, func(kind string, sample []byte) { d.decodeError(name, kind, sample) })
	buf := make([]byte, 4096)
	lastByte := d.now()
	for ctx.Err() == nil {
		n, err := rw.Read(buf)
		if err != nil {
			return err
		}
		now := d.now()
		if n > 0 {
			lastByte = now
		} else if idle > 0 && now.Sub(lastByte) >= idle {
			return errIdle
		}
		var b shouwang.Batch
		reply := dec.Feed(buf[:n], now, &b)
		if b.Len() > 0 {
			d.place(&b)
			if b.Len() > 0 {
				if err := pub.Publish(ctx, b); err != nil {
					return nil // stopping: nothing is confirmed, the UITD sends it again
				}
				d.metrics.events.Add(float64(len(b.Events)))
				d.metrics.readings.Add(float64(len(b.Readings)))
			}
		}
		if len(reply) > 0 {
			if _, err := rw.Write(reply); err != nil {
				return err
			}
		}
	}
	return nil
}

var errIdle = errors.New("no byte within idle_timeout")

// place turns the addresses in b into device ids, drops what no device
// takes (counted), and adds the clears a panel reset implies.
func (d *Driver) place(b *shouwang.Batch) {
	rs := b.Readings[:0]
	for _, r := range b.Readings {
		if id, exact := d.resolve(r.Device); exact {
			r.Device = id
			rs = append(rs, r)
		} else {
			d.decodeError("", ErrUnknownDevice, []byte(r.Device))
		}
	}
	b.Readings = rs
	d.bookMu.Lock()
	defer d.bookMu.Unlock()
	var evs []shouwang.Event
	for _, e := range b.Events {
		addr := e.Device
		id, exact := d.resolve(addr)
		if id == "" {
			d.decodeError("", ErrUnknownDevice, []byte(addr))
			continue
		}
		if !exact {
			if e.Attrs == nil {
				e.Attrs = map[string]string{}
			}
			e.Attrs["address"] = addr
		}
		e.Device = id
		scope, _ := cutScope(addr)
		if e.Kind == stream.Reset {
			evs = append(evs, e)
			evs = d.book.reset(evs, scope, e.Time)
			continue
		}
		d.book.note(e, scope)
		evs = append(evs, e)
	}
	b.Events = evs
}

// resolve finds the device an address names: the device placed at it, or
// (exact false) the nearest one above it: "88888:1/1/1-23" is read by a
// device at "1/1/1-23", else "88888:1/1", "1/1", "88888:panel", "panel".
// A text line's "1-23" falls back to "panel". id is "" when none is. An
// address placed as sent costs no allocation; only the fallback builds
// strings.
func (d *Driver) resolve(addr string) (id string, exact bool) {
	if id, ok := d.devices[addr]; ok {
		return id, true
	}
	scope, rest := cutScope(addr)
	if id, ok := d.devices[rest]; ok {
		return id, true
	}
	for a := rest; strings.Contains(a, "/"); {
		a = a[:strings.LastIndexByte(a, '/')]
		if id, ok := d.lookup(scope, a); ok {
			return id, false
		}
	}
	id, _ = d.lookup(scope, stream.PanelAddress)
	return id, false
}

// lookup tries "scope:addr" (the more particular), then addr.
func (d *Driver) lookup(scope, addr string) (string, bool) {
	if scope != "" {
		if id, ok := d.devices[scope+":"+addr]; ok {
			return id, true
		}
	}
	id, ok := d.devices[addr]
	return id, ok
}

// cutScope splits "88888:1/1/1-23" into the UITD it is prefixed with
// (what a reset there clears) and the rest; an address without one has
// scope "" (the whole port).
func cutScope(addr string) (scope, rest string) {
	if scope, rest, ok := strings.Cut(addr, ":"); ok {
		return scope, rest
	}
	return "", addr
}
