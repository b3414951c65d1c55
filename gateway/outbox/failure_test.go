package outbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// TestBadRecordIsBisectedOut: one malformed reading in a batch of 100 goes
// to quarantine; the other 99 reach the store.
func TestBadRecordIsBisectedOut(t *testing.T) {
	dir := t.TempDir()
	o := mustOpen(t, testConfig(dir), nil)
	rs := newRecordingSink()
	rs.fail = func(b shouwang.Batch) error {
		for _, r := range b.Readings {
			if r.Point == "bad" {
				return &shouwang.WriteError{Err: errors.New("400: bad line"), Permanent: true}
			}
		}
		return nil
	}
	b := sampleBatch(100, time.Unix(1, 0))
	b.Readings[37].Point = "bad"
	o.Append(b)
	f, _ := o.Forwarder("store", rs.sink(), testForward(dir))
	f.Drain()
	if err := f.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r, _ := rs.count(); r != 99 {
		t.Fatalf("%d readings reached the store, want 99", r)
	}
	if got := testenv.MetricValue(t, o.m.quarantined, "shouwang_sink_quarantined_total", "sink=store"); got != 1 {
		t.Fatalf("%v quarantined, want 1", got)
	}
}

// TestQuarantineUnwritableKeepsTheRecord: when the quarantine file cannot
// be written, the rejected record stays in the outbox until it can.
func TestQuarantineUnwritableKeepsTheRecord(t *testing.T) {
	dir := t.TempDir()
	o := mustOpen(t, testConfig(dir), nil)
	blocker := filepath.Join(dir, "not-a-dir")
	os.WriteFile(blocker, nil, 0o600)
	fc := testForward(dir)
	fc.Quarantine = filepath.Join(blocker, "q.jsonl")
	sink := newRecordingSink()
	sink.fail = func(shouwang.Batch) error {
		return &shouwang.WriteError{Err: errors.New("400: bad"), Permanent: true}
	}
	o.Append(sampleBatch(1, time.Unix(1, 0)))
	stop := runForwarder(t, o, sink.sink(), fc)
	defer stop()
	testenv.CheckFor(t, 10*time.Second, "three attempts", func() bool {
		return testenv.MetricValue(t, o.m.errors, "shouwang_sink_errors_total", "sink=store", "kind=permanent") >= 3
	})
	if o.Pending("store") != 1 {
		t.Fatalf("the rejected record was confirmed without being quarantined")
	}
	os.Remove(blocker)
	waitPending(t, o, 0)
	if _, err := os.Stat(fc.Quarantine); err != nil {
		t.Fatal(err)
	}
}

// TestEventsOnlySegmentsDoNotDisableTheBound: an event storm fills the
// oldest segments; readings behind them are still dropped to keep the bound,
// and every event survives.
func TestEventsOnlySegmentsDoNotDisableTheBound(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, MaxBytes: 256 << 10, SegmentBytes: 64 << 10}
	o := mustOpen(t, cfg, nil)
	t0 := time.Unix(1_700_000_000, 0)
	events := 0
	for i := range 200 {
		var b shouwang.Batch
		for j := range 20 {
			b.Events = append(b.Events, shouwang.Event{Device: "cam-1", Kind: "object_thrown", Severity: shouwang.Alarm,
				Time: t0.Add(time.Duration(i*20+j) * time.Millisecond)})
		}
		events += 20
		o.Append(b)
	}
	for i := range 400 {
		o.Append(sampleBatch(50, t0.Add(time.Hour+time.Duration(i)*time.Second)))
	}
	_, _, bytes := o.log.state()
	dropped := testenv.MetricValue(t, o.m.dropped, "shouwang_outbox_dropped_readings_total")
	if dropped == 0 || bytes > int64(cfg.MaxBytes)*2 {
		t.Fatalf("outbox at %d bytes (bound %d), %v readings dropped", bytes, cfg.MaxBytes, dropped)
	}
	rs := newRecordingSink()
	f, _ := o.Forwarder("store", rs.sink(), testForward(dir))
	f.Drain()
	f.Run(context.Background())
	seen := map[int64]bool{}
	for _, e := range rs.got.Events {
		seen[e.Time.UnixNano()] = true
	}
	if len(seen) != events {
		t.Fatalf("%d distinct events reached the store, want %d", len(seen), events)
	}
}

// TestDiskFullDropsToMakeRoom: a write that fails with ENOSPC drops the
// oldest readings and is tried again, so the gateway keeps taking events.
func TestDiskFullDropsToMakeRoom(t *testing.T) {
	dir := t.TempDir()
	o := mustOpen(t, testConfig(dir), nil)
	for i := range 200 {
		o.Append(sampleBatch(50, time.Unix(int64(i), 0)))
	}
	full := true
	o.log.write = func(f *os.File, b []byte) (int, error) {
		if full {
			full = false
			return 0, syscall.ENOSPC
		}
		return f.Write(b)
	}
	ev := shouwang.Batch{Events: []shouwang.Event{{Device: "smoke-1", Kind: "smoke_alarm", Severity: shouwang.Fire, Time: time.Unix(999, 0)}}}
	if err := o.Append(ev); err != nil {
		t.Fatalf("append on a full disk: %v", err)
	}
	if testenv.MetricValue(t, o.m.dropped, "shouwang_outbox_dropped_readings_total") == 0 {
		t.Fatal("nothing dropped to make room")
	}
	rs := newRecordingSink()
	f, _ := o.Forwarder("store", rs.sink(), testForward(dir))
	f.Drain()
	f.Run(context.Background())
	if _, e := rs.count(); e != 1 {
		t.Fatalf("%d events reached the store, want the smoke alarm", e)
	}
}

// TestFailedAppendStartsANewSegment: after a failed write nothing more is
// appended behind it; a reopen finds every acknowledged record.
func TestFailedAppendStartsANewSegment(t *testing.T) {
	dir := t.TempDir()
	l := mustLog(t, dir, 5)
	l.write = func(f *os.File, b []byte) (int, error) {
		f.Write(b[:len(b)/2]) // half a group reaches the disk
		return 0, syscall.EIO
	}
	if _, err := l.append([][]byte{payload(5)}); err == nil {
		t.Fatal("append succeeded")
	}
	l.write = (*os.File).Write
	for i := 5; i < 9; i++ {
		if _, err := l.append([][]byte{payload(i)}); err != nil {
			t.Fatal(err)
		}
	}
	l.close()
	l, torn, err := openSegmentLog(dir, 1<<20)
	if err != nil || torn != nil {
		t.Fatalf("reopen: %v, torn %+v", err, torn)
	}
	defer l.close()
	checkRecords(t, readAll(t, l, 1), 9)
}
