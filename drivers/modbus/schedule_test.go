package modbus

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

var schedT0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

func TestFrameGap(t *testing.T) {
	for _, tc := range []struct {
		baud int
		want time.Duration
	}{
		{1200, 32083334 * time.Nanosecond}, // 38.5e9/1200 = 32083333.3 ns, rounded up
		{9600, 4010417 * time.Nanosecond},  // 4010416.7 ns
		{19200, 2005209 * time.Nanosecond}, // 2005208.3 ns: the last baud timed by characters
		{38400, 1750 * time.Microsecond},   // fixed above 19200
		{115200, 1750 * time.Microsecond},
		{0, 0}, // no serial line
		{-9600, 0},
	} {
		if got := FrameGap(tc.baud); got != tc.want {
			t.Errorf("FrameGap(%d) = %v, want %v", tc.baud, got, tc.want)
		}
	}
}

func TestStateChangeString(t *testing.T) {
	for c, want := range map[StateChange]string{NoChange: "", WentOffline: "offline", CameBack: "online", 9: "change(9)"} {
		if got := c.String(); got != want {
			t.Errorf("StateChange(%d).String() = %q, want %q", c, got, want)
		}
	}
	// The rules clear an offline condition on the kind ClearKind names.
	if got := shouwang.ClearKind(WentOffline.String()); got != CameBack.String() {
		t.Errorf("ClearKind(%q) = %q, but a device coming back reports %q", WentOffline, got, CameBack)
	}
}

// dev is a device to add: its name and interval.
type dev struct {
	name     string
	interval time.Duration
}

func mustSchedule(tb testing.TB, cfg ScheduleConfig, devs ...dev) *BusSchedule {
	tb.Helper()
	s := NewBusSchedule(cfg)
	for _, d := range devs {
		s.Add(d.name, d.interval, schedT0)
	}
	return s
}

// at is an offset from schedT0 for the tables: "1.5s".
func at(t time.Time) string { return t.Sub(schedT0).String() }

// drive runs n polls on s the way a bus owner does: wait for the next
// due, poll for cost(device), report ok(device). It returns each poll as
// "start device".
func drive(s *BusSchedule, n int, cost func(string) time.Duration, ok func(string) bool) []string {
	var polls []string
	now := schedT0
	for range n {
		d, due := s.Next()
		if due.After(now) {
			now = due
		}
		polls = append(polls, at(now)+" "+d)
		now = now.Add(cost(d))
		s.Done(d, now, ok(d))
	}
	return polls
}

func answers(string) bool { return true }

func TestScheduleOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		devs []dev
		cost time.Duration // of every poll
		n    int
		want []string
	}{
		{
			name: "each at its own interval, ties by insertion order",
			devs: []dev{{"c", 3 * time.Second}, {"a", time.Second}, {"b", 2 * time.Second}},
			n:    12,
			want: []string{
				"0s c", "0s a", "0s b",
				"1s a",
				"2s a", "2s b",
				"3s c", "3s a",
				"4s a", "4s b",
				"5s a",
				"6s c",
			},
		},
		{
			name: "same interval staggered by bit reversal",
			devs: []dev{{"d0", 4 * time.Second}, {"d1", 4 * time.Second}, {"d2", 4 * time.Second}, {"d3", 4 * time.Second}, {"x", 3 * time.Second}},
			n:    10,
			want: []string{
				"0s d0", "0s x", "1s d2", "2s d1", "3s d3", "3s x",
				"4s d0", "5s d2", "6s d1", "6s x",
			},
		},
		{
			name: "slow polls run late but keep their slots",
			devs: []dev{{"a", time.Second}, {"b", time.Second}},
			cost: 400 * time.Millisecond,
			n:    6,
			want: []string{
				"0s a", "500ms b", "1s a", "1.5s b", "2s a", "2.5s b",
			},
		},
		{
			name: "an overloaded bus polls round robin as fast as it can",
			devs: []dev{{"a", time.Second}, {"b", time.Second}, {"c", time.Second}},
			cost: 600 * time.Millisecond,
			n:    7,
			want: []string{
				"0s a", "600ms c", "1.2s b", "1.8s a", "2.4s c", "3s b", "3.6s a",
			},
		},
		{
			name: "interval 0 takes what the others leave",
			devs: []dev{{"busy", 0}, {"a", time.Second}},
			cost: 300 * time.Millisecond,
			n:    7,
			want: []string{
				"0s busy", "300ms a", "600ms busy", "900ms busy", "1.2s a", "1.5s busy", "1.8s busy",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSchedule(t, ScheduleConfig{}, tc.devs...)
			got := drive(s, tc.n, func(string) time.Duration { return tc.cost }, answers)
			if !slices.Equal(got, tc.want) {
				t.Errorf("polls\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestScheduleEmpty(t *testing.T) {
	s := NewBusSchedule(ScheduleConfig{})
	if d, due := s.Next(); d != "" || !due.IsZero() {
		t.Errorf("Next() on an empty schedule = %q, %v", d, due)
	}
}

func TestSchedulePanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(s *BusSchedule)
	}{
		{"added twice", func(s *BusSchedule) { s.Add("a", time.Second, schedT0) }},
		{"negative interval", func(s *BusSchedule) { s.Add("b", -time.Second, schedT0) }},
		{"done of a stranger", func(s *BusSchedule) { s.Done("ghost", schedT0, true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSchedule(t, ScheduleConfig{}, dev{"a", time.Second})
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.f(s)
		})
	}
}

// TestNoCatchUpBurst: after a stall the device is next due one interval
// after the poll ends, not at every slot it missed.
func TestNoCatchUpBurst(t *testing.T) {
	for _, tc := range []struct {
		name    string
		doneAt  []time.Duration // when each poll ends, in order
		wantDue []string        // the device's due after each
	}{
		{"on time", []time.Duration{10 * time.Millisecond, 1010 * time.Millisecond}, []string{"1s", "2s"}},
		{"late by less than an interval keeps the grid", []time.Duration{900 * time.Millisecond, 1100 * time.Millisecond}, []string{"1s", "2s"}},
		{"ends exactly when the next is due", []time.Duration{time.Second}, []string{"1s"}},
		{"a ten-second stall", []time.Duration{10500 * time.Millisecond, 11520 * time.Millisecond, 12510 * time.Millisecond}, []string{"11.5s", "12.5s", "13.5s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSchedule(t, ScheduleConfig{}, dev{"a", time.Second})
			for i, off := range tc.doneAt {
				s.Done("a", schedT0.Add(off), true)
				if _, due := s.Next(); at(due) != tc.wantDue[i] {
					t.Errorf("poll %d ended at %v: next due %s, want %s", i, off, at(due), tc.wantDue[i])
				}
			}
		})
	}
}

// outcome is one poll for the state tables: whether the device answered,
// and what Done should say and schedule.
type outcome struct {
	ok      bool
	change  StateChange
	offline bool
	delay   time.Duration // next due - now
}

// checkOutcomes polls device "a" per outs, each poll starting at its due
// and taking 50 ms.
func checkOutcomes(t *testing.T, s *BusSchedule, outs []outcome) {
	t.Helper()
	for i, o := range outs {
		_, due := s.Next()
		now := due.Add(50 * time.Millisecond)
		if c := s.Done("a", now, o.ok); c != o.change {
			t.Errorf("poll %d (ok %v): change %v, want %v", i, o.ok, c, o.change)
		}
		if off := s.byName["a"].offline; off != o.offline {
			t.Errorf("poll %d (ok %v): offline %v, want %v", i, o.ok, off, o.offline)
		}
		if _, next := s.Next(); next.Sub(now) != o.delay {
			t.Errorf("poll %d (ok %v): next due in %v, want %v", i, o.ok, next.Sub(now), o.delay)
		}
	}
}

const (
	next950 = 950 * time.Millisecond // the interval's next slot, 1s after the due of a 50ms poll
)

var (
	answer = outcome{ok: true, delay: next950}
	miss   = outcome{delay: next950}
)

func TestOffline(t *testing.T) {
	wentOffline := func(backoff time.Duration) outcome {
		return outcome{change: WentOffline, offline: true, delay: backoff}
	}
	retry := func(backoff time.Duration) outcome { return outcome{offline: true, delay: backoff} }
	for _, tc := range []struct {
		name     string
		cfg      ScheduleConfig
		interval time.Duration
		outs     []outcome
	}{
		{
			name: "defaults: offline at the third failure",
			outs: []outcome{answer, miss, miss, wentOffline(5 * time.Second)},
		},
		{
			name: "consecutive failures only",
			outs: []outcome{miss, miss, answer, miss, miss, answer, miss, miss, wentOffline(5 * time.Second)},
		},
		{
			name: "offline at the first failure",
			cfg:  ScheduleConfig{FailuresOffline: 1, MinBackoff: 2 * time.Second},
			outs: []outcome{answer, wentOffline(2 * time.Second)},
		},
		{
			name: "offline at the fifth failure",
			cfg:  ScheduleConfig{FailuresOffline: 5},
			outs: []outcome{miss, miss, miss, miss, wentOffline(5 * time.Second)},
		},
		{
			name: "backoff doubles up to the default cap",
			outs: []outcome{
				miss, miss, wentOffline(5 * time.Second),
				retry(10 * time.Second), retry(20 * time.Second), retry(40 * time.Second),
				retry(80 * time.Second), retry(160 * time.Second), retry(5 * time.Minute), retry(5 * time.Minute),
			},
		},
		{
			name: "backoff capped at MaxBackoff",
			cfg:  ScheduleConfig{FailuresOffline: 1, MinBackoff: 3 * time.Second, MaxBackoff: 10 * time.Second},
			outs: []outcome{wentOffline(3 * time.Second), retry(6 * time.Second), retry(10 * time.Second), retry(10 * time.Second)},
		},
		{
			name: "MaxBackoff below MinBackoff is raised to it",
			cfg:  ScheduleConfig{FailuresOffline: 1, MinBackoff: 8 * time.Second, MaxBackoff: time.Second},
			outs: []outcome{wentOffline(8 * time.Second), retry(8 * time.Second)},
		},
		{
			name:     "never retried sooner than its interval",
			cfg:      ScheduleConfig{FailuresOffline: 1},
			interval: time.Minute,
			outs: []outcome{
				wentOffline(time.Minute), retry(time.Minute), retry(time.Minute), retry(time.Minute), retry(80 * time.Second),
			},
		},
		{
			name: "came back: interval again, backoff and failures reset",
			outs: []outcome{
				miss, miss, wentOffline(5 * time.Second), retry(10 * time.Second), retry(20 * time.Second),
				{ok: true, change: CameBack, delay: next950},
				answer, miss, miss, wentOffline(5 * time.Second), retry(10 * time.Second),
			},
		},
		{
			name: "came back then failed once: still online",
			outs: []outcome{miss, miss, wentOffline(5 * time.Second), {ok: true, change: CameBack, delay: next950}, miss, answer},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			interval := tc.interval
			if interval == 0 {
				interval = time.Second
			}
			for i := range tc.outs {
				if tc.outs[i].delay == next950 {
					tc.outs[i].delay = interval - 50*time.Millisecond
				}
			}
			checkOutcomes(t, mustSchedule(t, tc.cfg, dev{"a", interval}), tc.outs)
		})
	}
}

// TestOfflineDoesNotStallOthers: while one device is retried with backoff,
// the others keep their slots.
func TestOfflineDoesNotStallOthers(t *testing.T) {
	s := mustSchedule(t, ScheduleConfig{FailuresOffline: 1, MinBackoff: 2 * time.Second},
		dev{"dead", time.Second}, dev{"live", time.Second})
	cost := func(d string) time.Duration {
		if d == "dead" {
			return 700 * time.Millisecond // the timeout
		}
		return 100 * time.Millisecond
	}
	got := drive(s, 10, cost, func(d string) bool { return d != "dead" })
	want := []string{
		"0s dead", "700ms live", "1.5s live", "2.5s live", "2.7s dead",
		"3.5s live", "4.5s live", "5.5s live", "6.5s live", "7.4s dead",
	}
	if !slices.Equal(got, want) {
		t.Errorf("polls\n got %q\nwant %q", got, want)
	}
}

func TestScheduleDoesNotAllocate(t *testing.T) {
	devs := make([]dev, 32)
	for i := range devs {
		devs[i] = dev{fmt.Sprintf("d%02d", i), time.Duration(1+i%3) * time.Second}
	}
	s := mustSchedule(t, ScheduleConfig{}, devs...)
	var i int
	if n := testing.AllocsPerRun(1000, func() {
		d, due := s.Next()
		i++
		s.Done(d, due.Add(50*time.Millisecond), i%7 != 0)
	}); n != 0 {
		t.Errorf("Next+Done allocates %v times", n)
	}
}

// The simulated RTU bus for the figure. 9600 baud is what RS-485 detector
// buses in existing buildings run at. A poll reads 8 holding registers
// (a gas detector's concentration, status, alarm set-points): an 8-byte
// request and a 5+16 = 21-byte answer. Each frame is followed by
// FrameGap, and the slave takes 5 ms to answer after it has seen the
// request end. One healthy transaction therefore costs
//
//	8 chars (9.17 ms) + gap (4.01 ms) + 5 ms + 21 chars (24.06 ms) + gap (4.01 ms) = 46.25 ms,
//
// and 32 slaves take 1.48 s: polled every 2 s (a common gas detector
// period), the bus is 74% busy, which leaves room for the odd timeout. A
// dead slave costs its request and the 1 s timeout: without backoff a
// cycle needs at least 31*46.25 ms + 1.01 s = 2.44 s, more than 2 s, and
// the healthy slaves' period grows by more than a fifth (2.58 s in the
// simulation); with the backoff the dead slave costs about 20 timeouts
// an hour, and a timeout only delays the slaves behind it by less than
// their interval, which the next slot absorbs.
type busSim struct {
	baud      int
	registers int
	slaves    int
	interval  time.Duration
	answer    time.Duration // slave processing before it answers
	timeout   time.Duration
	dead      int // the dead slave's index; -1 for none
	cfg       ScheduleConfig
	length    time.Duration // simulated
}

var figureBus = busSim{
	baud: 9600, registers: 8, slaves: 32, interval: 2 * time.Second,
	answer: 5 * time.Millisecond, timeout: time.Second, dead: -1, length: time.Hour,
}

// frame is the time n characters take on the wire.
func (b busSim) frame(n int) time.Duration {
	return time.Duration(int64(n) * 11 * int64(time.Second) / int64(b.baud))
}

// healthy and dead are what one transaction costs the bus.
func (b busSim) healthy() time.Duration {
	gap := FrameGap(b.baud)
	return b.frame(8) + gap + b.answer + b.frame(5+2*b.registers) + gap
}

func (b busSim) deadCost() time.Duration { return b.frame(8) + b.timeout }

// run simulates the bus and returns the healthy slaves' mean poll period
// (time between the starts of consecutive polls of one slave, over all of
// them) and how many timeouts the dead slave cost.
func (b busSim) run() (period time.Duration, timeouts int) {
	s := NewBusSchedule(b.cfg)
	names := make([]string, b.slaves)
	index := make(map[string]int, b.slaves)
	for i := range names {
		names[i] = fmt.Sprintf("slave-%03d", i+1)
		index[names[i]] = i
		s.Add(names[i], b.interval, schedT0)
	}
	first := make([]time.Time, b.slaves)
	last := make([]time.Time, b.slaves)
	polls := make([]int, b.slaves)
	healthy, dead := b.healthy(), b.deadCost()
	end := schedT0.Add(b.length)
	for now := schedT0; now.Before(end); {
		d, due := s.Next()
		if due.After(now) {
			now = due // the bus is idle until then
		}
		i := index[d]
		if i == b.dead {
			timeouts++
			now = now.Add(dead)
			s.Done(d, now, false)
			continue
		}
		if polls[i] == 0 {
			first[i] = now
		}
		last[i] = now
		polls[i]++
		now = now.Add(healthy)
		s.Done(d, now, true)
	}
	var span time.Duration
	var gaps int
	for i := range polls {
		if i != b.dead && polls[i] > 1 {
			span += last[i].Sub(first[i])
			gaps += polls[i] - 1
		}
	}
	return span / time.Duration(gaps), timeouts
}

// TestDeadSlaveDoesNotStallBus is the figure: with 32 slaves on one RTU
// bus and one of them dead, the healthy slaves' poll period is within 10%
// of the bus with none dead; and without the backoff it is not, so the
// figure is the backoff's doing.
func TestDeadSlaveDoesNotStallBus(t *testing.T) {
	base, _ := figureBus.run()
	t.Logf("transaction %v, cycle of %d slaves %v; all answer: period %v",
		figureBus.healthy(), figureBus.slaves, time.Duration(figureBus.slaves)*figureBus.healthy(), base)
	if d := math.Abs(base.Seconds()/figureBus.interval.Seconds() - 1); d > 0.001 {
		t.Fatalf("all slaves answer: period %v, want the interval %v: the simulated bus cannot sustain it", base, figureBus.interval)
	}
	for _, tc := range []struct {
		name   string
		dead   int
		cfg    ScheduleConfig
		within bool // the period is within 10% of base
	}{
		{name: "first slave dead", dead: 0, within: true},
		{name: "a middle slave dead", dead: 13, within: true},
		{name: "last slave dead", dead: 31, within: true},
		{name: "offline at the first failure", dead: 13, cfg: ScheduleConfig{FailuresOffline: 1}, within: true},
		{name: "no backoff", dead: 13, cfg: ScheduleConfig{FailuresOffline: math.MaxInt}, within: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := figureBus
			b.dead, b.cfg = tc.dead, tc.cfg
			period, timeouts := b.run()
			ratio := period.Seconds() / base.Seconds()
			t.Logf("one dead: period %v (%.4f of all answering), %d timeouts in %v", period, ratio, timeouts, b.length)
			if within := math.Abs(ratio-1) < 0.10; within != tc.within {
				t.Errorf("period %v with one slave dead, %v with none: ratio %.4f, within 10%% %v, want %v", period, base, ratio, within, tc.within)
			}
			if !tc.within {
				return
			}
			// At most one timeout per backoff period: the failures that
			// take it offline, one per doubling, then one per MaxBackoff.
			cfg := NewBusSchedule(tc.cfg).cfg
			doublings := int(math.Ceil(math.Log2(float64(cfg.MaxBackoff) / float64(cfg.MinBackoff))))
			if most := cfg.FailuresOffline + doublings + int(b.length/cfg.MaxBackoff) + 1; timeouts > most {
				t.Errorf("the dead slave cost %d timeouts, want at most %d", timeouts, most)
			}
		})
	}
}

// BenchmarkBusPeriod simulates an hour of the figure's bus with one dead
// slave per op, and reports the healthy slaves' poll period with none
// dead, with one dead, with one dead and no backoff, and the ratio of the
// second to the first (the figure: below 1.10).
func BenchmarkBusPeriod(b *testing.B) {
	base, _ := figureBus.run()
	noBackoff := figureBus
	noBackoff.dead, noBackoff.cfg = 13, ScheduleConfig{FailuresOffline: math.MaxInt}
	worst, _ := noBackoff.run()
	sim := figureBus
	sim.dead = 13
	var period time.Duration
	for b.Loop() {
		period, _ = sim.run()
	}
	b.ReportMetric(base.Seconds(), "s-period-all-answer")
	b.ReportMetric(period.Seconds(), "s-period-one-dead")
	b.ReportMetric(worst.Seconds(), "s-period-no-backoff")
	b.ReportMetric(period.Seconds()/base.Seconds(), "ratio-one-dead")
}
