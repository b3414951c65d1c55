package serial

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/serial/gbt26875"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/internal/testenv"
	"github.com/shouwang-iot/shouwang/mock"
	bugst "go.bug.st/serial"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// links is the driver's open-links gauge.
func links(t *testing.T, d *Driver) float64 {
	t.Helper()
	return testenv.MetricValue(t, d, "shouwang_serial_links")
}

// waitOpen waits until the driver has n links open.
func waitOpen(t *testing.T, d *Driver, n float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for links(t, d) != n {
		if time.Now().After(deadline) {
			t.Fatalf("the driver has %v links open, want %v", links(t, d), n)
		}
		time.Sleep(5 * time.Millisecond) // polled: the driver says nothing else when it opens
	}
}

// openEnd opens the test's end of a pty pair.
func openEnd(t *testing.T, path string) bugst.Port {
	t.Helper()
	p, err := bugst.Open(path, &bugst.Mode{BaudRate: 9600})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetReadTimeout(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// readN reads exactly n bytes from r within 10 s.
func readN(t *testing.T, r interface{ Read([]byte) (int, error) }, n int) []byte {
	t.Helper()
	var got []byte
	buf := make([]byte, 256)
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		m, err := r.Read(buf)
		if err != nil && m == 0 {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:m]...)
	}
	if len(got) != n {
		t.Fatalf("read %d bytes (% X), want %d", len(got), got, n)
	}
	return got
}

func gbtConfig(port string) Config {
	c := DefaultConfig()
	c.Port, c.Line.Baud, c.Protocol = port, 9600, ProtocolGBT26875
	c.ReopenMin, c.ReopenMax = 20*time.Millisecond, 100*time.Millisecond
	return c
}

// TestGBT26875OnPty: a UITD on a serial line reports a fire on loop 1
// address 23, a fault on loop 2 address 5, and a reset at the panel, with
// line noise between the frames. Each comes out as the right event on the
// right device, each frame is confirmed byte-exact, and the reset clears
// both conditions. Then the adapter is unplugged and plugged back in.
func TestGBT26875OnPty(t *testing.T) {
	leakcheck.Check(t)
	pair := testenv.StartPtyPair(t)
	rec := &mock.Recorder{}
	d := startDriver(t, gbtConfig(pair.B), building3, rec)
	waitOpen(t, d, 1)
	uitd := openEnd(t, pair.A)

	var in, want []byte
	for i, f := range [][]byte{
		uitdFrame(88888, 1, gbt26875.TypeComponentStatus, componentStatus(1, 23, 0x0002)),
		uitdFrame(88888, 2, gbt26875.TypeComponentStatus, componentStatus(2, 5, 0x0004)),
		uitdFrame(88888, 3, gbt26875.TypeOperation, resetOperation()),
	} {
		in = append(in, "\x00\xff~ noise @ ##"[:3+4*i]...)
		in = append(in, f...)
		want = append(want, confirmOf(88888, uint16(i+1))...)
	}
	if _, err := uitd.Write(in); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, uitd, len(want)); !bytes.Equal(got, want) {
		t.Errorf("confirms\n got % X\nwant % X", got, want)
	}
	es := rec.WaitFor(t, publishWait, "fire, fault, reset and clears", has("smoke-1202 fire_alarm", "smoke-3f-hall fault", "panel-b3 reset",
		"smoke-1202 fire_clear", "smoke-3f-hall fault_clear")).Events
	for _, e := range es {
		switch e.Device + " " + e.Kind {
		case "smoke-1202 fire_alarm":
			if e.Severity != shouwang.Fire || !e.Time.Equal(fixedNow.Add(-10*time.Second)) {
				t.Errorf("fire event %+v", e)
			}
		case "smoke-3f-hall fault":
			if e.Severity != shouwang.Fault {
				t.Errorf("a fault is not a fire: %+v", e)
			}
		case "panel-b3 reset":
			if e.Attrs["address"] != "88888:1/1" || e.Attrs["operator"] != "7" {
				t.Errorf("reset attrs %v", e.Attrs)
			}
		}
	}

	// Unplugged: the panel is reported offline, a fault; plugged back in,
	// online, and frames are read and confirmed again.
	uitd.Close()
	pair.Unplug(t)
	rec.WaitFor(t, publishWait, "offline", has("panel-b3 offline"))
	pair.Replug(t)
	rec.WaitFor(t, publishWait, "online", has("panel-b3 online"))
	uitd = openEnd(t, pair.A)
	if _, err := uitd.Write(uitdFrame(88888, 4, gbt26875.TypeComponentStatus, componentStatus(1, 23, 0x0002))); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, uitd, 30); !bytes.Equal(got, confirmOf(88888, 4)) {
		t.Errorf("confirm after replug % X", got)
	}
	rec.WaitFor(t, publishWait, "the fire again", func(r mock.Recorded) bool {
		n := 0
		for _, e := range r.Events {
			if e.Device == "smoke-1202" && e.Kind == "fire_alarm" {
				n++
			}
		}
		return n == 2
	})
	for _, e := range rec.Events() {
		if e.Kind == "offline" && e.Severity != shouwang.Fault {
			t.Errorf("offline event %+v is not a fault", e)
		}
	}
}

// TestPortMissingAtStart: a port that is not there when the gateway
// starts is reported, retried, and read once it appears.
func TestPortMissingAtStart(t *testing.T) {
	leakcheck.Check(t)
	pair := testenv.StartPtyPair(t)
	pair.Unplug(t)
	rec := &mock.Recorder{}
	d := startDriver(t, gbtConfig(pair.B), building3, rec)
	rec.WaitFor(t, publishWait, "offline", has("panel-b3 offline"))
	pair.Replug(t)
	waitOpen(t, d, 1)
	rec.WaitFor(t, publishWait, "online", has("panel-b3 online"))
}

// TestTextLinesOnPty: a panel's printer port in GB18030, with a header
// and a garbled line between the events.
func TestTextLinesOnPty(t *testing.T) {
	leakcheck.Check(t)
	pair := testenv.StartPtyPair(t)
	c := sampleFor(t, ProtocolText)
	c.Port = pair.B
	devices := []shouwang.Device{
		{ID: "smoke-1202", Address: "1-23"}, {ID: "smoke-3f-hall", Address: "2-5"}, {ID: "panel-b3", Address: "panel"},
	}
	rec := &mock.Recorder{}
	d := startDriver(t, c, devices, rec)
	waitOpen(t, d, 1)
	printer := openEnd(t, pair.A)
	text := "====== 火灾报警控制器 事件记录 ======\r\n" +
		"2026-11-24 08:15:03 火警 1回路023号 点型光电感烟 3号楼2单元1202\r\n" +
		"\x15\x7f\x80 line noise\r\n" +
		"2026-11-24 08:15:09 故障 2回路005号 点型光电感烟 3楼走廊\r\n" +
		"2026-11-24 08:16:00 复位\r\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := printer.Write(gb); err != nil {
		t.Fatal(err)
	}
	es := rec.WaitFor(t, publishWait, "the printed events", has("smoke-1202 fire_alarm", "smoke-3f-hall fault", "panel-b3 reset",
		"smoke-1202 fire_clear", "smoke-3f-hall fault_clear")).Events
	if e := es[0]; e.Kind != "fire_alarm" || !e.Time.Equal(time.Date(2026, 11, 24, 8, 15, 3, 0, beijing)) || e.Severity != shouwang.Fire {
		t.Errorf("first event %+v", e)
	}
}

// TestFramesOnPty: a smoke-sensor concentrator's binary frames, with
// noise between them, as the sample configures them.
func TestFramesOnPty(t *testing.T) {
	leakcheck.Check(t)
	pair := testenv.StartPtyPair(t)
	c := sampleFor(t, ProtocolFrames)
	c.Port = pair.B
	devices := []shouwang.Device{{ID: "smoke-201", Address: "259"}, {ID: "smoke-202", Address: "260"}}
	rec := &mock.Recorder{}
	d := startDriver(t, c, devices, rec)
	waitOpen(t, d, 1)
	frame := func(addr uint16, status byte, smoke uint16, battery byte) []byte {
		f := []byte{0xAA, 0x55, 6, byte(addr >> 8), byte(addr), status, byte(smoke >> 8), byte(smoke), battery}
		var sum byte
		for _, b := range f[2:] {
			sum += b
		}
		return append(f, sum, 0x0D, 0x0A)
	}
	var in []byte
	in = append(in, frame(259, 0x01, 25, 97)...) // smoke alarm, 0.25 dB/m
	in = append(in, "\x00\x13noise\xAA"...)
	in = append(in, frame(260, 0x02, 0, 88)...) // fault
	if _, err := openEnd(t, pair.A).Write(in); err != nil {
		t.Fatal(err)
	}
	rs := rec.WaitFor(t, publishWait, "alarm and fault", has("smoke-201 smoke_alarm", "smoke-202 fault")).Readings
	found := false
	for _, r := range rs {
		if r.Device == "smoke-201" && r.Point == "smoke_density" && r.Value == 0.25 && r.Unit == "dB/m" {
			found = true
		}
	}
	if !found {
		t.Errorf("readings %+v lack smoke-201's 0.25 dB/m", rs)
	}
}
