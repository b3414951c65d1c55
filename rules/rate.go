package rules

import (
	"math"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// A rate rule raises when a value has risen by at least Rise (in the
// point's unit) within Window: when the current reading is Rise or more
// above the lowest reading of the last Window, that reading included (a
// reading exactly Window old still counts). It returns to normal when a
// reading is less than Rise above that minimum, the rule's off_delay
// applying; like a threshold it changes on readings only, so a device that
// falls silent keeps its condition (a stale rule watches for silence). The
// severity is the rule's, alarm when it gives none; the level is "rate".
//
// Time is the engine's clock, the now passed with each reading, never
// Reading.Time. A step back in time starts the history over: no rise is
// claimed across it.
//
// Each device keeps a fixed ring of rateRing buckets, allocated with the
// checker. A reading opens a new bucket when it comes at least
// Window/(rateRing-2) after the newest bucket opened, and otherwise is
// merged into the newest one, which keeps the minimum of its readings and
// the time of its latest. A bucket leaves the window once its latest
// reading is older than Window. So a device whose readings come at least
// Window/(rateRing-2) apart (at most 62 a window) is judged on every
// reading exactly; one that reports faster is judged on per-bucket minima
// (a 1 m window at 10 readings a second keeps one bucket a second): no dip
// is lost, and the
// window is at most Window/(rateRing-2) longer than asked (1.6 %), erring
// towards the alarm. Buckets open at least Window/(rateRing-2) apart and
// each spans less than that, so the ring never overflows; were it full
// anyway, the reading would be merged into the newest bucket.
//
// An alarm restored after a restart holds until a reading comes Window or
// more after the first reading since the restart: the window is not
// journaled, and one holding less than Window of readings is no evidence
// of normal. From then on the window holds every reading a never-restarted
// engine's would, and the rule judges as usual. A step back in time starts
// the wait over.
func init() {
	register(TypeRate, ruleType{
		validate:   validateRate,
		newChecker: newRate,
		points:     func(r *Rule) []string { return []string{r.Point} },
	})
}

func validateRate(r *Rule, fe *shouwang.FieldErrors) {
	if r.Point == "" {
		fe.Add("point", "must name the point to watch (e.g. temperature)")
	}
	if !(r.Rise > 0) || math.IsInf(r.Rise, 0) {
		fe.Add("rise", "%g is not a rise (want a positive amount in the point's unit, e.g. 8 for 8 °C)", r.Rise)
	}
	if r.Window <= 0 {
		fe.Add("window", "%s is not a window (want a positive duration, e.g. 1m)", r.Window)
	}
}

// rateRing is how many buckets of recent readings a rate rule keeps per
// device.
const rateRing = 64

// riseSlack, relative to Rise, absorbs rounding: 0.1 then 0.3 is a rise of
// 0.2 although 0.3-0.1 < 0.2 in floating point.
const riseSlack = 1e-9

type rateBucket struct {
	start, end time.Duration // first and latest reading, after base
	min        float64
}

type rate struct {
	point    string
	severity shouwang.Severity
	rise     float64
	window   time.Duration
	span     time.Duration // a bucket's width

	started bool
	base    time.Time // times are kept as offsets from the first reading
	ring    [rateRing]rateBucket
	head, n int // oldest bucket, bucket count

	hold     rateHold
	holdFrom time.Duration // the first reading of the restored wait, after base
}

// rateHold is where a rate rule is in holding a restored alarm.
type rateHold uint8

const (
	rateJudge   rateHold = iota // as usual
	rateRestore                 // restored, no reading since
	rateFill                    // restored, filling the window from holdFrom
)

func newRate(r *Rule, _ *shouwang.Device) checker {
	return &rate{point: r.Point, severity: severityOr(r.Severity, shouwang.Alarm), rise: r.Rise,
		window: r.Window, span: r.Window / (rateRing - 2)}
}

func (x *rate) bucket(i int) *rateBucket { return &x.ring[(x.head+i)%rateRing] }

func (x *rate) reading(r *shouwang.Reading, now time.Time) cond {
	if !x.started {
		x.started, x.base = true, now
	}
	t, v := now.Sub(x.base), r.Value
	back := x.n > 0 && t < x.bucket(x.n-1).end
	if back {
		x.n = 0 // time went back
	}
	for x.n > 0 && x.bucket(0).end < t-x.window {
		x.head = (x.head + 1) % rateRing
		x.n--
	}
	if x.n > 0 && (t-x.bucket(x.n-1).start < x.span || x.n == rateRing) {
		b := x.bucket(x.n - 1)
		b.min, b.end = min(b.min, v), t
	} else {
		*x.bucket(x.n) = rateBucket{start: t, end: t, min: v}
		x.n++
	}
	lo := v
	for i := range x.n {
		lo = min(lo, x.bucket(i).min)
	}
	rising := v-lo >= x.rise*(1-riseSlack)
	if x.hold != rateJudge {
		if x.hold == rateRestore || back {
			x.hold, x.holdFrom = rateFill, t
		}
		if t-x.holdFrom >= x.window {
			x.hold = rateJudge
		} else {
			rising = true // not yet a full window: the restored alarm holds
		}
	}
	if rising {
		return cond{active: true, severity: x.severity, level: TypeRate, point: x.point, value: v}
	}
	return cond{point: x.point, value: v}
}

func (x *rate) restore(cond, time.Time) { x.hold = rateRestore }

func (x *rate) event(*shouwang.Event, time.Time) (cond, bool) { return cond{}, false }
func (x *rate) tick(time.Time) (cond, bool)                   { return cond{}, false }
