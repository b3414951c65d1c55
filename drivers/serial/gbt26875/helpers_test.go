package gbt26875

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"golang.org/x/text/encoding/simplifiedchinese"
)

var beijing = time.FixedZone("CST", 8*3600)

// errCount collects what a decoder reported, by kind.
type errCount map[string]int

func (c errCount) onError(kind string, _ []byte) { c[kind]++ }

func newTestDecoder() (*Decoder, errCount) {
	errs := errCount{}
	return New(DefaultConfig(), beijing, errs.onError), errs
}

// mustHex reads hex with spaces, and "(20×30)" for 30 bytes of 0x20 as
// field-facts.md writes the standard's samples.
func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	var out []byte
	for _, tok := range strings.Fields(s) {
		if strings.HasPrefix(tok, "(") {
			var v, n int
			if _, err := fmtSscanf(tok, &v, &n); err != nil {
				tb.Fatalf("bad repeat %q: %v", tok, err)
			}
			out = append(out, bytes.Repeat([]byte{byte(v)}, n)...)
			continue
		}
		b, err := hex.DecodeString(tok)
		if err != nil {
			tb.Fatalf("bad hex %q: %v", tok, err)
		}
		out = append(out, b...)
	}
	return out
}

// readFrames reads a testdata file of frames: hex, one frame per line,
// "#" starts a comment.
func readFrames(tb testing.TB, name string) [][]byte {
	tb.Helper()
	f, err := os.Open(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var frames [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if strings.TrimSpace(line) != "" {
			frames = append(frames, mustHex(tb, line))
		}
	}
	return frames
}

// componentObject builds a type 2 object.
func componentObject(sysType, sysAddr, compType byte, loop, point uint16, status uint16, desc string, at time.Time) []byte {
	o := []byte{sysType, sysAddr, compType, byte(loop), byte(loop >> 8), byte(point), byte(point >> 8), byte(status), byte(status >> 8)}
	d := make([]byte, 31)
	copy(d, gb18030(desc))
	for i := len(gb18030(desc)); i < 30; i++ {
		d[i] = ' '
	}
	o = append(o, d...)
	l := TimeLabel(at)
	return append(o, l[:]...)
}

// sendFrame wraps objects of one type in a send-data frame from UITD 889.
func sendFrame(serial uint16, typ byte, at time.Time, objects ...[]byte) []byte {
	adu := []byte{typ, byte(len(objects))}
	for _, o := range objects {
		adu = append(adu, o...)
	}
	return AppendFrame(nil, Header{Serial: serial, Version: [2]byte{1, 1}, Time: TimeLabel(at), Source: 889, Dest: 88888, Command: CmdSend}, adu)
}

// kinds lists the events' device and kind, for comparing.
func kinds(evs []shouwang.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Device + " " + e.Kind
	}
	return out
}

func fmtSscanf(tok string, v, n *int) (int, error) {
	return fmt.Sscanf(strings.ReplaceAll(tok, "×", " "), "(%x %d)", v, n)
}

func gb18030(s string) []byte {
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		panic(err)
	}
	return b
}
