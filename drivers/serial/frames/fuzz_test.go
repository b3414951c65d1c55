package frames

import (
	"bytes"
	"testing"
)

// FuzzFeed feeds any bytes to each framing: the decoder must not panic,
// must stay within max_frame, and must read the same in chunks as whole.
func FuzzFeed(f *testing.F) {
	rec := readHexFile(f, "testdata/concentrator.hex")
	f.Add(rec, uint8(0), uint8(7))
	f.Add(rec, uint8(1), uint8(1))
	f.Add(rec, uint8(3), uint8(13))
	f.Add(rec[:40], uint8(2), uint8(3))
	f.Add(bytes.Repeat([]byte{0xAA, 0x55, 0xFF}, 200), uint8(1), uint8(5))
	f.Add(bytes.Repeat([]byte{0xAA, 0x55, 0x06}, 100), uint8(4), uint8(2))
	configs := testConfigs(f)
	// A small max_frame reaches the limits with short inputs.
	for _, c := range testConfigs(f) {
		c.c.MaxFrame = 16
		configs = append(configs, c)
	}
	f.Fuzz(func(t *testing.T, data []byte, which, chunk uint8) {
		cfg := configs[int(which)%len(configs)]
		whole := newRun(cfg.c)
		whole.feed(t, data)
		cut := newRun(cfg.c)
		cut.feed(t, data, int(chunk%32)+1, 1, int(chunk)+2)
		if d := diff(cut.lines(), whole.lines()); d != "" {
			t.Fatalf("%s: chunked output differs:\n%s", cfg.name, d)
		}
		if d := diff(cut.errors, whole.errors); d != "" {
			t.Fatalf("%s: chunked errors differ:\n%s", cfg.name, d)
		}
	})
}
