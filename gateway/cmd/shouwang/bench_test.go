package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// BenchmarkWholeProcess runs the real binary with the simulator's load
// generator feeding an InfluxDB sink into a real VictoriaMetrics, and
// reports the process's CPU time per reading and its peak RSS. It runs
// only under `make bench` (SHOUWANG_BENCH=1): it takes about half a minute.
func BenchmarkWholeProcess(b *testing.B) {
	if os.Getenv("SHOUWANG_BENCH") == "" {
		b.Skip("set SHOUWANG_BENCH=1 (make bench)")
	}
	const total = 1_000_000
	for range b.N {
		vm := testenv.StartVictoriaMetrics(b)
		dir := b.TempDir()
		cfg := writeConfig(b, dir, loadConfig(filepath.Join(dir, "data"), vm.URL, 200_000, total))
		p := startGateway(b, cfg)
		start := time.Now()
		deadline := start.Add(5 * time.Minute)
		for p.metric(b, "shouwang_sink_sent_total") < total {
			if time.Now().After(deadline) {
				b.Fatalf("only %v of %d readings reached the store", p.metric(b, "shouwang_sink_sent_total"), total)
			}
			time.Sleep(50 * time.Millisecond) // polling the process's own counter
		}
		elapsed := time.Since(start)
		cpu := processCPU(b, p.cmd.Process.Pid)
		rss := peakRSS(b, p.cmd.Process.Pid)
		p.stop(b)
		got := len(vm.Export(b, `{__name__="seq_value"}`))
		if got != total {
			b.Fatalf("the store holds %d readings, want %d", got, total)
		}
		b.ReportMetric(cpu.Seconds()*1e6/total, "cpu-µs/reading")
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(total/elapsed.Seconds(), "readings/s")
	}
}

// processCPU is the user+system CPU time of pid, from /proc/pid/stat.
func processCPU(tb testing.TB, pid int) time.Duration {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		tb.Fatal(err)
	}
	// Fields after the ")" that ends the command name; utime and stime are
	// the 14th and 15th fields of the whole line, in clock ticks (100/s).
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// peakRSS is VmHWM of pid in bytes.
func peakRSS(tb testing.TB, pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	tb.Fatal("no VmHWM")
	return 0
}
