package gbt26875

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// The standard's published sample frames (field-facts.md §1, checksums
// verified there): a smoke detector's fire alarm sent by UITD 889 to
// centre 88888 at 2012-09-26 09:58:32, and the centre's confirm at :35.
const (
	sampleFire    = "40 40 01 00 01 01 20 3A 09 1A 09 0C 79 03 00 00 00 00 38 5B 01 00 00 00 30 00 02 02 01 01 01 28 0A 00 02 00 02 00 (20×30) 00 02 3A 09 1A 09 0C 46 23 23"
	sampleConfirm = "40 40 01 00 01 01 23 3A 09 1A 09 0C 38 5B 01 00 00 00 79 03 00 00 00 00 00 00 03 AB 23 23"
	sampleDeny    = "40 40 01 00 01 01 23 3A 09 1A 09 0C 38 5B 01 00 00 00 79 03 00 00 00 00 00 00 06 AE 23 23"
	// The UITD's main-power fault; the standard elides the header, which
	// is sample 1's (its checksum 42 agrees).
	sampleMainsFault = "40 40 01 00 01 01 20 3A 09 1A 09 0C 79 03 00 00 00 00 38 5B 01 00 00 00 09 00 02 15 01 08 02 3A 09 1A 09 0C 42 23 23"
)

var sampleTime = time.Date(2012, 9, 26, 9, 58, 35, 0, beijing)

func TestStandardSampleFireIsConfirmedByteExact(t *testing.T) {
	d, errs := newTestDecoder()
	var b shouwang.Batch
	reply := d.Feed(mustHex(t, sampleFire), sampleTime, &b)
	if want := mustHex(t, sampleConfirm); !bytes.Equal(reply, want) {
		t.Errorf("reply\n got % X\nwant % X", reply, want)
	}
	if len(errs) != 0 {
		t.Errorf("errors %v", errs)
	}
	if len(b.Events) == 0 {
		t.Fatal("no events")
	}
	fire := b.Events[0]
	want := shouwang.Event{Device: "889:1/1/10-2", Kind: "fire_alarm", Severity: shouwang.Fire, Message: "火警",
		Time: time.Date(2012, 9, 26, 9, 58, 2, 0, beijing)}
	if fire.Device != want.Device || fire.Kind != want.Kind || fire.Severity != want.Severity || fire.Message != want.Message || !fire.Time.Equal(want.Time) {
		t.Errorf("fire event %+v, want %+v", fire, want)
	}
	if fire.Attrs["component_type"] != "40" || fire.Attrs["status"] != "0x0002" {
		t.Errorf("attrs %v", fire.Attrs)
	}
	// The first report of a component says every condition, so the rules
	// learn a cleared fault after a gateway restart.
	wantKinds := []string{"fire_alarm", "fault_clear", "disabled_clear", "supervisory_clear", "started_clear", "feedback_clear", "delay_clear", "power_fault_clear"}
	for i, e := range b.Events {
		if i >= len(wantKinds) || e.Kind != wantKinds[i] {
			t.Fatalf("events %v, want kinds %v", kinds(b.Events), wantKinds)
		}
		if i > 0 && e.Severity != shouwang.Info {
			t.Errorf("%s has severity %v, want info", e.Kind, e.Severity)
		}
	}
	// The same status again says nothing new, and is confirmed again.
	b = shouwang.Batch{}
	if reply := d.Feed(mustHex(t, sampleFire), sampleTime, &b); !bytes.Equal(reply, mustHex(t, sampleConfirm)) {
		t.Errorf("second reply % X", reply)
	}
	if len(b.Events) != 0 {
		t.Errorf("repeated status gave %v", kinds(b.Events))
	}
}

func TestStandardSampleMainsFault(t *testing.T) {
	d, errs := newTestDecoder()
	var b shouwang.Batch
	reply := d.Feed(mustHex(t, sampleMainsFault), sampleTime, &b)
	if !bytes.Equal(reply, mustHex(t, sampleConfirm)) {
		t.Errorf("reply % X", reply)
	}
	if len(errs) != 0 || len(b.Events) == 0 {
		t.Fatalf("errors %v events %v", errs, kinds(b.Events))
	}
	if e := b.Events[2]; e.Device != "889:uitd" || e.Kind != "mains_failure" || e.Severity != shouwang.Fault {
		t.Errorf("events %v", kinds(b.Events))
	}
	for _, e := range b.Events {
		if e.Kind == "fire_alarm" {
			t.Errorf("a mains failure raised a fire: %v", kinds(b.Events))
		}
	}
}

// TestPanelSequence reads testdata/panel-sequence.hex, a UITD's report of
// a fire on loop 1 address 23, a fault on loop 2 address 5, an operator's
// reset at the panel and the detectors returning to normal, with
// heartbeats, a gas reading and noise between frames.
func TestPanelSequence(t *testing.T) {
	frames := readFrames(t, "testdata/panel-sequence.hex")
	d, errs := newTestDecoder()
	var b shouwang.Batch
	var replies []byte
	now := time.Date(2026, 11, 24, 8, 15, 10, 0, beijing)
	for _, f := range frames {
		replies = append(replies, d.Feed(f, now, &b)...)
	}
	// Left out: the clears of the conditions a detector does not have,
	// which its first report says.
	var got []string
	reset := false
	for _, e := range b.Events {
		reset = reset || e.Kind == "reset"
		if !shouwang.IsClearKind(e.Kind) || reset {
			got = append(got, e.Device+" "+e.Kind)
		}
	}
	want := []string{
		"88888:1/1/1-23 fire_alarm",
		"88888:1/1/2-5 fault",
		"88888:1/1 reset",
		"88888:1/1/1-23 fire_clear",
		"88888:1/1/2-5 fault_clear",
	}
	if !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
	if len(b.Readings) != 1 || b.Readings[0].Point != "gas" || b.Readings[0].Value != 12.5 || b.Readings[0].Device != "88888:1/1/3-7" {
		t.Errorf("readings %+v", b.Readings)
	}
	if errs[ErrNoise] != 2 || len(errs) != 1 {
		t.Errorf("errors %v, want 2 noise", errs)
	}
	// Every data frame is confirmed: 8 of them (heartbeats included).
	if n := bytes.Count(replies, []byte("##")); n != 8 {
		t.Errorf("%d replies, want 8", n)
	}
	for _, e := range b.Events {
		if e.Kind == "fire_alarm" && e.Message != "火警 1号楼2单元1202厨房" {
			t.Errorf("fire message %q", e.Message)
		}
	}
}

// TestSplitAnywhere feeds the sequence cut at every byte offset: the
// events and replies are the same as fed whole.
func TestSplitAnywhere(t *testing.T) {
	var stream []byte
	for _, f := range readFrames(t, "testdata/panel-sequence.hex") {
		stream = append(stream, f...)
	}
	now := time.Date(2026, 11, 24, 8, 15, 10, 0, beijing)
	d, _ := newTestDecoder()
	var whole shouwang.Batch
	wantReply := append([]byte(nil), d.Feed(stream, now, &whole)...)
	for cut := 1; cut < len(stream); cut++ {
		d, _ := newTestDecoder()
		var b shouwang.Batch
		reply := append([]byte(nil), d.Feed(stream[:cut], now, &b)...)
		reply = append(reply, d.Feed(stream[cut:], now, &b)...)
		if !bytes.Equal(reply, wantReply) || !slices.Equal(kinds(b.Events), kinds(whole.Events)) {
			t.Fatalf("cut at %d: events %v replies %d bytes; whole: %v, %d bytes", cut, kinds(b.Events), len(reply), kinds(whole.Events), len(wantReply))
		}
	}
}

func TestMalformed(t *testing.T) {
	at := time.Date(2026, 11, 24, 8, 15, 0, 0, beijing)
	now := at.Add(5 * time.Second)
	good := sendFrame(7, TypeComponentStatus, at, componentObject(1, 1, 42, 1, 23, 0x0002, "1202", at))
	corrupt := func(f []byte, i int, v byte) []byte {
		f = slices.Clone(f)
		f[i] = v
		return f
	}
	withLen := func(l uint16) []byte { // the header claims l; the checksum is recomputed
		f := slices.Clone(good)
		f[24], f[25] = byte(l), byte(l>>8)
		f[len(f)-3] = checksum(f[2 : len(f)-3])
		return f
	}
	badTime := componentObject(1, 1, 42, 1, 23, 0x0002, "", at)
	copy(badTime[40:], []byte{0, 0, 0, 0, 13, 26})
	ahead := componentObject(1, 1, 42, 1, 23, 0x0002, "", at.Add(48*time.Hour))
	cmd := func(c byte) []byte {
		return AppendFrame(nil, Header{Serial: 9, Version: [2]byte{1, 1}, Source: 889, Dest: 88888, Command: c}, nil)
	}
	cases := []struct {
		name    string
		in      []byte
		errs    errCount
		fires   int // fire_alarm events
		replies int
		denies  int
	}{
		{"noise only", []byte("\x00\xff garbage ## @ noise"), errCount{ErrNoise: 1}, 0, 0, 0},
		// "@@@": the first pair is tried, fails, and the frame is found
		// one byte on.
		{"noise around", cat([]byte("xx@"), good, []byte("yy")), errCount{ErrNoise: 2, ErrBadLength: 1}, 1, 1, 0},
		{"noise around, no stray marker", cat([]byte("xx"), good, []byte("yy")), errCount{ErrNoise: 2}, 1, 1, 0},
		{"bad checksum is not answered", corrupt(good, len(good)-3, good[len(good)-3]+1), errCount{ErrChecksum: 1, ErrNoise: 1}, 0, 0, 0},
		{"flipped data byte", corrupt(good, 40, 'X'), errCount{ErrChecksum: 1, ErrNoise: 1}, 0, 0, 0},
		{"bad end", corrupt(good, len(good)-1, '!'), errCount{ErrBadEnd: 1, ErrNoise: 1}, 0, 0, 0},
		{"length over 1024", cat(withLen(2000), good), errCount{ErrBadLength: 1, ErrNoise: 1}, 1, 1, 0},
		{"length lies short", cat(withLen(10), good), errCount{ErrBadEnd: 1, ErrNoise: 1}, 1, 1, 0},
		{"length lies long, next frame found inside", cat(withLen(600), good), errCount{ErrTruncated: 1}, 1, 1, 0},
		{"truncated then a good frame", cat(good[:40], good), errCount{ErrBadEnd: 1, ErrNoise: 1}, 1, 1, 0},
		{"truncated header then a good frame", cat(good[:20], good), errCount{ErrTruncated: 1}, 1, 1, 0},
		{"unknown command is denied", cmd(0x77), errCount{ErrUnknownCommand: 1}, 0, 1, 1},
		{"a centre's request is denied", cmd(CmdRequest), errCount{ErrUnexpectedCommand: 1}, 0, 1, 1},
		{"confirm and deny need no answer", cat(cmd(CmdConfirm), cmd(CmdDeny)), errCount{}, 0, 0, 0},
		{"heartbeat is confirmed", cmd(CmdSend), errCount{}, 0, 1, 0},
		{"unknown type flag is confirmed", sendFrame(1, 99, at, []byte{1, 2, 3}), errCount{ErrUnknownType: 1}, 0, 1, 0},
		{"software version is confirmed silently", sendFrame(1, 5, at, []byte{1, 1, 2, 3}), errCount{}, 0, 1, 0},
		{"objects that do not fit are denied", sendFrame(1, TypeComponentStatus, at, []byte{1, 2, 3}), errCount{ErrBadADU: 1}, 0, 1, 1},
		{"ADU of one byte is denied", AppendFrame(nil, Header{Command: CmdSend}, []byte{2}), errCount{ErrBadADU: 1}, 0, 1, 1},
		{"bad time label", sendFrame(1, TypeComponentStatus, at, badTime), errCount{ErrBadTime: 1}, 1, 1, 0},
		{"time label two days ahead", sendFrame(1, TypeComponentStatus, at, ahead), errCount{ErrBadTime: 1}, 1, 1, 0},
		{"start markers in the noise", cat([]byte("@@@@@ @@x"), good), errCount{ErrBadEnd: 3, ErrBadLength: 2, ErrNoise: 2}, 1, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, errs := newTestDecoder()
			var b shouwang.Batch
			reply := d.Feed(c.in, now, &b)
			reply = append(slices.Clone(reply), d.Feed(nil, now.Add(frameTimeout), &b)...)
			if !mapsEqual(errs, c.errs) {
				t.Errorf("errors %v, want %v", errs, c.errs)
			}
			fires := 0
			for _, e := range b.Events {
				if e.Kind == "fire_alarm" {
					fires++
					if c.errs[ErrBadTime] > 0 && !e.Time.Equal(now) {
						t.Errorf("bad time label gave time %v, want the receive time", e.Time)
					}
				}
			}
			if fires != c.fires {
				t.Errorf("%d fire alarms, want %d (%v)", fires, c.fires, kinds(b.Events))
			}
			if n := bytes.Count(reply, []byte("##")); n != c.replies {
				t.Errorf("%d replies, want %d", n, c.replies)
			}
			if n := countCommand(reply, CmdDeny); n != c.denies {
				t.Errorf("%d denies, want %d", n, c.denies)
			}
		})
	}
}

// TestTruncatedAtEndTimesOut: the tail of a frame that never comes is
// dropped after frameTimeout, and the stream goes on.
func TestTruncatedAtEndTimesOut(t *testing.T) {
	at := time.Date(2026, 11, 24, 8, 15, 0, 0, beijing)
	good := sendFrame(7, TypeComponentStatus, at, componentObject(1, 1, 42, 1, 23, 0x0002, "", at))
	d, errs := newTestDecoder()
	var b shouwang.Batch
	d.Feed(good[:50], at, &b)
	d.Feed(nil, at.Add(frameTimeout-time.Millisecond), &b)
	if len(errs) != 0 {
		t.Fatalf("timed out early: %v", errs)
	}
	d.Feed(nil, at.Add(frameTimeout), &b)
	if errs[ErrTruncated] != 1 {
		t.Fatalf("errors %v, want one truncated", errs)
	}
	if d.Feed(good, at.Add(frameTimeout), &b) == nil || len(b.Events) == 0 {
		t.Error("the next frame was not read")
	}
}

// TestNoDelimiterBoundsMemory: 10 MB without a start marker, fed in one
// call and in reads, keeps the buffer to a frame or two.
func TestNoDelimiterBoundsMemory(t *testing.T) {
	junk := bytes.Repeat([]byte("0123456789abcdef@"), 10<<20/17)
	d, errs := newTestDecoder()
	var b shouwang.Batch
	now := time.Now()
	d.Feed(junk, now, &b)
	for i := 0; i < len(junk); i += 4096 {
		d.Feed(junk[i:min(i+4096, len(junk))], now, &b)
	}
	if cap(d.buf) > 2*MaxFrame {
		t.Errorf("buffer grew to %d bytes", cap(d.buf))
	}
	if errs[ErrNoise] == 0 || len(b.Events) != 0 {
		t.Errorf("errors %v events %d", errs, len(b.Events))
	}
	// A stream of "@@" with lying lengths is bounded too.
	d.Feed(bytes.Repeat([]byte("@@\xff\xff"), 1<<20), now, &b)
	if cap(d.buf) > 2*MaxFrame {
		t.Errorf("buffer grew to %d bytes", cap(d.buf))
	}
}

func TestAddressNumber(t *testing.T) {
	d := New(Config{ComponentAddress: AddressNumber}, beijing, errCount{}.onError)
	var b shouwang.Batch
	d.Feed(mustHex(t, sampleFire), sampleTime, &b)
	if b.Events[0].Device != "889:1/1/131082" { // 0x0002000A
		t.Errorf("device %q", b.Events[0].Device)
	}
	c := Config{ComponentAddress: "zone"}
	if fe := c.Validate(); len(fe) != 1 || fe[0].Field != "component_address" {
		t.Errorf("Validate = %v", fe)
	}
}

func TestEventKinds(t *testing.T) {
	k := EventKinds()
	for _, want := range []string{"fire_alarm", "fire_clear", "fault", "fault_clear", "reset", "manual_alarm", "mains_failure_clear", "patrol_answer"} {
		if !slices.Contains(k, want) {
			t.Errorf("EventKinds lacks %s: %v", want, k)
		}
	}
	if slices.Contains(k, "reset_clear") {
		t.Error("a one-off event has a clear")
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func mapsEqual(a, b errCount) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// countCommand counts the frames in replies with command cmd.
func countCommand(replies []byte, cmd byte) int {
	n := 0
	for len(replies) >= HeaderSize+TrailerLen {
		l := int(replies[24]) | int(replies[25])<<8
		if replies[26] == cmd {
			n++
		}
		replies = replies[HeaderSize+l+TrailerLen:]
	}
	return n
}

// TestWaitIsPerFrame: a frame that starts waiting after a bad one gets its
// own frameTimeout, not what is left of the bad one's.
func TestWaitIsPerFrame(t *testing.T) {
	at := time.Date(2026, 11, 24, 8, 15, 0, 0, beijing)
	good := sendFrame(7, TypeComponentStatus, at, componentObject(1, 1, 42, 1, 23, 0x0002, "", at))
	bad := slices.Clone(good)
	bad[len(bad)-1] = '!'
	d, errs := newTestDecoder()
	var b shouwang.Batch
	d.Feed(bad[:40], at, &b)
	late := at.Add(frameTimeout - 100*time.Millisecond)
	d.Feed(cat(bad[40:], good[:40]), late, &b) // the bad one ends; the good one begins to wait
	d.Feed(nil, at.Add(frameTimeout), &b)
	if errs[ErrTruncated] != 0 {
		t.Fatalf("the good frame timed out on the bad one's clock: %v", errs)
	}
	if d.Feed(good[40:], at.Add(frameTimeout), &b) == nil || len(b.Events) == 0 {
		t.Errorf("the good frame was not read (errors %v)", errs)
	}
}
