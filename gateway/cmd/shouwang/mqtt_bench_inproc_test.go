package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/shouwang-iot/shouwang/gateway"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// BenchmarkInProcessMQTT is BenchmarkMQTTIngest's gateway half with the
// gateway in the test process, to see where its CPU and memory go (the
// binary serves no pprof):
//
//	SHOUWANG_BENCH=1 SHOUWANG_BENCH_HEAP=/tmp/heap.pb.gz go test -run '^$' \
//	    -bench InProcessMQTT -benchtime 1x -cpuprofile /tmp/cpu.pb.gz -o /tmp/shouwang.test ./gateway/cmd/shouwang/
//	go tool pprof -tagignore role=publisher -top /tmp/shouwang.test /tmp/cpu.pb.gz
//
// The publishing clients run under the pprof label role=publisher, which
// -tagignore leaves out. SHOUWANG_BENCH_HEAP=FILE writes a heap profile
// once the stream is in. It reports messages/s and the peak of the Go
// heap in use; it is not part of `make bench`.
func BenchmarkInProcessMQTT(b *testing.B) {
	if os.Getenv("SHOUWANG_BENCH") == "" {
		b.Skip("set SHOUWANG_BENCH=1")
	}
	const devices = 1000
	total := 500_000
	if v := os.Getenv("SHOUWANG_BENCH_MSGS"); v != "" {
		var err error
		if total, err = strconv.Atoi(v); err != nil {
			b.Fatalf("SHOUWANG_BENCH_MSGS: %v", err)
		}
	}
	for range b.N {
		mq := testenv.StartMosquitto(b)
		vm := testenv.StartVictoriaMetrics(b)
		dir := b.TempDir()
		cfg := mqttGateway{dataDir: dir + "/data", broker: "tcp://" + mq.Addr, user: mq.User, password: mq.Password,
			clientID: "bench-gw", vmURL: vm.URL, devices: devices}.write(b, dir)
		plan, err := gateway.Load(cfg)
		if err != nil {
			b.Fatal(err)
		}
		addr := make(chan net.Addr, 1)
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan error, 1)
		g := gateway.New(plan, gateway.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Listening: func(a net.Addr) { addr <- a }})
		go func() { stopped <- g.Run(ctx) }()
		p := &gatewayProc{done: make(chan struct{})}
		select {
		case a := <-addr:
			p.addr = a.String()
		case err := <-stopped:
			b.Fatalf("gateway stopped at start: %v", err)
		}
		p.waitMetric(b, "shouwang_mqtt_connected", 1, 30*time.Second)

		s := &readingStream{broker: "tcp://" + mq.Addr, user: mq.User, password: mq.Password, clientPrefix: "bench-dev",
			devices: devices, total: total, clients: 4, window: 1000, base: time.Now().Add(-time.Hour).UnixMilli()}
		labels := pprof.Labels("role", "publisher")
		var cs []paho.Client // paho's goroutines inherit the label
		pprof.Do(context.Background(), labels, func(context.Context) { cs = s.connect(b) })
		start := time.Now()
		errc := make(chan error, 1)
		go pprof.Do(context.Background(), labels, func(ctx context.Context) { errc <- s.publish(ctx, cs) })
		var peak uint64
		for p.metric(b, "shouwang_mqtt_messages_total") < float64(total) || p.metric(b, "shouwang_sink_sent_total") < float64(2*total) {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			time.Sleep(100 * time.Millisecond) // polling the gateway's counters
		}
		elapsed := time.Since(start)
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		if f := os.Getenv("SHOUWANG_BENCH_HEAP"); f != "" {
			w, err := os.Create(f)
			if err != nil {
				b.Fatal(err)
			}
			err = pprof.Lookup("heap").WriteTo(w, 0)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(total)/elapsed.Seconds(), "msgs/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-inuse-MiB")
		cancel()
		if err := <-stopped; err != nil {
			b.Fatal(err)
		}
	}
}
