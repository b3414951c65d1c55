package sim

import (
	"context"
	"fmt"
	"math/bits"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// LoadPoint is the point every load reading reports; its value is the
// reading's sequence number.
const LoadPoint = "seq"

// loadRetryWait is how long the load generator waits before it publishes a
// batch again after Publish failed.
const loadRetryWait = 100 * time.Millisecond

// loadNames is how many device names the generator formats up front; names
// of devices beyond it are formatted per reading.
const loadNames = 1 << 16

// loadDevice is the name of the load generator's i-th synthetic device.
func loadDevice(i int) string { return fmt.Sprintf("load-%04d", i) }

// loadGen makes the load readings. It reads no clock: a reading's time is
// logical, start plus (seq-1)/Devices milliseconds, so each device's k-th
// reading is k ms after start and no two readings of a device share a
// millisecond, whatever the rate. Not safe for concurrent use.
type loadGen struct {
	cfg   Load
	start time.Time // truncated to the millisecond
	names []string  // loadDevice(i) for the first loadNames devices
	next  int64     // sequence number of the next reading, from 1
	pace  pacer
}

func newLoadGen(cfg Load, start time.Time) *loadGen {
	g := &loadGen{
		cfg:   cfg,
		start: start.Truncate(time.Millisecond),
		names: make([]string, min(cfg.Devices, loadNames)),
		next:  1,
		pace:  newPacer(cfg.Rate, cfg.Batch, start),
	}
	for i := range g.names {
		g.names[i] = loadDevice(i)
	}
	return g
}

// done reports whether the generator has made Limit readings.
func (g *loadGen) done() bool { return g.cfg.Limit > 0 && g.next > g.cfg.Limit }

// batch returns the next batch: Batch readings from the next sequence
// number on, fewer if the limit comes first. It does not move on: the same
// call returns the same readings until ack. Every batch gets its own slice,
// as the pipeline may keep a published batch.
func (g *loadGen) batch() shouwang.Batch {
	n := int64(g.cfg.Batch)
	if g.cfg.Limit > 0 {
		n = min(n, g.cfg.Limit-g.next+1)
	}
	devices := int64(g.cfg.Devices)
	rs := make([]shouwang.Reading, n)
	for i := range rs {
		seq := g.next + int64(i)
		dev := seq % devices
		name := ""
		if dev < int64(len(g.names)) {
			name = g.names[dev]
		} else {
			name = loadDevice(int(dev))
		}
		rs[i] = shouwang.Reading{
			Device:  name,
			Point:   LoadPoint,
			Value:   float64(seq),
			Quality: shouwang.Good,
			Time:    g.start.Add(time.Duration((seq-1)/devices) * time.Millisecond),
		}
	}
	return shouwang.Batch{Readings: rs}
}

// ack moves past the n readings of the batch just published and returns
// their first and last sequence numbers.
func (g *loadGen) ack(n int) (first, last int64) {
	first = g.next
	g.next += int64(n)
	return first, g.next - 1
}

// pacer is a token bucket in the time domain: the readings spent since ref
// may not run ahead of rate per second, and credit unused while the
// generator was held up (backpressure) is kept for at most one second's
// worth of readings (at least one batch), so it catches up in bursts of at
// most that and then holds the rate again. It reads no clock.
type pacer struct {
	rate  int
	burst time.Duration // most credit kept
	ref   time.Time     // credit accrues from here...
	spent int64         // ...less the readings spent since
}

// newPacer returns a pacer whose first batch may go at now.
func newPacer(rate, batch int, now time.Time) pacer {
	return pacer{
		rate:  rate,
		burst: max(time.Second, readingsTime(int64(batch), rate)),
		ref:   now.Add(-readingsTime(int64(batch), rate)),
	}
}

// wait returns how long after now n readings may go; 0 means at once.
func (p *pacer) wait(now time.Time, n int) time.Duration {
	if now.Sub(p.ref)-readingsTime(p.spent, p.rate) > p.burst {
		p.ref, p.spent = now.Add(-p.burst), 0
	}
	return max(p.ref.Add(readingsTime(p.spent+int64(n), p.rate)).Sub(now), 0)
}

// spend records that n readings went.
func (p *pacer) spend(n int) { p.spent += int64(n) }

// readingsTime is how long n readings take at rate per second, rounded
// down to the nanosecond, without overflowing for large rates.
func readingsTime(n int64, rate int) time.Duration {
	r := int64(rate)
	whole := time.Duration(n/r) * time.Second
	hi, lo := bits.Mul64(uint64(n%r), uint64(time.Second))
	frac, _ := bits.Div64(hi, lo, uint64(r)) // hi < r, as n%r < r
	return whole + time.Duration(frac)
}

// runLoad publishes the load until ctx ends or Limit readings have been
// acknowledged. A Publish that blocks (backpressure) holds it up; a failed
// one is retried with the same batch, so no sequence number is skipped.
func (d *Driver) runLoad(ctx context.Context, pub shouwang.Publisher, g *loadGen) {
	d.log.Info("sim: load generator running", "driver", d.name, "rate", g.cfg.Rate,
		"devices", g.cfg.Devices, "batch", g.cfg.Batch, "limit", g.cfg.Limit)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	// sleep waits for wait, or returns false once ctx ends.
	sleep := func(wait time.Duration) bool {
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		}
	}
	for !g.done() {
		if ctx.Err() != nil {
			return
		}
		b := g.batch()
		n := len(b.Readings)
		for {
			wait := g.pace.wait(d.now(), n)
			if wait <= 0 {
				break
			}
			if !sleep(wait) {
				return
			}
		}
		g.pace.spend(n)
		if !d.publishLoad(ctx, pub, b, sleep) {
			return
		}
		first, last := g.ack(n)
		if g.cfg.LogAcks {
			d.log.Info("acknowledged", "first", first, "last", last, "driver", d.name)
		}
	}
	d.log.Info("load done", "total", g.next-1, "driver", d.name)
}

// publishLoad publishes b until Publish returns nil, waiting d.loadRetry
// between tries. It returns false if ctx ended first. The first failure of
// a run and the recovery are logged, not every try.
func (d *Driver) publishLoad(ctx context.Context, pub shouwang.Publisher, b shouwang.Batch, sleep func(time.Duration) bool) bool {
	retries := 0
	for {
		err := pub.Publish(ctx, b)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return false
		}
		if retries == 0 {
			d.log.Warn("sim: load publish failed; retrying the same batch until it works",
				"driver", d.name, "first", int64(b.Readings[0].Value), "err", err)
		}
		retries++
		if !sleep(d.loadRetry) {
			return false
		}
	}
	if retries > 0 {
		d.log.Info("sim: load publishing again", "driver", d.name, "retries", retries)
	}
	return true
}
