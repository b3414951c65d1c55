package mock_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/mock"
)

func batch(device string, values ...float64) shouwang.Batch {
	var b shouwang.Batch
	for _, v := range values {
		b.Readings = append(b.Readings, shouwang.Reading{Device: device, Point: "gas", Value: v})
	}
	return b
}

// TestRecorderWaitFor: publishers on other goroutines wake the test, and
// what WaitFor and the accessors return are copies.
func TestRecorderWaitFor(t *testing.T) {
	var rec mock.Recorder
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				rec.Publish(context.Background(), batch(fmt.Sprint("gas-", i), float64(j)))
			}
		})
	}
	got := rec.WaitFor(t, 10*time.Second, "400 readings", func(r mock.Recorded) bool { return len(r.Readings) == 400 })
	wg.Wait()
	if len(got.Batches) != 400 || len(rec.Batches()) != 400 || len(rec.Events()) != 0 {
		t.Fatalf("%d batches recorded, %d now, %d events", len(got.Batches), len(rec.Batches()), len(rec.Events()))
	}
	got.Readings[0].Value = -1
	got.Batches[0].Readings[0].Value = -1
	if rec.Readings()[0].Value == -1 || rec.Batches()[0].Readings[0].Value == -1 {
		t.Error("changing what WaitFor returned changed the recorder")
	}
}

// TestRecorderNextBatch: NextBatch takes batches in order, like a channel,
// passing over those that do not match.
func TestRecorderNextBatch(t *testing.T) {
	var rec mock.Recorder
	for _, b := range []shouwang.Batch{batch("a", 1), batch("b", 2), batch("a", 3)} {
		rec.Publish(context.Background(), b)
	}
	device := func(d string) func(shouwang.Batch) bool {
		return func(b shouwang.Batch) bool { return b.Readings[0].Device == d }
	}
	if b := rec.NextBatch(t, time.Second, "a", device("a")); b.Readings[0].Value != 1 {
		t.Errorf("first a: %v", b)
	}
	if b := rec.NextBatch(t, time.Second, "a", device("a")); b.Readings[0].Value != 3 {
		t.Errorf("second a: %v", b) // b 2 was passed over
	}
	go rec.Publish(context.Background(), batch("b", 4))
	if b := rec.NextBatch(t, 10*time.Second, "b", device("b")); b.Readings[0].Value != 4 {
		t.Errorf("b after the a's: %v", b)
	}
	msg := fatal(t, func(tb testing.TB) { rec.NextBatch(tb, 10*time.Millisecond, "another b", device("b")) })
	if !strings.Contains(msg, "timed out after 10ms waiting for another b; 4 batches, 4 readings and 0 events so far") {
		t.Errorf("failure %q", msg)
	}
}

// fakeTB records the message of Fatalf and ends the goroutine.
type fakeTB struct {
	testing.TB
	msg string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatal runs fn on its own goroutine and returns what it failed with.
func fatal(t *testing.T, fn func(testing.TB)) string {
	t.Helper()
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	if f.msg == "" {
		t.Fatal("did not fail")
	}
	return f.msg
}
