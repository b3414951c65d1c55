package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

func reading(dev string, v float64) shouwang.Batch {
	return shouwang.Batch{Readings: []shouwang.Reading{{Device: dev, Point: "gas", Value: v, Time: time.Unix(int64(v), 0)}}}
}

type collector struct {
	mu  sync.Mutex
	got []shouwang.Batch
}

func (c *collector) follower(name string) Follower {
	return Follower{Name: name, Take: func(_ context.Context, g []shouwang.Batch) error {
		c.mu.Lock()
		c.got = append(c.got, g...)
		c.mu.Unlock()
		return nil
	}}
}

func (c *collector) len() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.got) }

func TestPublishCommitsThenFollowersInOrder(t *testing.T) {
	leakcheck.Check(t)
	var committed []shouwang.Batch
	var col collector
	b, err := New(DefaultConfig(), func(bs ...shouwang.Batch) error {
		committed = append(committed, bs...) // only the commit goroutine calls this
		return nil
	}, []Follower{col.follower("rules")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b.Start()
	for i := range 100 {
		if err := b.Publish(context.Background(), reading("d", float64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(committed) != 100 || col.len() != 100 {
		t.Fatalf("committed %d, followed %d, want 100 each", len(committed), col.len())
	}
	for i, bt := range col.got {
		if bt.Readings[0].Value != float64(i) {
			t.Fatalf("batch %d out of order: %v", i, bt.Readings[0].Value)
		}
	}
	if err := b.Publish(context.Background(), reading("d", 1)); !errors.Is(err, shouwang.ErrStopped) {
		t.Fatalf("publish after stop: %v", err)
	}
}

// TestSlowFollowerBackpressure: a follower that stops taking makes the bus
// fill and Publish block; nothing is dropped, and all flows on release.
func TestSlowFollowerBackpressure(t *testing.T) {
	leakcheck.Check(t)
	gate := make(chan struct{})
	var col collector
	slow := Follower{Name: "store", Take: func(ctx context.Context, g []shouwang.Batch) error {
		<-gate
		return col.follower("").Take(ctx, g)
	}}
	cfg := Config{Capacity: 4, MaxGroup: 1, FollowerQueue: 1}
	b, _ := New(cfg, func(...shouwang.Batch) error { return nil }, []Follower{slow}, Options{})
	b.Start()
	const n = 20
	var acked atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Publish(context.Background(), reading(fmt.Sprint("d", i), float64(i))); err != nil {
				t.Error(err)
			}
			acked.Add(1)
		}()
	}
	testenv.CheckFor(t, 5*time.Second, "the bus to fill", func() bool { return b.Depth() == cfg.Capacity })
	if a := int(acked.Load()); a >= n-cfg.Capacity {
		t.Fatalf("%d of %d publishes returned while the follower was stuck", a, n)
	}
	close(gate)
	wg.Wait()
	if err := b.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if col.len() != n {
		t.Fatalf("follower got %d batches, want %d", col.len(), n)
	}
}

func TestPublishGivesUpWithItsContext(t *testing.T) {
	leakcheck.Check(t)
	gate := make(chan struct{})
	b, _ := New(Config{Capacity: 1, MaxGroup: 1, FollowerQueue: 1}, func(...shouwang.Batch) error { <-gate; return nil }, nil, Options{})
	b.Start()
	go b.Publish(context.Background(), reading("a", 1)) // held in the commit
	testenv.CheckFor(t, 5*time.Second, "the first batch to reach the commit", func() bool { return b.Depth() == 0 })
	go b.Publish(context.Background(), reading("b", 2)) // fills the queue
	testenv.CheckFor(t, 5*time.Second, "the queue to fill", func() bool { return b.Depth() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.Publish(ctx, reading("c", 3)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("publish on a full bus: %v", err)
	}
	close(gate)
	b.Stop(context.Background())
}

func TestCommitErrorReachesPublisherFollowersStillSee(t *testing.T) {
	leakcheck.Check(t)
	diskFull := errors.New("no space left on device")
	var col collector
	b, _ := New(DefaultConfig(), func(...shouwang.Batch) error { return diskFull }, []Follower{col.follower("rules")}, Options{})
	b.Start()
	defer b.Stop(context.Background())
	if err := b.Publish(context.Background(), reading("d", 1)); !errors.Is(err, diskFull) {
		t.Fatalf("publish: %v", err)
	}
	testenv.CheckFor(t, 5*time.Second, "the rules to see the reading", func() bool { return col.len() == 1 })
}

func TestStopOutOfTimeStillWaits(t *testing.T) {
	leakcheck.Check(t)
	stuck := Follower{Name: "stuck", Take: func(ctx context.Context, _ []shouwang.Batch) error {
		<-ctx.Done()
		return ctx.Err()
	}}
	b, _ := New(DefaultConfig(), nil, []Follower{stuck}, Options{})
	b.Start()
	b.Publish(context.Background(), reading("d", 1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := b.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stop: %v", err)
	}
}

func TestStopWithoutStart(t *testing.T) {
	leakcheck.Check(t)
	b, _ := New(DefaultConfig(), nil, nil, Options{})
	if err := b.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := b.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestPublishStampsAndRefuses(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var col collector
	b, _ := New(DefaultConfig(), nil, []Follower{col.follower("x")}, Options{Now: func() time.Time { return now }})
	b.Start()
	defer b.Stop(context.Background())
	if err := b.Publish(context.Background(), shouwang.Batch{Readings: []shouwang.Reading{{Device: "d", Point: "co", Value: 3}}}); err != nil {
		t.Fatal(err)
	}
	testenv.CheckFor(t, 5*time.Second, "the follower", func() bool { return col.len() == 1 })
	if !col.got[0].Readings[0].Time.Equal(now) {
		t.Fatalf("time not stamped: %v", col.got[0].Readings[0].Time)
	}
	for _, bad := range []shouwang.Batch{
		{Readings: []shouwang.Reading{{Point: "co"}}},
		{Readings: []shouwang.Reading{{Device: "d"}}},
		{Events: []shouwang.Event{{Device: "d"}}},
		{Readings: []shouwang.Reading{{Device: "\xc9\xe8\xb1\xb8", Point: "co"}}}, // GBK, not UTF-8
	} {
		if err := b.Publish(context.Background(), bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

// TestPublishBeforeStart: publishers blocked on a full bus before Start do
// not keep Start from running, and all get through.
func TestPublishBeforeStart(t *testing.T) {
	leakcheck.Check(t)
	var col collector
	b, _ := New(Config{Capacity: 1, MaxGroup: 1, FollowerQueue: 1}, nil, []Follower{col.follower("x")}, Options{})
	errs := make(chan error, 3)
	for i := range 3 {
		go func() { errs <- b.Publish(context.Background(), reading("d", float64(i))) }()
	}
	testenv.CheckFor(t, 5*time.Second, "the bus to fill", func() bool { return b.Depth() == 1 })
	b.Start()
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	b.Stop(context.Background())
	if col.len() != 3 {
		t.Fatalf("%d batches followed, want 3", col.len())
	}
}
