package mock

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

var _ shouwang.Publisher = (*Recorder)(nil)

// Recorder is a shouwang.Publisher that keeps every batch published to
// it, for a test to wait on and then inspect. Publish never blocks and
// never fails. The zero value is ready to use, and a Recorder is safe for
// concurrent use.
type Recorder struct {
	mu       sync.Mutex
	batches  []shouwang.Batch
	readings []shouwang.Reading
	events   []shouwang.Event
	changed  chan struct{} // closed (and dropped) by the next Publish
	next     int           // the first batch NextBatch has not looked at
}

// Recorded is what a Recorder kept, in the order it was published:
// every batch, and every batch's readings and events one after another.
type Recorded struct {
	Batches  []shouwang.Batch
	Readings []shouwang.Reading
	Events   []shouwang.Event
}

// Publish records a copy of b and wakes the tests waiting on r.
func (r *Recorder) Publish(_ context.Context, b shouwang.Batch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, cloneBatch(b))
	r.readings = append(r.readings, b.Readings...)
	r.events = append(r.events, b.Events...)
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
	return nil
}

// Readings returns a copy of every reading published so far.
func (r *Recorder) Readings() []shouwang.Reading {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.readings)
}

// Events returns a copy of every event published so far.
func (r *Recorder) Events() []shouwang.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Batches returns a copy of every batch published so far.
func (r *Recorder) Batches() []shouwang.Batch {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]shouwang.Batch, len(r.batches))
	for i, b := range r.batches {
		out[i] = cloneBatch(b)
	}
	return out
}

// WaitFor waits until cond holds over what was published so far, and
// returns a copy of that. cond is called again after each Publish; it
// must not modify or keep what it is given. If cond does not hold within
// timeout, WaitFor fails the test with what (a phrase like "the first
// reading"). Call it from the test's goroutine.
func (r *Recorder) WaitFor(tb testing.TB, timeout time.Duration, what string, cond func(Recorded) bool) Recorded {
	tb.Helper()
	r.await(tb, timeout, what, func() bool { return cond(r.view()) })
	return r.snapshot()
}

// NextBatch waits for the first batch match accepts among those published
// after the batches earlier NextBatch calls returned or passed over, as if
// reading them off a channel. If none comes within timeout, it fails the
// test with what. match must not modify or keep the batch it is given.
// Call NextBatch from the test's goroutine.
func (r *Recorder) NextBatch(tb testing.TB, timeout time.Duration, what string, match func(shouwang.Batch) bool) shouwang.Batch {
	tb.Helper()
	var (
		found shouwang.Batch
		ok    bool
	)
	r.await(tb, timeout, what, func() bool {
		r.mu.Lock()
		batches, next := slices.Clip(r.batches), r.next
		r.mu.Unlock()
		for ; next < len(batches) && !ok; next++ {
			found, ok = batches[next], match(batches[next])
		}
		r.mu.Lock()
		r.next = next
		r.mu.Unlock()
		return ok
	})
	return cloneBatch(found)
}

// await calls check until it reports true, after each Publish, or fails
// the test once timeout has passed.
func (r *Recorder) await(tb testing.TB, timeout time.Duration, what string, check func() bool) {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		// Take the channel before checking, so a Publish between the
		// check and the wait still wakes us.
		r.mu.Lock()
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		changed := r.changed
		r.mu.Unlock()
		if check() {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("timed out after %v waiting for %s; %s", timeout, what, r.summary())
		}
	}
}

// view is what was published so far, without copying: the slices end at
// their current length and capacity, so later Publishes do not touch them.
func (r *Recorder) view() Recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Recorded{Batches: slices.Clip(r.batches), Readings: slices.Clip(r.readings), Events: slices.Clip(r.events)}
}

func (r *Recorder) snapshot() Recorded {
	return Recorded{Batches: r.Batches(), Readings: r.Readings(), Events: r.Events()}
}

// summary says what was published, for a failing test's message.
func (r *Recorder) summary() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	const last = 20
	es := r.events[max(0, len(r.events)-last):]
	kinds := make([]string, len(es))
	for i, e := range es {
		kinds[i] = e.Device + " " + e.Kind
	}
	s := fmt.Sprintf("%d batches, %d readings and %d events so far", len(r.batches), len(r.readings), len(r.events))
	if len(r.events) > last {
		return fmt.Sprintf("%s, the last %d: %q", s, last, kinds)
	}
	return fmt.Sprintf("%s: %q", s, kinds)
}

func cloneBatch(b shouwang.Batch) shouwang.Batch {
	return shouwang.Batch{Readings: slices.Clone(b.Readings), Events: slices.Clone(b.Events)}
}
