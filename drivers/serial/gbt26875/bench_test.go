package gbt26875

import (
	"runtime"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// BenchmarkComponentStatus decodes a stream of component status frames
// (one detector each, 46-byte object, 78-byte frame) and confirms each.
// Steady: 256 detectors whose status repeats (a UITD's periodic report);
// Changing: every frame flips one detector between fire and normal, so
// each raises an event and its clear.
func BenchmarkComponentStatus(b *testing.B) {
	at := time.Date(2026, 11, 24, 8, 15, 0, 0, beijing)
	for _, bc := range []struct {
		name   string
		status func(i int) uint16
	}{
		{"Steady", func(int) uint16 { return 0 }},
		{"Changing", func(i int) uint16 { return uint16(i/256%2) << 1 }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var stream []byte
			const frames = 1024
			for i := range frames {
				stream = append(stream, sendFrame(uint16(i), TypeComponentStatus, at,
					componentObject(1, 1, 42, uint16(1+i%8), uint16(i%256/8), bc.status(i), "1202", at))...)
			}
			d, _ := newTestDecoder()
			var batch shouwang.Batch
			const read = 4096 // what a read from the port returns at most
			b.SetBytes(int64(len(stream)))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				for i := 0; i < len(stream); i += read {
					d.Feed(stream[i:min(i+read, len(stream))], at, &batch)
					batch.Events, batch.Readings = batch.Events[:0], batch.Readings[:0]
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(b.N*frames)/b.Elapsed().Seconds(), "frames/s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N*frames), "allocs/frame")
		})
	}
}
