package gbt26875

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// FuzzFeed: no input panics the decoder or grows its buffer past two
// frames; where the input is cut does not change what it says; every
// reply is a well-formed confirm or deny.
func FuzzFeed(f *testing.F) {
	frames := readFrames(f, "testdata/panel-sequence.hex")
	for _, fr := range frames {
		f.Add(fr, uint16(len(fr)/2))
	}
	f.Add(bytes.Join(frames, nil), uint16(100))
	f.Add(mustHex(f, sampleFire), uint16(3))
	f.Add(mustHex(f, sampleMainsFault), uint16(30))
	now := time.Date(2026, 11, 24, 8, 15, 0, 0, beijing)
	f.Fuzz(func(t *testing.T, in []byte, cut uint16) {
		c := min(int(cut), len(in))
		whole, _ := newTestDecoder()
		var wb shouwang.Batch
		wantReply := slices.Clone(whole.Feed(in, now, &wb))
		split, _ := newTestDecoder()
		var sb shouwang.Batch
		reply := slices.Clone(split.Feed(in[:c], now, &sb))
		reply = append(reply, split.Feed(in[c:], now, &sb)...)
		if !bytes.Equal(reply, wantReply) || !slices.Equal(kinds(sb.Events), kinds(wb.Events)) || len(sb.Readings) != len(wb.Readings) {
			t.Fatalf("cut at %d changed the output: %v vs %v", c, kinds(sb.Events), kinds(wb.Events))
		}
		if cap(whole.buf) > 2*MaxFrame || cap(split.buf) > 2*MaxFrame {
			t.Fatalf("buffer grew to %d", max(cap(whole.buf), cap(split.buf)))
		}
		for r := reply; len(r) > 0; {
			n, kind := frameLen(r)
			if kind != "" || n > len(r) || n != HeaderSize+TrailerLen || (r[26] != CmdConfirm && r[26] != CmdDeny) {
				t.Fatalf("bad reply % X", r)
			}
			r = r[n:]
		}
		for _, e := range wb.Events {
			if e.Device == "" || e.Kind == "" || e.Time.IsZero() {
				t.Fatalf("incomplete event %+v", e)
			}
		}
	})
}
