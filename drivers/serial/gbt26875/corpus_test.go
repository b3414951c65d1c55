package gbt26875

import (
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/panel-sequence.hex")

// panelSequence is what testdata/panel-sequence.hex holds: UITD 88888
// reporting to centre 1, as it would on a fire in flat 1202.
func panelSequence() (lines []string) {
	at := func(s int) time.Time { return time.Date(2026, 11, 24, 8, 15, s, 0, beijing) }
	h := func(serial uint16, s int) Header {
		return Header{Serial: serial, Version: [2]byte{1, 1}, Time: TimeLabel(at(s)), Source: 88888, Dest: 1, Command: CmdSend}
	}
	frame := func(comment string, serial uint16, s int, typ byte, objects ...[]byte) {
		var adu []byte
		if len(objects) > 0 {
			adu = []byte{typ, byte(len(objects))}
			for _, o := range objects {
				adu = append(adu, o...)
			}
		}
		lines = append(lines, "# "+comment, spaced(AppendFrame(nil, h(serial, s), adu)))
	}
	noise := func(comment string, b []byte) { lines = append(lines, "# "+comment, spaced(b)) }
	analog := []byte{1, 1, 11, 3, 0, 7, 0, 6, 125, 0}
	l := TimeLabel(at(6))
	analog = append(analog, l[:]...)
	op := []byte{1, 1, 0x01, 1}
	l = TimeLabel(at(8))
	op = append(op, l[:]...)

	frame("heartbeat (send, no data)", 1, 0, 0)
	noise("line noise: a modem's echo", []byte("\r\nATE0\r\n"))
	frame("component status: point smoke detector (42) loop 1 point 23, fire alarm (bit 1)", 2, 3, TypeComponentStatus,
		componentObject(1, 1, 42, 1, 23, 0x0002, "1号楼2单元1202厨房", at(3)))
	frame("component status: loop 2 point 5, fault (bit 2)", 3, 5, TypeComponentStatus,
		componentObject(1, 1, 42, 2, 5, 0x0004, "2单元3楼走廊", at(5)))
	frame("analogue value: point gas detector (11) loop 3 point 7, gas (type 6) 125 = 12.5 %LEL", 4, 6, TypeAnalog, analog)
	noise("noise with a stray end marker", []byte{0x00, 0xFF, '#', '#', 0x55})
	frame("operation at the panel: reset (bit 0) by operator 1", 5, 8, TypeOperation, op)
	frame("component status: loop 1 point 23 back to normal", 6, 9, TypeComponentStatus,
		componentObject(1, 1, 42, 1, 23, 0x0000, "1号楼2单元1202厨房", at(9)))
	frame("component status: loop 2 point 5 back to normal", 7, 9, TypeComponentStatus,
		componentObject(1, 1, 42, 2, 5, 0x0000, "2单元3楼走廊", at(9)))
	frame("heartbeat", 8, 10, 0)
	return lines
}

func spaced(b []byte) string {
	s := hex.EncodeToString(b)
	var sb strings.Builder
	for i := 0; i < len(s); i += 2 {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(strings.ToUpper(s[i : i+2]))
	}
	return sb.String()
}

// TestCorpusUpToDate keeps the testdata file what panelSequence builds;
// go test -run TestCorpusUpToDate -update rewrites it.
func TestCorpusUpToDate(t *testing.T) {
	const name = "testdata/panel-sequence.hex"
	want := "# GB/T 26875.3 frames from a UITD, one per line (hex); lines of noise between.\n" +
		strings.Join(panelSequence(), "\n") + "\n"
	if *update {
		if err := os.WriteFile(name, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(name)
	if err != nil || string(got) != want {
		t.Errorf("%s is stale (err %v); run go test -run TestCorpusUpToDate -update", name, err)
		fmt.Println(want)
	}
}
