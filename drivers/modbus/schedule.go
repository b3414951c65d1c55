package modbus

import (
	"container/heap"
	"fmt"
	"math/bits"
	"time"
)

// Bus scheduling: which device on one bus is polled next, and when. A
// serial port has one owner goroutine, and its transactions are strictly
// sequential, each frame followed by FrameGap of silence. The owner asks
// Next for the earliest due device, waits for its due time on its own
// clock, polls it, and reports the outcome to Done. Each device is polled
// at its own interval. A device that stops answering goes offline and is
// retried with exponential backoff, so a dead slave costs at most one
// timeout per backoff period and never stalls the healthy ones. Everything
// here is pure: no I/O, and time is an argument.

// FrameGap is the silence Modbus RTU requires between frames: 3.5
// character times at baud, a character being 11 bits (start, 8 data,
// parity or a second stop bit, stop), rounded up to the nanosecond; above
// 19200 baud it is a fixed 1.75 ms (Modbus over Serial Line v1.02,
// 2.5.1.1). A baud of 0 or less means no serial line (Modbus TCP, or RTU
// framed over TCP where the converter keeps the gap): no gap.
func FrameGap(baud int) time.Duration {
	switch {
	case baud <= 0:
		return 0
	case baud > 19200:
		return 1750 * time.Microsecond
	}
	// 3.5 * 11 bits / baud seconds = 38.5e9/baud ns = 385e9/(10*baud).
	const num = 35 * 11 * int64(time.Second)
	den := 10 * int64(baud)
	return time.Duration((num + den - 1) / den)
}

// StateChange is what a poll's outcome did to a device's state.
type StateChange uint8

const (
	NoChange    StateChange = iota
	WentOffline             // the FailuresOffline-th consecutive failure
	CameBack                // the first success while offline
)

// String is the change's event kind, "offline" or "online" (see
// shouwang.Event), and "" for NoChange.
func (c StateChange) String() string {
	switch c {
	case NoChange:
		return ""
	case WentOffline:
		return "offline"
	case CameBack:
		return "online"
	}
	return fmt.Sprintf("change(%d)", uint8(c))
}

// ScheduleConfig says when a device that stops answering is given up on
// and how often it is retried. Zero fields take the defaults.
type ScheduleConfig struct {
	FailuresOffline int           // consecutive failures that mark a device offline; default 3
	MinBackoff      time.Duration // first retry delay once offline; default 5s
	MaxBackoff      time.Duration // cap of the doubling; default 5m, raised to MinBackoff if below it
}

const (
	defaultFailuresOffline = 3
	defaultMinBackoff      = 5 * time.Second
	defaultMaxBackoff      = 5 * time.Minute
)

// BusSchedule decides which device on one bus is polled next. It is not
// safe for concurrent use: the bus's single owner goroutine drives it.
type BusSchedule struct {
	cfg    ScheduleConfig
	byName map[string]*slot
	queue  queue
	// added counts the devices added per interval, for the stagger.
	added map[time.Duration]uint32
	seq   int
}

// slot is one device's place in the schedule.
type slot struct {
	name     string
	interval time.Duration
	due      time.Time
	seq      int // insertion order, to break ties in due
	pos      int // index in the queue
	fails    int // consecutive failures
	offline  bool
	backoff  time.Duration // the delay of the last retry while offline
}

// NewBusSchedule returns an empty schedule.
func NewBusSchedule(cfg ScheduleConfig) *BusSchedule {
	if cfg.FailuresOffline <= 0 {
		cfg.FailuresOffline = defaultFailuresOffline
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = defaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = defaultMaxBackoff
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	return &BusSchedule{cfg: cfg, byName: map[string]*slot{}, added: map[time.Duration]uint32{}}
}

// Add schedules device, to be polled every interval; an interval of 0
// polls it whenever the bus has nothing earlier due. The first polls of
// devices with the same interval are spread across it: the k-th such
// device (counting from 0) is first due at now + interval*r(k), where r is
// the bit-reversal sequence 0, 1/2, 1/4, 3/4, 1/8, ..., so any number of
// them is spread evenly without knowing how many will come (32 devices
// every 2 s are due 62.5 ms apart). A device is thus first read within
// one interval, and a late poll on a busy bus catches up on the next
// rather than shifting every later one. Add panics on a device already
// added or a negative interval: the config loader rejects both.
func (s *BusSchedule) Add(device string, interval time.Duration, now time.Time) {
	if _, ok := s.byName[device]; ok {
		panic(fmt.Sprintf("modbus: device %q added to a bus schedule twice", device))
	}
	if interval < 0 {
		panic(fmt.Sprintf("modbus: device %q: negative poll interval %v", device, interval))
	}
	k := s.added[interval]
	s.added[interval] = k + 1
	sl := &slot{name: device, interval: interval, due: now.Add(stagger(interval, k)), seq: s.seq}
	s.seq++
	s.byName[device] = sl
	heap.Push(&s.queue, sl)
}

// stagger is interval*r(k), r(k) being k's 32 bits reversed as a binary
// fraction.
func stagger(interval time.Duration, k uint32) time.Duration {
	hi, _ := bits.Mul64(uint64(interval), uint64(bits.Reverse32(k))<<32)
	return time.Duration(hi)
}

// Next is the device due earliest and when it is due, which may already
// have passed; ties go to the device added first. It is "" when the
// schedule is empty.
func (s *BusSchedule) Next() (device string, due time.Time) {
	if len(s.queue) == 0 {
		return "", time.Time{}
	}
	return s.queue[0].name, s.queue[0].due
}

// Done records the outcome of polling device, finished at now, and
// reschedules it. It returns the device's state change, if any, for the
// caller to log once and to publish as an event of kind change.String().
//
// A device that is online is next due one interval after it was due, or
// one interval after now if that has already passed (a stalled bus or a
// slow poll): a late device is not polled in a burst to catch up. A
// failure does not change that until FailuresOffline consecutive
// failures, when the device goes offline and is retried after MinBackoff,
// the delay doubling with each further failure up to MaxBackoff (but never
// sooner than its interval). A success while offline brings it back to
// its interval and resets the backoff. Done panics on a device never
// added.
func (s *BusSchedule) Done(device string, now time.Time, ok bool) StateChange {
	sl := s.byName[device]
	if sl == nil {
		panic(fmt.Sprintf("modbus: device %q is not on this bus schedule", device))
	}
	change := NoChange
	switch {
	case ok:
		if sl.offline {
			change = CameBack
		}
		sl.fails, sl.offline, sl.backoff = 0, false, 0
	case sl.offline:
		sl.backoff = min(2*sl.backoff, s.cfg.MaxBackoff)
	default:
		sl.fails++
		if sl.fails >= s.cfg.FailuresOffline {
			change = WentOffline
			sl.offline, sl.backoff = true, s.cfg.MinBackoff
		}
	}
	if sl.offline {
		sl.due = now.Add(max(sl.backoff, sl.interval))
	} else if sl.due = sl.due.Add(sl.interval); sl.due.Before(now) {
		sl.due = now.Add(sl.interval)
	}
	heap.Fix(&s.queue, sl.pos)
	return change
}

// queue is a min-heap of slots by due time, then insertion order.
type queue []*slot

func (q queue) Len() int { return len(q) }

func (q queue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}

func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].pos, q[j].pos = i, j
}

func (q *queue) Push(x any) {
	sl := x.(*slot)
	sl.pos = len(*q)
	*q = append(*q, sl)
}

func (q *queue) Pop() any {
	old := *q
	sl := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return sl
}
