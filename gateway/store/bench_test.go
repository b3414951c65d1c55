package store

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// BenchmarkWrite writes batches of 1000 readings and reports readings/s
// and the bytes written per reading (Linux). A commit appends every page it
// changes to the WAL, and readings are kept in (device, point, ts) order,
// so what a batch costs the card depends on how many series it spans:
// series=1000 is one sample of 1000 series, series=10 a hundred samples of
// ten. "replay" writes the same batch again and again, as after a crash.
//
//	go test -run '^$' -bench BenchmarkWrite -benchtime 200x ./gateway/store/
func BenchmarkWrite(b *testing.B) {
	for _, bc := range []struct {
		name        string
		synchronous string
		series      int // distinct (device, point) in a batch; 1000/series samples each
		replay      bool
	}{
		{"series=1000/synchronous=normal", "normal", 1000, false},
		{"series=1000/synchronous=full", "full", 1000, false},
		{"series=100/synchronous=normal", "normal", 100, false},
		{"series=10/synchronous=normal", "normal", 10, false},
		{"series=1000/replay", "normal", 1000, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Path = filepath.Join(b.TempDir(), "history.db")
			cfg.PruneInterval = 0
			cfg.Synchronous = bc.synchronous
			s, err := Open(context.Background(), cfg, nil, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			batch := shouwang.Batch{Readings: make([]shouwang.Reading, 1000)}
			for i := range batch.Readings {
				series := i % bc.series
				batch.Readings[i] = shouwang.Reading{
					Device: fmt.Sprintf("building-3-unit-2-%03d", series/10),
					Point:  fmt.Sprintf("point-%d", series%10),
					Value:  float64(i) * 0.37,
					Unit:   "%LEL",
				}
			}
			// Each batch is 1000/series samples of each series, a second
			// apart: a poll of every device, or polls gathered over time.
			steps := len(batch.Readings) / bc.series
			setTimes := func(tm time.Time) {
				for i := range batch.Readings {
					batch.Readings[i].Time = tm.Add(time.Duration(i/bc.series) * time.Second)
				}
			}
			tm := base
			if bc.replay {
				setTimes(tm)
				if err := s.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			written := bytesWritten()
			for b.Loop() {
				if !bc.replay {
					tm = tm.Add(time.Duration(steps) * time.Second)
					setTimes(tm)
				}
				if err := s.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			n := b.N * len(batch.Readings)
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "readings/s")
			if written >= 0 {
				// What the card would see (WAL appends and checkpoints),
				// before the file system's own overhead.
				b.ReportMetric(float64(bytesWritten()-written)/float64(n), "B-written/reading")
			}
		})
	}
}

// bytesWritten is what this process has passed to write(2) so far, from
// /proc/self/io (Linux), or -1.
func bytesWritten() int64 {
	buf, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for line := range bytes.Lines(buf) {
		if v, ok := bytes.CutPrefix(line, []byte("wchar: ")); ok {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}
