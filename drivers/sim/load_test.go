package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/mock"
)

// fastRate is a load rate so high that pacing never waits in a test.
const fastRate = 1_000_000_000

// MustLoadDriver builds a sim driver with no devices and the load section,
// on the given clock (the one-second-per-reading fakeClock when nil),
// logging JSON lines as the gateway does into the returned buffer. The
// buffer may be read once Close has returned.
func MustLoadDriver(tb testing.TB, load Load, now func() time.Time) (*Driver, *bytes.Buffer) {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Interval = time.Hour // the device loop has no devices: keep it quiet
	cfg.Load = load
	if now == nil {
		now = (&fakeClock{t: t0}).Now
	}
	var logs bytes.Buffer
	drv, err := cfg.NewDriver(shouwang.DriverEnv{
		Name:   "load",
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Now:    now,
	})
	if err != nil {
		tb.Fatalf("NewDriver: %v", err)
	}
	d := drv.(*Driver)
	tb.Cleanup(func() { d.Close() })
	return d, &logs
}

// logLine is one JSON log line, the fields the load tests read.
type logLine struct {
	Level  string `json:"level"`
	Msg    string `json:"msg"`
	First  int64  `json:"first"`
	Last   int64  `json:"last"`
	Total  int64  `json:"total"`
	Driver string `json:"driver"`
}

// parseLogs parses JSON log lines, the way the zero-loss test reads the
// gateway's stderr.
func parseLogs(tb testing.TB, logs *bytes.Buffer) []logLine {
	tb.Helper()
	var out []logLine
	sc := bufio.NewScanner(bytes.NewReader(logs.Bytes()))
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			tb.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

// withMsg returns the lines with the message.
func withMsg(lines []logLine, msg string) []logLine {
	var out []logLine
	for _, l := range lines {
		if l.Msg == msg {
			out = append(out, l)
		}
	}
	return out
}

// seqs returns the sequence numbers of a batch's readings.
func seqs(b shouwang.Batch) []int64 {
	out := make([]int64, len(b.Readings))
	for i, r := range b.Readings {
		out[i] = int64(r.Value)
	}
	return out
}

// checkLoadReading checks everything about a load reading that follows
// from its sequence number.
func checkLoadReading(tb testing.TB, r shouwang.Reading, seq int64, devices int, start time.Time) {
	tb.Helper()
	want := shouwang.Reading{
		Device:  fmt.Sprintf("load-%04d", seq%int64(devices)),
		Point:   "seq",
		Value:   float64(seq),
		Unit:    "",
		Quality: shouwang.Good,
		Time:    start.Add(time.Duration((seq-1)/int64(devices)) * time.Millisecond),
	}
	if r != want {
		tb.Fatalf("reading %d: %+v, want %+v", seq, r, want)
	}
}

func TestLoadSequenceDevicesAndTimes(t *testing.T) {
	const devices, batch, batches = 7, 10, 100 // batches do not line up with devices
	d, logs := MustLoadDriver(t, Load{Rate: fastRate, Devices: devices, Batch: batch, LogAcks: true}, nil)
	ch := make(chan shouwang.Batch)
	if err := d.Start(context.Background(), chanPublisher(ch)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	start := t0.Add(time.Second) // the fake clock's first reading, at Start
	next := int64(1)
	times := map[string][]time.Time{}
	for range batches {
		b := receive(t, ch)
		if len(b.Readings) != batch || len(b.Events) != 0 {
			t.Fatalf("batch of %d readings and %d events, want %d and 0", len(b.Readings), len(b.Events), batch)
		}
		for _, r := range b.Readings {
			checkLoadReading(t, r, next, devices, start)
			times[r.Device] = append(times[r.Device], r.Time)
			next++
		}
	}
	d.Close()

	if len(times) != devices {
		t.Errorf("readings from %d devices, want %d", len(times), devices)
	}
	for dev, ts := range times {
		// Round robin: each device's readings are 1 ms apart from start on,
		// so none share a millisecond.
		for k, ts := range ts {
			if want := start.Add(time.Duration(k) * time.Millisecond); !ts.Equal(want) {
				t.Fatalf("%s reading %d at %v, want %v", dev, k, ts, want)
			}
		}
		if n := len(ts); n < batches*batch/devices || n > batches*batch/devices+1 {
			t.Errorf("%s has %d readings, want round robin", dev, n)
		}
	}

	// Every Publish that returned nil is acknowledged in the log, in order;
	// none that did not.
	acks := withMsg(parseLogs(t, logs), "acknowledged")
	if len(acks) != batches {
		t.Fatalf("%d acknowledged lines, want %d", len(acks), batches)
	}
	for i, a := range acks {
		if want := int64(i*batch + 1); a.First != want || a.Last != want+batch-1 || a.Level != "INFO" || a.Driver != "load" {
			t.Fatalf("ack %d: %+v, want INFO first=%d last=%d driver=load", i, a, want, want+batch-1)
		}
	}
}

func TestLoadStartTruncatedToTheMillisecond(t *testing.T) {
	start := t0.Add(1500 * time.Microsecond)
	g := newLoadGen(Load{Rate: 1, Devices: 2, Batch: 4}, start)
	b := g.batch()
	for i, r := range b.Readings {
		checkLoadReading(t, r, int64(i+1), 2, t0.Add(time.Millisecond))
	}
	if again := g.batch(); !slices.Equal(seqs(again), seqs(b)) {
		t.Errorf("batch before ack %v, then %v: want the same readings", seqs(b), seqs(again))
	}
	if first, last := g.ack(len(b.Readings)); first != 1 || last != 4 {
		t.Errorf("ack = %d, %d, want 1, 4", first, last)
	}
	if got := seqs(g.batch()); !slices.Equal(got, []int64{5, 6, 7, 8}) {
		t.Errorf("batch after ack %v, want 5-8", got)
	}
}

func TestLoadManyDevices(t *testing.T) {
	const devices = loadNames + 10 // beyond the names formatted up front
	g := newLoadGen(Load{Rate: 1, Devices: devices, Batch: 3}, t0)
	g.next = devices - 1
	b := g.batch()
	var names []string
	for i, r := range b.Readings {
		checkLoadReading(t, r, devices-1+int64(i), devices, t0)
		names = append(names, r.Device)
	}
	if want := []string{"load-65545", "load-0000", "load-0001"}; !slices.Equal(names, want) {
		t.Errorf("devices %q, want %q", names, want)
	}
}

func TestLoadRetriesTheSameBatch(t *testing.T) {
	leakcheck.Check(t)
	const batch = 10
	d, logs := MustLoadDriver(t, Load{Rate: fastRate, Devices: 3, Batch: batch, LogAcks: true, Limit: 3 * batch}, nil)
	d.loadRetry = time.Millisecond
	var (
		mu    sync.Mutex
		calls []shouwang.Batch
	)
	done := make(chan struct{})
	err := d.Start(context.Background(), &mock.Publisher{PublishFn: func(_ context.Context, b shouwang.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, b)
		switch len(calls) {
		case 2:
			return errors.New("outbox full")
		case 3:
			return shouwang.ErrStopped
		case 5:
			close(done)
		}
		return nil
	}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	waitFor(t, done, "5 Publish calls")
	d.Close()

	var got [][]int64
	for _, b := range calls {
		got = append(got, seqs(b))
	}
	span := func(from int64) []int64 {
		s := make([]int64, batch)
		for i := range s {
			s[i] = from + int64(i)
		}
		return s
	}
	want := [][]int64{span(1), span(11), span(11), span(11), span(21)}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("published %v,\nwant %v (the failed batch again, nothing skipped)", got, want)
	}
	for i := 2; i <= 3; i++ {
		if !slices.Equal(calls[i].Readings, calls[1].Readings) {
			t.Errorf("try %d published %+v, want the same readings as the first try %+v", i, calls[i].Readings, calls[1].Readings)
		}
	}

	lines := parseLogs(t, logs)
	var acked [][2]int64
	for _, a := range withMsg(lines, "acknowledged") {
		acked = append(acked, [2]int64{a.First, a.Last})
	}
	if want := [][2]int64{{1, 10}, {11, 20}, {21, 30}}; !slices.Equal(acked, want) {
		t.Errorf("acknowledged %v, want %v (only what Publish accepted)", acked, want)
	}
	failed := withMsg(lines, "sim: load publish failed; retrying the same batch until it works")
	again := withMsg(lines, "sim: load publishing again")
	if len(failed) != 1 || failed[0].Level != "WARN" || len(again) != 1 {
		t.Errorf("%d failures and %d recoveries logged, want one of each:\n%s", len(failed), len(again), logs)
	}
	if done := withMsg(lines, "load done"); len(done) != 1 || done[0].Total != 3*batch {
		t.Errorf("load done lines %+v, want one with total=%d", done, 3*batch)
	}
}

func TestLoadStopsAtTheLimit(t *testing.T) {
	leakcheck.Check(t)
	const limit = 250
	d, logs := MustLoadDriver(t, Load{Rate: fastRate, Devices: 3, Batch: 100, Limit: limit}, nil)
	var (
		mu    sync.Mutex
		sizes []int
		all   []int64
	)
	reached := make(chan struct{})
	err := d.Start(context.Background(), &mock.Publisher{PublishFn: func(_ context.Context, b shouwang.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(b.Readings))
		all = append(all, seqs(b)...)
		if all[len(all)-1] == limit {
			close(reached)
		}
		return nil
	}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	waitFor(t, reached, "the reading at the limit")
	d.Close()

	if want := []int{100, 100, 50}; !slices.Equal(sizes, want) {
		t.Errorf("batch sizes %v, want %v", sizes, want)
	}
	for i, s := range all {
		if s != int64(i+1) {
			t.Fatalf("reading %d has number %d, want %d", i, s, i+1)
		}
	}
	lines := parseLogs(t, logs)
	// "load done" is logged only when the generator stops by itself, and
	// before Close could have stopped it.
	if done := withMsg(lines, "load done"); len(done) != 1 || done[0].Total != limit {
		t.Errorf("load done lines %+v, want one with total=%d:\n%s", done, limit, logs)
	}
	if acks := withMsg(lines, "acknowledged"); len(acks) != 0 {
		t.Errorf("%d acknowledged lines with log_acks off", len(acks))
	}
}

func TestLoadCloseStopsTheGeneratorAndWaitsForIt(t *testing.T) {
	leakcheck.Check(t)
	if n := runLoops() + loadLoops(); n != 0 {
		t.Fatalf("%d driver loops alive before the test", n)
	}
	d, _ := MustLoadDriver(t, Load{Rate: fastRate, Devices: 100, Batch: 100}, nil)
	closed, ch := startGuarded(t, d)
	receive(t, ch)
	// The device loop, with no devices, publishes nothing that would say it
	// has started running; the generator has.
	if n := loadLoops(); n != 1 {
		t.Fatalf("%d load generators alive after a load batch, want 1", n)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed.Store(true)
	if r, l := runLoops(), loadLoops(); r != 0 || l != 0 {
		t.Fatalf("%d device loops and %d load generators alive after Close returned, want 0", r, l)
	}
}

// TestLoadCloseInterruptsEveryWait closes the driver while the generator
// waits for each of the things it waits for, and checks that Close returns
// and that stopping is not logged as a failure.
func TestLoadCloseInterruptsEveryWait(t *testing.T) {
	stoppedClock := func() time.Time { return t0 }
	tests := []struct {
		name  string
		load  Load
		clock func() time.Time
		// publish is called with the number of the call, from 1; it closes
		// waiting once the generator is where the test wants it.
		publish func(ctx context.Context, n int32, waiting func()) error
		// waitMsg, if set, is the log message that says the generator is
		// where the test wants it, instead of publish calling waiting.
		waitMsg  string
		wantLogs []string
	}{
		{
			name: "pacing",
			// One reading per second with a clock that stands still: after
			// the first batch the next one is due in 100 s.
			load:  Load{Rate: 1, Devices: 1, Batch: 100},
			clock: stoppedClock,
			publish: func(_ context.Context, n int32, waiting func()) error {
				if n > 1 {
					return errors.New("paced batch went early")
				}
				waiting()
				return nil
			},
		},
		{
			name: "publish blocking",
			load: Load{Rate: fastRate, Devices: 1, Batch: 100},
			publish: func(ctx context.Context, _ int32, waiting func()) error {
				waiting()
				<-ctx.Done() // backpressure that never lets up
				return ctx.Err()
			},
		},
		{
			name: "retry",
			load: Load{Rate: fastRate, Devices: 1, Batch: 100},
			publish: func(_ context.Context, n int32, _ func()) error {
				return fmt.Errorf("outbox full (try %d)", n)
			},
			// The failure is logged just before the wait for the retry.
			waitMsg:  "sim: load publish failed; retrying the same batch until it works",
			wantLogs: []string{"sim: load publish failed; retrying the same batch until it works"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leakcheck.Check(t)
			d, logs := MustLoadDriver(t, tt.load, tt.clock)
			d.loadRetry = time.Hour
			entered := make(chan struct{})
			var once sync.Once
			waiting := func() { once.Do(func() { close(entered) }) }
			if tt.waitMsg != "" {
				d.log = slog.New(hookHandler{Handler: d.log.Handler(), fn: func(r slog.Record) {
					if r.Message == tt.waitMsg {
						waiting()
					}
				}})
			}
			var calls atomic.Int32
			err := d.Start(context.Background(), &mock.Publisher{PublishFn: func(ctx context.Context, _ shouwang.Batch) error {
				return tt.publish(ctx, calls.Add(1), waiting)
			}})
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			waitFor(t, entered, "the generator to start waiting")
			closed := make(chan struct{})
			go func() {
				d.Close()
				close(closed)
			}()
			waitFor(t, closed, "Close returning while the generator waited")
			if n := loadLoops(); n != 0 {
				t.Errorf("%d load generators alive after Close", n)
			}
			var got []string
			for _, l := range parseLogs(t, logs) {
				if l.Msg != "sim: load generator running" {
					got = append(got, l.Msg)
				}
			}
			if !slices.Equal(got, tt.wantLogs) {
				t.Errorf("logged %q, want %q", got, tt.wantLogs)
			}
		})
	}
}

// hookHandler calls fn with every record it handles, after its Handler.
type hookHandler struct {
	slog.Handler
	fn func(slog.Record)
}

func (h hookHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	h.fn(r)
	return err
}

func TestPacer(t *testing.T) {
	const rate, batch = 1000, 100 // a batch every 100 ms
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	p := newPacer(rate, batch, t0)
	steps := []struct {
		at   time.Time
		want time.Duration
	}{
		{ms(0), 0},                           // the first batch goes at once
		{ms(0), 100 * time.Millisecond},      // the next one is due 100 ms later
		{ms(60), 40 * time.Millisecond},      // ...still
		{ms(100), 0},                         // due
		{ms(350), 0},                         // late by 150 ms: catches up...
		{ms(350), 0},                         // ...
		{ms(350), 50 * time.Millisecond},     // ...and is on time again
		{ms(400), 0},                         //
		{ms(10_400), 0},                      // after a 10 s stall: a burst of one second's worth
		{ms(10_400), 0},                      //
		{ms(10_400), 0},                      //
		{ms(10_400), 0},                      //
		{ms(10_400), 0},                      //
		{ms(10_400), 0},                      //
		{ms(10_400), 0},                      //
		{ms(10_400), 0},                      //
		{ms(10_400), 0},                      //
		{ms(10_400), 0},                      // 10 batches: 1000 readings
		{ms(10_400), 100 * time.Millisecond}, // and then the rate again
	}
	for i, s := range steps {
		got := p.wait(s.at, batch)
		if got != s.want {
			t.Fatalf("step %d at %v: wait %v, want %v", i, s.at.Sub(t0), got, s.want)
		}
		if got == 0 {
			p.spend(batch)
		}
	}

	// A batch larger than one second's worth is still let through, one at
	// a time: at 10/s a batch of 100 goes every 10 s.
	p = newPacer(10, 100, t0)
	for i, at := range []time.Time{t0, ms(10_000), ms(60_000)} {
		if w := p.wait(at, 100); w != 0 {
			t.Fatalf("large batch %d: wait %v, want 0", i, w)
		}
		p.spend(100)
	}
	if w := p.wait(ms(60_000), 100); w != 10*time.Second {
		t.Errorf("after the burst: wait %v, want 10s", w)
	}
}

func TestReadingsTime(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		rate int
		want time.Duration
	}{
		{100, 1000, 100 * time.Millisecond},
		{1, 3, 333_333_333},
		{2500, 1000, 2500 * time.Millisecond},
		{1 << 40, 1 << 40, time.Second},
		{3, 1 << 60, 0},                                 // no overflow with a huge rate
		{86_400 * 1_000_000, 1_000_000, 24 * time.Hour}, // a day at a million per second
	} {
		if got := readingsTime(tc.n, tc.rate); got != tc.want {
			t.Errorf("readingsTime(%d, %d) = %v, want %v", tc.n, tc.rate, got, tc.want)
		}
	}
}

// BenchmarkLoadGenerate measures how many readings per second the load
// generator makes, through Start, with a publisher that returns at once.
func BenchmarkLoadGenerate(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Interval = time.Hour
	cfg.Load = Load{Rate: fastRate, Devices: 100, Batch: 100, Limit: int64(b.N)}
	drv, err := cfg.NewDriver(shouwang.DriverEnv{Name: "load"})
	if err != nil {
		b.Fatal(err)
	}
	defer drv.Close()
	done := make(chan struct{})
	last := float64(b.N)
	pub := &mock.Publisher{PublishFn: func(_ context.Context, batch shouwang.Batch) error {
		if batch.Readings[len(batch.Readings)-1].Value == last {
			close(done)
		}
		return nil
	}}
	b.ReportAllocs()
	b.ResetTimer()
	if err := drv.Start(context.Background(), pub); err != nil {
		b.Fatal(err)
	}
	<-done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
}
