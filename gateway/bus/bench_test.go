package bus

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/outbox"
)

// BenchmarkPublishToOutbox measures readings made durable per second
// through the bus into a real outbox, fsync on, with many drivers
// publishing at once so that group commit shares each fsync.
func BenchmarkPublishToOutbox(b *testing.B) {
	for _, per := range []int{10, 100} {
		b.Run(fmt.Sprintf("readings_per_publish=%d", per), func(b *testing.B) {
			cfg := outbox.DefaultConfig()
			cfg.Dir = b.TempDir()
			o, err := outbox.Open(cfg, []string{"store"}, outbox.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer o.Close()
			bus, _ := New(DefaultConfig(), o.Append, nil, Options{})
			bus.Start()
			defer bus.Stop(context.Background())
			t0 := time.Now()
			b.SetParallelism(32) // 64 publishers on 2 cores: a busy community's drivers
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				batch := shouwang.Batch{Readings: make([]shouwang.Reading, per)}
				for i := range batch.Readings {
					batch.Readings[i] = shouwang.Reading{Device: fmt.Sprintf("gas-1-%d", i), Point: "gas", Value: 1.5, Unit: "%LEL", Time: t0}
				}
				for pb.Next() {
					if err := bus.Publish(context.Background(), batch); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "readings/s")
		})
	}
}
