package outbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/testenv"
	"github.com/shouwang-iot/shouwang/mock"
)

func testConfig(dir string) Config {
	return Config{Dir: dir, MaxBytes: 1 << 30, SegmentBytes: 64 << 10}
}

func testForward(dir string) ForwardConfig {
	return ForwardConfig{BatchSize: 100, FlushInterval: 5 * time.Millisecond,
		MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		Quarantine: filepath.Join(dir, "quarantine.jsonl")}
}

func mustOpen(tb testing.TB, cfg Config, reg prometheus.Registerer) *Outbox {
	tb.Helper()
	o, err := Open(cfg, []string{"store"}, Options{Registerer: reg})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { o.Close() })
	return o
}

// recordingSink keeps what it was sent; fail decides each write's fate.
type recordingSink struct {
	mu   sync.Mutex
	got  shouwang.Batch
	fail func(b shouwang.Batch) error
	sent chan int
}

func newRecordingSink() *recordingSink { return &recordingSink{sent: make(chan int, 1000)} }

func (s *recordingSink) sink() *mock.Sink {
	return &mock.Sink{WriteFn: func(ctx context.Context, b shouwang.Batch) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.fail != nil {
			if err := s.fail(b); err != nil {
				return err
			}
		}
		s.got.Readings = append(s.got.Readings, b.Readings...)
		s.got.Events = append(s.got.Events, b.Events...)
		s.sent <- b.Len()
		return nil
	}}
}

func (s *recordingSink) count() (readings, events int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got.Readings), len(s.got.Events)
}

// waitFor blocks until the sink has n readings, told by each write.
func (s *recordingSink) waitFor(tb testing.TB, n int) {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if r, _ := s.count(); r >= n {
			return
		}
		select {
		case <-s.sent:
		case <-deadline:
			r, _ := s.count()
			tb.Fatalf("sink has %d readings, want %d", r, n)
		}
	}
}

func runForwarder(tb testing.TB, o *Outbox, s shouwang.Sink, fc ForwardConfig) (stop func()) {
	tb.Helper()
	f, err := o.Forwarder("store", s, fc)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	return func() { cancel(); <-done }
}

func TestForwardEverythingInOrder(t *testing.T) {
	dir := t.TempDir()
	o := mustOpen(t, testConfig(dir), nil)
	rs := newRecordingSink()
	stop := runForwarder(t, o, rs.sink(), testForward(dir))
	defer stop()
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 50 {
		if err := o.Append(sampleBatch(20, t0.Add(time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	rs.waitFor(t, 1000)
	for i, r := range rs.got.Readings {
		want := t0.Add(time.Duration(i/20)*time.Second + time.Duration(i%20)*time.Millisecond)
		if !r.Time.Equal(want) {
			t.Fatalf("reading %d at %v, want %v", i, r.Time, want)
		}
	}
	waitPending(t, o, 0)
}

func waitPending(tb testing.TB, o *Outbox, n uint64) {
	tb.Helper()
	testenv.CheckFor(tb, 5*time.Second, fmt.Sprintf("%d records pending", n), func() bool { return o.Pending("store") == n })
}

// TestResumeFromCursor: what was confirmed is not sent again after a
// restart; what was not is.
func TestResumeFromCursor(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	o, err := Open(cfg, []string{"store"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rs := newRecordingSink()
	stop := runForwarder(t, o, rs.sink(), testForward(dir))
	o.Append(sampleBatch(100, time.Unix(1, 0)))
	rs.waitFor(t, 100)
	waitPending(t, o, 0)
	stop()
	o.Append(sampleBatch(7, time.Unix(2, 0))) // appended while the sink is away
	o.Close()

	o = mustOpen(t, cfg, nil)
	rs2 := newRecordingSink()
	defer runForwarder(t, o, rs2.sink(), testForward(dir))()
	rs2.waitFor(t, 7)
	if r, _ := rs2.count(); r != 7 || !rs2.got.Readings[0].Time.Equal(time.Unix(2, 0)) {
		t.Fatalf("after restart got %d readings starting %v", r, rs2.got.Readings[0].Time)
	}
}

func TestRetryHonoursRetryAfterAndLosesNothing(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	o := mustOpen(t, testConfig(dir), reg)
	rs := newRecordingSink()
	failures := 3
	rs.fail = func(shouwang.Batch) error {
		if failures > 0 {
			failures--
			return &shouwang.WriteError{Err: errors.New("503 busy"), RetryAfter: 2 * time.Millisecond}
		}
		return nil
	}
	defer runForwarder(t, o, rs.sink(), testForward(dir))()
	o.Append(sampleBatch(30, time.Unix(1, 0)))
	rs.waitFor(t, 30)
	if got := testenv.MetricValue(t, o.m.errors, "shouwang_sink_errors_total", "sink=store", "kind=retryable"); got != 3 {
		t.Fatalf("retryable errors %v, want 3", got)
	}
}

func TestPermanentRejectGoesToQuarantine(t *testing.T) {
	dir := t.TempDir()
	o := mustOpen(t, testConfig(dir), nil)
	rs := newRecordingSink()
	rs.fail = func(b shouwang.Batch) error {
		if b.Readings[0].Point == "bad" {
			return &shouwang.WriteError{Err: errors.New("400: unable to parse 'bad value=x'"), Permanent: true}
		}
		return nil
	}
	fc := testForward(dir)
	fc.FlushInterval = time.Millisecond
	f, _ := o.Forwarder("store", rs.sink(), fc)
	bad := shouwang.Batch{Readings: []shouwang.Reading{{Device: "d", Point: "bad", Value: 1, Time: time.Unix(5, 0)}}}
	o.Append(bad)
	f.Drain() // send what is there, then return
	if err := f.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	o.Append(sampleBatch(3, time.Unix(6, 0)))
	f2, _ := o.Forwarder("store", rs.sink(), fc)
	f2.Drain()
	f2.Run(context.Background())
	if r, _ := rs.count(); r != 3 {
		t.Fatalf("good batch after the bad one: %d readings sent, want 3", r)
	}
	fh, err := os.Open(fc.Quarantine)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	var q struct {
		Error    string
		Readings []shouwang.Reading
	}
	if !sc.Scan() || json.Unmarshal(sc.Bytes(), &q) != nil {
		t.Fatal("no quarantine line")
	}
	if q.Error != "400: unable to parse 'bad value=x'" || len(q.Readings) != 1 || q.Readings[0].Point != "bad" {
		t.Fatalf("quarantine line %+v", q)
	}
}

// TestFullDropsOldestReadingsKeepsEvents fills the outbox past its bound
// while the store is down: the oldest readings go, counted; every event
// reaches the store once it is back.
func TestFullDropsOldestReadingsKeepsEvents(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, MaxBytes: 256 << 10, SegmentBytes: 64 << 10}
	o := mustOpen(t, cfg, nil)
	t0 := time.Unix(1_700_000_000, 0)
	const rounds = 400
	for i := range rounds {
		b := sampleBatch(50, t0.Add(time.Duration(i)*time.Second))
		b.Events = []shouwang.Event{{Device: "smoke-1", Kind: "smoke_alarm", Severity: shouwang.Fire, Time: t0.Add(time.Duration(i) * time.Second)}}
		if err := o.Append(b); err != nil {
			t.Fatal(err)
		}
	}
	_, _, bytes := o.log.state()
	if bytes > int64(cfg.MaxBytes)+int64(cfg.SegmentBytes) {
		t.Fatalf("outbox %d bytes, bound %d", bytes, cfg.MaxBytes)
	}
	dropped := testenv.MetricValue(t, o.m.dropped, "shouwang_outbox_dropped_readings_total")
	if dropped == 0 {
		t.Fatal("nothing counted as dropped")
	}
	rs := newRecordingSink()
	fc := testForward(dir)
	f, _ := o.Forwarder("store", rs.sink(), fc)
	f.Drain()
	f.Run(context.Background())
	r, e := rs.count()
	if e != rounds {
		t.Fatalf("%d events reached the store, want all %d", e, rounds)
	}
	if r+int(dropped) != rounds*50 {
		t.Fatalf("%d readings sent + %v dropped != %d appended", r, dropped, rounds*50)
	}
	seen := map[int64]bool{}
	for _, ev := range rs.got.Events {
		seen[ev.Time.Unix()] = true
	}
	if len(seen) != rounds {
		t.Fatalf("%d distinct events, want %d", len(seen), rounds)
	}
}

func TestConfigValidate(t *testing.T) {
	c := Config{SegmentBytes: 1024, MaxBytes: 2048}
	err := c.Validate()
	var fe shouwang.FieldErrors
	if !errors.As(err, &fe) || len(fe) != 3 {
		t.Fatalf("want 3 problems (dir, segment_bytes, max_bytes), got %v", err)
	}
	d := DefaultConfig()
	d.Dir = "x"
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	fc := ForwardConfig{}
	if err := fc.Validate(); err == nil || len(err.(shouwang.FieldErrors)) != 4 {
		t.Fatalf("forward config: %v", err)
	}
}
