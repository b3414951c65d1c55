package frames

import (
	"fmt"
	"testing"

	"github.com/shouwang-iot/shouwang"
)

// BenchmarkFeed reads 1000 frames of 100 sensors whose flags hold still,
// in reads of a serial port's size and of a TCP segment's.
func BenchmarkFeed(b *testing.B) {
	var stream []byte
	for i := range 1000 {
		stream = append(stream, frame(uint16(i%100), byte(i%100&1), uint16(i), 90)...)
	}
	for _, read := range []int{64, 4096} {
		b.Run(fmt.Sprintf("read=%d", read), func(b *testing.B) {
			d := New(concentrator(b), nil)
			batch := newBatch(len(stream))
			d.Feed(stream, t0, batch) // learn the addresses
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			frames := 0
			for b.Loop() {
				batch.Readings, batch.Events = batch.Readings[:0], batch.Events[:0]
				for p := stream; len(p) > 0; {
					n := min(read, len(p))
					d.Feed(p[:n], t0, batch)
					p = p[n:]
				}
				frames += 1000
			}
			if len(batch.Readings) != 2000 {
				b.Fatalf("%d readings, want 2000", len(batch.Readings))
			}
			b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

func newBatch(n int) *shouwang.Batch {
	return &shouwang.Batch{Readings: make([]shouwang.Reading, 0, n), Events: make([]shouwang.Event, 0, n)}
}
