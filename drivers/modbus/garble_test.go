package modbus

import (
	"io"
	"math"
	"os"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// TestDriverGarbledFrames puts a misbehaving slave on a real pty pair: it
// answers the first requests with a bad CRC, with another slave's id, and
// too late (after the driver has given up on it), then properly. Each
// failure is counted by kind, none crashes or blocks the bus, and the late
// answer is refused rather than taken for the next request's: the first
// reading published carries the value of a good answer.
func TestDriverGarbledFrames(t *testing.T) {
	pty := testenv.StartPtyPair(t)
	c := fastConfig(TransportRTU, pty.B)
	c.Timeout, c.OfflineAfter = 150*time.Millisecond, 100
	d, out := startDriver(t, c, shouwang.Device{ID: "gas-1", Address: "1"})
	// Opened after the driver so it is closed first at cleanup, ending the
	// peer's goroutine before the leak check; requests wait in the pty.
	peer, err := os.OpenFile(pty.A, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	// The driver waits Timeout plus the request's and answer's time on the
	// wire at 9600 baud (17 characters) for an answer.
	late := c.Timeout + 17*charTime(9600) + 200*time.Millisecond

	answer := func(slave byte, regs ...uint16) []byte {
		b := []byte{slave, 4, byte(2 * len(regs))}
		for _, r := range regs {
			b = append(b, byte(r>>8), byte(r))
		}
		return testenv.RTUFrame(b...)
	}
	go func() {
		req := make([]byte, 8)
		for n := 0; ; n++ {
			if _, err := io.ReadFull(peer, req); err != nil {
				return // the test is over
			}
			var reply []byte
			switch n {
			case 0:
				reply = answer(1, 111, 0)
				reply[len(reply)-1] ^= 0xff // CRC broken
			case 1:
				reply = answer(2, 222, 0) // another slave's
			case 2:
				// After the driver gave up on it, and the size of an answer
				// to another read (RTU has no transaction id to tell).
				time.Sleep(late)
				reply = answer(1, 333)
			default:
				reply = answer(1, 444, 0)
			}
			if _, err := peer.Write(reply); err != nil {
				return
			}
		}
	}()
	b := out.NextBatch(t, 10*time.Second, "a good reading", func(b shouwang.Batch) bool {
		r, ok := reading(b, "gas")
		return ok && r.Quality == shouwang.Good
	})
	if r, _ := reading(b, "gas"); math.Round(r.Value*10) != 444 {
		t.Errorf("first good reading %v, want 44.4 (33.3 would be the late answer taken for the next)", r.Value)
	}
	for _, kind := range []string{"crc", "frame", "timeout"} {
		if n := testenv.MetricValue(t, d, "shouwang_modbus_failures_total", "device=gas-1", "kind="+kind); n < 1 {
			t.Errorf("%s failures: %v, want at least 1", kind, n)
		}
	}
}
