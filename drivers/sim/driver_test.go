package sim

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/mock"
)

// chanPublisher hands every batch to the test, blocking until it is taken.
func chanPublisher(ch chan<- shouwang.Batch) *mock.Publisher {
	return &mock.Publisher{PublishFn: func(ctx context.Context, b shouwang.Batch) error {
		select {
		case ch <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
}

// fakeClock moves one second on at every reading.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// MustDriver builds a sim driver on testDevices ticking every millisecond,
// with a fake clock, logging into the returned buffer. The buffer may be
// read once Close has returned.
func MustDriver(tb testing.TB, incidents ...Incident) (*Driver, *bytes.Buffer) {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Interval = time.Millisecond
	cfg.Incidents = incidents
	var logs bytes.Buffer
	drv, err := cfg.NewDriver(shouwang.DriverEnv{
		Name:    "sim",
		Devices: testDevices(),
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
		Now:     (&fakeClock{t: t0}).Now,
	})
	if err != nil {
		tb.Fatalf("NewDriver: %v", err)
	}
	d := drv.(*Driver)
	tb.Cleanup(func() { d.Close() })
	return d, &logs
}

// receive waits for the next batch; the timeout only guards a hung test.
func receive(tb testing.TB, ch <-chan shouwang.Batch) shouwang.Batch {
	tb.Helper()
	select {
	case b := <-ch:
		return b
	case <-time.After(10 * time.Second):
		tb.Fatal("no batch published within 10s")
		return shouwang.Batch{}
	}
}

// waitFor waits for ch to close; the timeout only guards a hung test.
func waitFor(tb testing.TB, ch <-chan struct{}, what string) {
	tb.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		tb.Fatalf("%s did not happen within 10s", what)
	}
}

// runLoops counts the driver loops alive in the process. run returns before
// the WaitGroup is done, so once Close returns it must be zero, with no
// polling.
func runLoops() int { return countInStacks("sim.(*Driver).run(") }

// loadLoops counts the load generator loops alive in the process, like
// runLoops.
func loadLoops() int { return countInStacks("sim.(*Driver).runLoad(") }

// countInStacks counts the frames of a function in all goroutines' stacks.
func countInStacks(frame string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), frame)
		}
		buf = make([]byte, 2*len(buf))
	}
}

func TestDriverPublishesABatchPerTick(t *testing.T) {
	d, _ := MustDriver(t, Incident{Kind: KindFault, Device: coID})
	ch := make(chan shouwang.Batch)
	if err := d.Start(context.Background(), chanPublisher(ch)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	// The fake clock gave t0+1s to the model's start, then one second per batch.
	for i := range 3 {
		b := receive(t, ch)
		now := t0.Add(time.Duration(i+2) * time.Second)
		checkBatch(t, b, now)
		if len(b.Readings) != 6 {
			t.Errorf("batch %d: %d readings, want 2 for each of 3 devices", i, len(b.Readings))
		}
		if wantEvents := map[int]int{0: 1}[i]; len(b.Events) != wantEvents {
			t.Errorf("batch %d: events %+v, want %d", i, b.Events, wantEvents)
		}
	}
}

// startGuarded starts d publishing into the returned channel, and fails
// the test if it publishes once closed is set (after Close returned).
func startGuarded(t *testing.T, d *Driver) (closed *atomic.Bool, ch chan shouwang.Batch) {
	t.Helper()
	closed, ch = new(atomic.Bool), make(chan shouwang.Batch)
	pub := chanPublisher(ch)
	err := d.Start(context.Background(), &mock.Publisher{PublishFn: func(ctx context.Context, b shouwang.Batch) error {
		if closed.Load() {
			t.Error("Publish called after Close returned")
		}
		return pub.Publish(ctx, b)
	}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return closed, ch
}

func TestCloseStopsTheLoopAndWaitsForIt(t *testing.T) {
	if n := runLoops(); n != 0 {
		t.Fatalf("%d driver loops alive before the test", n)
	}
	d, _ := MustDriver(t)
	closed, ch := startGuarded(t, d)
	receive(t, ch)
	if n := runLoops(); n != 1 {
		t.Fatalf("%d driver loops alive after Start, want 1", n)
	}
	if n := loadLoops(); n != 0 {
		t.Fatalf("%d load generators alive with the load off (the default), want 0", n)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed.Store(true)
	if n := runLoops(); n != 0 {
		t.Fatalf("%d driver loops alive after Close returned, want 0", n)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseWithoutStart(t *testing.T) {
	d, _ := MustDriver(t)
	for i := range 2 {
		if err := d.Close(); err != nil {
			t.Errorf("Close %d: %v", i+1, err)
		}
	}
	err := d.Start(context.Background(), &mock.Publisher{PublishFn: func(context.Context, shouwang.Batch) error {
		t.Error("Publish called on a closed driver")
		return nil
	}})
	if err == nil {
		t.Error("Start after Close: nil error")
	}
}

func TestStartTwiceFails(t *testing.T) {
	d, _ := MustDriver(t)
	ch := make(chan shouwang.Batch)
	if err := d.Start(context.Background(), chanPublisher(ch)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := d.Start(context.Background(), chanPublisher(ch)); err == nil {
		t.Error("second Start: nil error")
	}
	if err := d.Start(context.Background(), nil); err == nil {
		t.Error("Start with a nil Publisher: nil error")
	}
}

func TestCloseReturnsWhilePublishBlocks(t *testing.T) {
	d, logs := MustDriver(t)
	entered := make(chan struct{})
	var once sync.Once
	var publishErr error
	err := d.Start(context.Background(), &mock.Publisher{PublishFn: func(ctx context.Context, _ shouwang.Batch) error {
		once.Do(func() { close(entered) })
		<-ctx.Done() // backpressure that never lets up
		publishErr = ctx.Err()
		return publishErr
	}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	waitFor(t, entered, "Publish")
	closed := make(chan struct{})
	go func() {
		d.Close()
		close(closed)
	}()
	waitFor(t, closed, "Close returning while Publish blocked")
	if !errors.Is(publishErr, context.Canceled) {
		t.Errorf("Publish saw %v, want its context cancelled", publishErr)
	}
	if logs.Len() != 0 {
		t.Errorf("cancellation was logged: %s", logs)
	}
}

func TestParentContextStopsTheLoop(t *testing.T) {
	d, _ := MustDriver(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan shouwang.Batch)
	if err := d.Start(ctx, chanPublisher(ch)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	receive(t, ch)
	cancel()
	stopped := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(stopped)
	}()
	waitFor(t, stopped, "the loop stopping when its context ended")
}

func TestPublishErrorsAreLoggedOncePerChange(t *testing.T) {
	d, logs := MustDriver(t)
	var calls atomic.Int32
	done := make(chan struct{})
	err := d.Start(context.Background(), &mock.Publisher{PublishFn: func(ctx context.Context, _ shouwang.Batch) error {
		switch n := calls.Add(1); {
		case n <= 3, n == 6:
			return shouwang.ErrStopped
		case n <= 5:
			return nil
		case n == 7:
			return errors.New("outbox full")
		default:
			if n == 8 {
				close(done) // seen enough; keep the loop here until Close
			}
			<-ctx.Done()
			return ctx.Err()
		}
	}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	waitFor(t, done, "8 Publish calls")
	d.Close()
	out := logs.String()
	if n := strings.Count(out, "publish failed"); n != 2 {
		t.Errorf("%d publish failures logged, want 2 (calls 1-3, then 6-7):\n%s", n, out)
	}
	if !strings.Contains(out, "err=\"pipeline stopped\"") || strings.Contains(out, "outbox full") {
		t.Errorf("log should name the first error of each run of failures only:\n%s", out)
	}
	if n := strings.Count(out, "publishing again"); n != 1 || !strings.Contains(out, "dropped=3") {
		t.Errorf("want one recovery logged with dropped=3:\n%s", out)
	}
}

func TestNewDriverWithoutLoggerOrClock(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Interval = time.Millisecond
	drv, err := cfg.NewDriver(shouwang.DriverEnv{Name: "sim", Devices: testDevices()})
	if err != nil {
		t.Fatalf("NewDriver: %v", err)
	}
	defer drv.Close()
	ch := make(chan shouwang.Batch)
	if err := drv.Start(context.Background(), chanPublisher(ch)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if b := receive(t, ch); len(b.Readings) != 6 || b.Readings[0].Time.IsZero() {
		t.Errorf("batch %+v, want 6 timestamped readings", b)
	}
}
