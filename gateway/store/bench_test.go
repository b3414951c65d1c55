package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"modernc.org/sqlite"
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
			cfg := testConfig(b)
			cfg.Synchronous = bc.synchronous
			s := mustOpenLogging(b, cfg, nil, slog.New(slog.DiscardHandler))
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

// BenchmarkWriteManySeries is MQTT ingest as the history store sees it: a
// thousand devices each reporting gas and battery, published in batches of
// 1000 messages (2000 readings, one new sample of every series) the way the
// MQTT driver publishes them, written with a cancellable context as the
// bus's follower passes one. "joined=8" writes eight such batches in one
// call, as the bus hands a follower that fell behind everything it queued.
// "prefilled" first stores 250 samples of every series (500k readings),
// since a write costs more as the table grows.
//
// It reports per reading the time, the CPU time of the whole process
// (SQLite's and the GC's included), the allocations and the bytes passed to
// write(2); the slowest Write (one that merges); the SQLite page cache of
// every open connection at the end; and the process's peak RSS, which
// means something only when one sub-benchmark runs per process:
//
//	go test -run '^$' -bench 'BenchmarkWriteManySeries/batch' -benchtime 200x ./gateway/store/
func BenchmarkWriteManySeries(b *testing.B) {
	for _, bc := range []struct {
		name        string
		synchronous string
		join        int // batches per Write
		prefill     int // samples of every series stored before timing
	}{
		{"batch", "normal", 1, 0},
		{"joined=8", "normal", 8, 0},
		{"synchronous=full", "full", 1, 0},
		{"prefilled", "normal", 1, 250},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const devices, msgsPerBatch = 1000, 1000
			cfg := testConfig(b)
			cfg.Synchronous = bc.synchronous
			s := mustOpenLogging(b, cfg, nil, slog.New(slog.DiscardHandler))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ids := make([]string, devices)
			for i := range ids {
				ids[i] = fmt.Sprintf("GD-%04d", i)
			}
			// Message m comes from device m%devices at base+m ms, so every
			// series gets a sample a second.
			msg := 0
			next := func(msgs int) shouwang.Batch {
				batch := shouwang.Batch{Readings: make([]shouwang.Reading, 0, 2*msgs)}
				for range msgs {
					tm := base.Add(time.Duration(msg) * time.Millisecond)
					d := ids[msg%devices]
					batch.Readings = append(batch.Readings,
						shouwang.Reading{Device: d, Point: "gas", Value: float64(msg%200) / 10, Unit: "%LEL", Time: tm},
						shouwang.Reading{Device: d, Point: "battery", Value: 97, Unit: "%", Time: tm})
					msg++
				}
				return batch
			}
			for range bc.prefill {
				if err := s.Write(ctx, next(devices)); err != nil {
					b.Fatal(err)
				}
			}
			// The batches are built before timing: publishing is not the
			// store's cost.
			batches := make([]shouwang.Batch, 0, 64)
			readings := 0
			var slowest time.Duration
			b.ReportAllocs()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			written, cpu0 := bytesWritten(), cpuTime()
			for b.Loop() {
				b.StopTimer()
				batches = batches[:0]
				for range bc.join {
					batches = append(batches, next(msgsPerBatch))
				}
				batch := batches[0]
				if bc.join > 1 {
					batch = mergeBatches(batches)
				}
				b.StartTimer()
				start := time.Now()
				if err := s.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
				slowest = max(slowest, time.Since(start))
				readings += len(batch.Readings)
			}
			cpu := cpuTime() - cpu0
			runtime.ReadMemStats(&ms1)
			n := float64(readings)
			b.ReportMetric(float64(b.Elapsed().Microseconds())/n, "µs/reading")
			b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/reading")
			// Building the batches (untimed) is in the CPU time and the
			// allocations too, a few per Write.
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/reading")
			if written >= 0 {
				b.ReportMetric(float64(bytesWritten()-written)/n, "B-written/reading")
			}
			b.ReportMetric(float64(slowest.Microseconds())/1000, "slowest-ms")
			b.ReportMetric(float64(pageCacheBytes(b, s))/(1<<20), "cache-MiB")
			if rss := peakRSS(); rss > 0 {
				b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
			}
		})
	}
}

func mergeBatches(group []shouwang.Batch) shouwang.Batch {
	var b shouwang.Batch
	for _, g := range group {
		b.Readings = append(b.Readings, g.Readings...)
		b.Events = append(b.Events, g.Events...)
	}
	return b
}

// pageCacheBytes is the page cache SQLite holds for all the store's open
// connections.
func pageCacheBytes(tb testing.TB, s *Store) int {
	tb.Helper()
	ctx := context.Background()
	var total int
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range s.db.Stats().Idle {
		c, err := s.db.Conn(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		conns = append(conns, c)
		err = c.Raw(func(dc any) error {
			cur, _, err := dc.(sqlite.DBStatus).Status(sqlite.DBStatusCacheUsed, false)
			total += cur
			return err
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return total
}

// peakRSS is the process's peak resident set (VmHWM, Linux), or -1.
func peakRSS() int64 {
	buf, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range bytes.Lines(buf) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return -1
}

// BenchmarkReadingsRecent reads one series' last minute from a store of
// 1000 devices × 2 points, with recent empty (everything merged) and with
// recent holding just under mergeRows readings: what the scan of recent
// adds to every readings query.
func BenchmarkReadingsRecent(b *testing.B) {
	for _, merged := range []bool{true, false} {
		b.Run(fmt.Sprintf("merged=%t", merged), func(b *testing.B) {
			cfg := testConfig(b)
			s := mustOpenLogging(b, cfg, nil, slog.New(slog.DiscardHandler))
			ctx := context.Background()
			msg := 0
			for msg < 100_000 || s.recent+2000 < s.mergeRows {
				batch := shouwang.Batch{}
				for range 1000 {
					tm := base.Add(time.Duration(msg) * time.Millisecond)
					d := fmt.Sprintf("GD-%04d", msg%1000)
					batch.Readings = append(batch.Readings,
						shouwang.Reading{Device: d, Point: "gas", Value: 1, Unit: "%LEL", Time: tm},
						shouwang.Reading{Device: d, Point: "battery", Value: 97, Unit: "%", Time: tm})
					msg++
				}
				if err := s.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			if merged {
				s.wmu.Lock()
				err := s.merge(ctx)
				s.wmu.Unlock()
				if err != nil {
					b.Fatal(err)
				}
			}
			end := base.Add(time.Duration(msg) * time.Millisecond)
			q := Query{Devices: []string{"GD-0007"}, Points: []string{"gas"}, From: end.Add(-time.Minute), To: end}
			for b.Loop() {
				rs, err := s.Readings(ctx, q)
				if err != nil || len(rs) == 0 {
					b.Fatal(len(rs), err)
				}
			}
			b.ReportMetric(float64(s.recent), "recent-readings")
		})
	}
}
