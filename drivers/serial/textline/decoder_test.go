package textline

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/serial/stream"
)

// capture is a recorded printer output and what it should read as.
type capture struct {
	name   string
	file   string
	config func() Config
	now    time.Time
	events []shouwang.Event
	errs   []string
}

func captures() []capture {
	gstAt := func(hms string) time.Time {
		t, err := time.ParseInLocation(gstLayout, "2026-11-24 "+hms, cst)
		if err != nil {
			panic(err)
		}
		return t
	}
	const (
		l1 = "2026-11-24 08:15:03 火警 1回路023号 点型光电感烟 3号楼2单元1202"
		l2 = "2026-11-24 08:15:41 火警 1回路024号 点型光电感烟 3号楼2单元1203"
		l3 = "2026-11-24 08:16:10 故障 2回路105号 手动报警按钮 3号楼1层东侧"
		l4 = "2026-11-24 08:20:00 火警恢复 1回路023号 点型光电感烟 3号楼2单元1202"
		l5 = "2026-11-24 08:21:15 故障恢复 2回路105号 手动报警按钮 3号楼1层东侧"
		l6 = "2026-11-24 08:25:00 复位"
		l7 = "2026-11-24 09:02:33 主电故障"
		l8 = "2026-11-24 09:40:10 主电恢复"

		s1 = "0001 火警     001-023   11/24 08:15  感烟 3#楼2单元1202"
		s2 = "0002 故障     002-105   11/24 08:16  手报 3#楼1层东侧"
		s3 = "0003 火警消除 001-023   11/24 08:20  感烟 3#楼2单元1202"
		s4 = "0004 系统复位           11/24 08:25"
		s5 = "0005 屏蔽     004-011   11/24 08:31  感温 地下车库B区"
		s6 = "0006 火警     001-031   12/31 23:59  感烟 5#楼1单元101"
	)
	sjAt := func(y int, mon time.Month, d, h, m int) time.Time { return time.Date(y, mon, d, h, m, 0, 0, cst) }
	return []capture{{
		name: "GST200 in GB18030", file: "gst-printer-gb18030.txt", config: gstConfig,
		now: time.Date(2026, 11, 24, 10, 0, 0, 0, cst),
		events: []shouwang.Event{
			ev("1-23", "fire_alarm", shouwang.Fire, "点型光电感烟 3号楼2单元1202", gstAt("08:15:03"), l1),
			ev("1-24", "fire_alarm", shouwang.Fire, "点型光电感烟 3号楼2单元1203", gstAt("08:15:41"), l2),
			ev("2-105", "fault", shouwang.Fault, "手动报警按钮 3号楼1层东侧", gstAt("08:16:10"), l3),
			ev("1-23", "fire_clear", shouwang.Info, "点型光电感烟 3号楼2单元1202", gstAt("08:20:00"), l4),
			ev("2-105", "fault_clear", shouwang.Info, "手动报警按钮 3号楼1层东侧", gstAt("08:21:15"), l5),
			ev("", stream.Reset, shouwang.Info, l6, gstAt("08:25:00"), l6),
			ev("", "mains_fault", shouwang.Fault, l7, gstAt("09:02:33"), l7),
			ev("", "mains_fault_clear", shouwang.Info, l8, gstAt("09:40:10"), l8),
		},
		errs: []string{
			"unmatched: ********************************",
			"unmatched:   GST200 火灾报警控制器(联动型)",
			"unmatched:   海湾安全技术有限公司",
			"unmatched: ********************************",
			"unmatched: 打印时间: 2026-11-24 08:00:00",
			"unmatched: --------------------------------",
			"unknown_kind: 2026-11-24 08:16:12 启动 3回路008号 声光警报器 3号楼2单元",
			"unmatched: --------------------------------",
		},
	}, {
		// Read on New Year's Day: lines without a year are last year's.
		name: "UTF-8 without a year", file: "sanjiang-printer-utf8.txt", config: sanjiangConfig,
		now: time.Date(2027, 1, 1, 0, 5, 0, 0, cst),
		events: []shouwang.Event{
			ev("1-23", "fire_alarm", shouwang.Fire, "感烟 3#楼2单元1202", sjAt(2026, 11, 24, 8, 15), s1),
			ev("2-105", "fault", shouwang.Fault, "手报 3#楼1层东侧", sjAt(2026, 11, 24, 8, 16), s2),
			ev("1-23", "fire_clear", shouwang.Info, "感烟 3#楼2单元1202", sjAt(2026, 11, 24, 8, 20), s3),
			ev("", stream.Reset, shouwang.Info, s4, sjAt(2026, 11, 24, 8, 25), s4),
			ev("4-11", "disabled", shouwang.Fault, "感温 地下车库B区", sjAt(2026, 11, 24, 8, 31), s5),
			ev("1-31", "fire_alarm", shouwang.Fire, "感烟 5#楼1单元101", sjAt(2026, 12, 31, 23, 59), s6),
		},
		errs: []string{
			"unmatched: 泛海三江 JB-QB-9000 事件记录",
			"unmatched: 序号 类型     地址      时间         描述",
		},
	}}
}

func TestFeedCapture(t *testing.T) {
	for _, tc := range captures() {
		t.Run(tc.name, func(t *testing.T) {
			data := mustRead(t, tc.file)
			check := func(how string, events []shouwang.Event, errs []string) {
				t.Helper()
				if d := diffEvents(events, tc.events); d != "" {
					t.Fatalf("%s: events differ:\n%s", how, d)
				}
				if !slices.Equal(errs, tc.errs) {
					t.Fatalf("%s: errors\n%q\nwant\n%q", how, errs, tc.errs)
				}
			}
			events, errs := feed(t, tc.config(), tc.now, data)
			check("at once", events, errs)

			for i := range len(data) + 1 {
				events, errs := feed(t, tc.config(), tc.now, data[:i], data[i:])
				check("split at "+strconv.Itoa(i), events, errs)
			}

			var bytewise [][]byte
			for i := range data {
				bytewise = append(bytewise, data[i:i+1])
			}
			events, errs = feed(t, tc.config(), tc.now, bytewise...)
			check("byte by byte", events, errs)
		})
	}
}

// TestCaptureIsGB18030 makes sure the capture is what the panel sends, not
// UTF-8 by mistake.
func TestCaptureIsGB18030(t *testing.T) {
	data := mustRead(t, "gst-printer-gb18030.txt")
	if !bytes.Contains(data, gb(t, "火警 1回路023号")) || bytes.Contains(data, []byte("火警")) {
		t.Fatal("testdata/gst-printer-gb18030.txt is not GB18030")
	}
	if !bytes.Contains(data, []byte("\r\n")) {
		t.Fatal("testdata/gst-printer-gb18030.txt lost its \\r\\n line ends")
	}
}

func TestFeedMalformed(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, cst)
	at := time.Date(2026, 11, 24, 8, 15, 3, 0, cst)
	const fire = "2026-11-24 08:15:03 火警 1回路023号 感烟 1202"
	fireEvent := ev("1-23", "fire_alarm", shouwang.Fire, "感烟 1202", at, fire)
	long := strings.Repeat("x", 512)
	for _, tc := range []struct {
		name   string
		utf8   bool
		feeds  []string // UTF-8 text, encoded as the config says; \xff stays a byte
		events []shouwang.Event
		errs   []string
	}{
		{name: "crlf and lf", feeds: []string{fire + "\r\n" + fire + "\n"}, events: []shouwang.Event{fireEvent, fireEvent}},
		{name: "line waits for its newline", feeds: []string{fire}},
		{name: "line completed later", feeds: []string{fire, "", "\r", "\n"}, events: []shouwang.Event{fireEvent}},
		{name: "blank lines", feeds: []string{"\n\r\n\f\r\n   \t\r\n\x00\x00\n"}},
		{name: "garbage", feeds: []string{"\xff\x00zz\n"}, errs: []string{"bad_encoding: \xff\x00zz", "unmatched: \uFFFD\x00zz"}},
		{name: "invalid GB18030 in a fire alarm", feeds: []string{"2026-11-24 08:15:03 火警 1回路023号 \xff感烟 1202\n"},
			events: []shouwang.Event{ev("1-23", "fire_alarm", shouwang.Fire, "\uFFFD感烟 1202", at, "2026-11-24 08:15:03 火警 1回路023号 \uFFFD感烟 1202")},
			errs:   []string{"bad_encoding: <raw>"}},
		{name: "invalid UTF-8", utf8: true, feeds: []string{"0001 火警     001-023   11/24 08:15  感烟\xff\n"},
			events: []shouwang.Event{ev("1-23", "fire_alarm", shouwang.Fire, "感烟\uFFFD", time.Date(2026, 11, 24, 8, 15, 0, 0, cst), "0001 火警     001-023   11/24 08:15  感烟\uFFFD")},
			errs:   []string{"bad_encoding: 0001 火警     001-023   11/24 08:15  感烟\xff"}},
		{name: "UTF-8 read as GB18030", feeds: []string{"<utf8>" + fire + "\n"}, errs: []string{"bad_encoding: <raw>", "unmatched: <any>"}},
		{name: "bad time", feeds: []string{"2026-13-45 08:15:03 火警 1回路023号 感烟\n"},
			events: []shouwang.Event{ev("1-23", "fire_alarm", shouwang.Fire, "感烟", now, "2026-13-45 08:15:03 火警 1回路023号 感烟")},
			errs:   []string{"bad_time: 2026-13-45 08:15:03 火警 1回路023号 感烟"}},
		{name: "unknown kind", feeds: []string{"2026-11-24 08:15:03 联动 1回路023号 x\n" + fire + "\n"},
			events: []shouwang.Event{fireEvent}, errs: []string{"unknown_kind: 2026-11-24 08:15:03 联动 1回路023号 x"}},
		{name: "no description", feeds: []string{"2026-11-24 08:15:03 火警 1回路023号\n"},
			events: []shouwang.Event{ev("1-23", "fire_alarm", shouwang.Fire, "2026-11-24 08:15:03 火警 1回路023号", at, "2026-11-24 08:15:03 火警 1回路023号")}},
		{name: "max_line bytes", feeds: []string{long + "\r\n"}, errs: []string{"unmatched: " + long}},
		{name: "overlong", feeds: []string{long + "y\n" + fire + "\n"}, events: []shouwang.Event{fireEvent}, errs: []string{"overlong: " + long}},
		{name: "overlong with crlf", feeds: []string{long + "y\r\n" + fire + "\r\n"}, events: []shouwang.Event{fireEvent}, errs: []string{"overlong: " + long}},
		{name: "overlong across feeds", feeds: []string{long[:300], long[300:] + "yyy", "zzz", "\n" + fire + "\n"},
			events: []shouwang.Event{fireEvent}, errs: []string{"overlong: " + long}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := gstConfig()
			if tc.utf8 {
				c = sanjiangConfig()
			}
			var chunks [][]byte
			var raw []byte
			for _, f := range tc.feeds {
				var p []byte
				switch {
				case tc.utf8:
					p = []byte(f)
				case strings.HasPrefix(f, "<utf8>"):
					p = []byte(strings.TrimPrefix(f, "<utf8>"))
				default:
					// Encode the valid runs; keep \xff as the byte it is.
					for i, run := range strings.Split(f, "\xff") {
						if i > 0 {
							p = append(p, 0xff)
						}
						p = append(p, gb(t, run)...)
					}
				}
				chunks = append(chunks, p)
				raw = append(raw, p...)
			}
			events, errs := feed(t, c, now, chunks...)
			if d := diffEvents(events, tc.events); d != "" {
				t.Errorf("events differ:\n%s", d)
			}
			want := slices.Clone(tc.errs)
			for i, w := range want {
				switch {
				case w == "bad_encoding: <raw>":
					want[i] = "bad_encoding: " + string(bytes.TrimRight(raw, "\r\n"))
				case strings.HasSuffix(w, "<any>") && i < len(errs):
					want[i] = errs[i]
				}
			}
			if !slices.Equal(errs, want) {
				t.Errorf("errors\n%q\nwant\n%q", errs, want)
			}
		})
	}
}

// TestFeedNoNewline feeds 10 MB without a newline: the decoder keeps no
// more than a line, counts one overlong line, and reads the next line.
func TestFeedNoNewline(t *testing.T) {
	var r recorder
	d := New(gstConfig(), cst, r.add)
	var b shouwang.Batch
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, cst)
	noise := bytes.Repeat([]byte{'x', 0xb0, 0xa1, '\r'}, 16<<10) // 64 KiB
	for range 160 {
		d.Feed(noise, now, &b)
		checkBounded(t, d)
	}
	d.Feed(bytes.Repeat(noise, 160), now, &b) // 10 MB at once
	checkBounded(t, d)
	if len(r.errs) != 1 || !strings.HasPrefix(r.errs[0], "overlong: ") || len(r.errs[0]) != len("overlong: ")+512 {
		t.Fatalf("errors %.200q, want one overlong line", r.errs)
	}
	if len(b.Events) != 0 {
		t.Fatalf("events from noise: %v", b.Events)
	}
	d.Feed(append([]byte("\n"), gb(t, "2026-11-24 08:25:00 复位\r\n")...), now, &b)
	if len(b.Events) != 1 || b.Events[0].Kind != stream.Reset || len(r.errs) != 1 {
		t.Fatalf("after the noise: events %v, errors %.200q", b.Events, r.errs)
	}
}

func TestYearless(t *testing.T) {
	c := sanjiangConfig()
	for _, tc := range []struct {
		now  time.Time
		line string
		want time.Time
	}{
		{time.Date(2026, 11, 24, 9, 0, 0, 0, cst), "11/24 08:15", time.Date(2026, 11, 24, 8, 15, 0, 0, cst)},
		// The panel's clock runs a little ahead: still this year.
		{time.Date(2026, 11, 24, 9, 0, 0, 0, cst), "11/25 08:15", time.Date(2026, 11, 25, 8, 15, 0, 0, cst)},
		{time.Date(2027, 1, 1, 0, 1, 0, 0, cst), "12/31 23:59", time.Date(2026, 12, 31, 23, 59, 0, 0, cst)},
		{time.Date(2026, 12, 31, 23, 59, 0, 0, cst), "01/01 00:01", time.Date(2026, 1, 1, 0, 1, 0, 0, cst)},
		// now in UTC is still 2026 while the panel's clock is in 2027.
		{time.Date(2026, 12, 31, 16, 30, 0, 0, time.UTC), "01/01 00:20", time.Date(2027, 1, 1, 0, 20, 0, 0, cst)},
	} {
		line := "0001 火警     001-023   " + tc.line + "  感烟\n"
		events, errs := feed(t, c, tc.now, []byte(line))
		if len(events) != 1 || len(errs) != 0 {
			t.Fatalf("%s: events %v, errors %q", tc.line, events, errs)
		}
		if !events[0].Time.Equal(tc.want) {
			t.Errorf("%s at %v: time %v, want %v", tc.line, tc.now, events[0].Time, tc.want)
		}
	}
}

// TestAddressTemplate checks a template of one group and a group that
// takes no part in the match.
func TestAddressTemplate(t *testing.T) {
	c := gstConfig()
	c.Address = "L{loop}/{address}"
	c.Patterns[0].Match = `^(?P<time>\S+ \S+) (?P<kind>\S+) (?:(?P<loop>\d+)回路)?(?P<address>\w+)号`
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, cst)
	events, errs := feed(t, c, now, gb(t, "2026-11-24 08:15:03 火警 2回路0007号\n2026-11-24 08:15:03 火警 00A3号\n"))
	if len(errs) != 0 || len(events) != 2 {
		t.Fatalf("events %v, errors %q", events, errs)
	}
	if events[0].Device != "L2/7" || events[1].Device != "L/00A3" || events[1].Attrs["loop"] != "" {
		t.Errorf("devices %q and %q (attrs %v)", events[0].Device, events[1].Device, events[1].Attrs)
	}
}

// TestFeedAllocs checks that lines that raise nothing allocate nothing,
// and an event only what it holds.
func TestFeedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	d := New(gstConfig(), cst, nil)
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, cst)
	var b shouwang.Batch
	b.Events = make([]shouwang.Event, 0, 1000)
	header := gb(t, "打印时间: 2026-11-24 08:00:00\r\n--------------------------------\r\n\r\n")
	if n := testing.AllocsPerRun(100, func() { d.Feed(header, now, &b) }); n != 0 {
		t.Errorf("%v allocations for lines that raise nothing", n)
	}
	fire := gb(t, "2026-11-24 08:15:03 火警 1回路023号 点型光电感烟 3号楼2单元1202\r\n")
	n := testing.AllocsPerRun(100, func() {
		b.Events = b.Events[:0]
		d.Feed(fire, now, &b)
	})
	// The line, the device address, the attributes' map, and the
	// regexp's match indexes.
	if n > 5 {
		t.Errorf("%v allocations for a fire alarm", n)
	}
}

// TestOptionalTime checks that a time group that takes no part in the
// match times the line when it is read, without an error.
func TestOptionalTime(t *testing.T) {
	c := gstConfig()
	c.Patterns[1].Match = `^(?:(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s+)?(?P<kind>复位)$`
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, cst)
	events, errs := feed(t, c, now, gb(t, "复位\n"))
	if len(errs) != 0 || len(events) != 1 || !events[0].Time.Equal(now) || events[0].Device != stream.PanelAddress {
		t.Fatalf("events %v, errors %q", events, errs)
	}
}
