package modbus

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// Poll planning: which reads a device gets each cycle. Points of one table
// are coalesced into the fewest reads the protocol, the device and the
// configured gap allow, and reads the device refuses with exception 2
// (illegal data address) are split and the split remembered. Everything
// here is pure: no I/O, no clock, the same input gives the same plan.

// The protocol's limits on one read (Modbus Application Protocol v1.1b3,
// functions 1 to 4).
const (
	protocolMaxRegisters = 125
	protocolMaxBits      = 2000
)

// Limits bound the requests a plan makes.
type Limits struct {
	MaxRegisters uint16 // per read of a register table; 0 = 125 (the protocol's)
	MaxBits      uint16 // per read of a bit table; 0 = 2000
	// MaxGap is how many unread entries (registers or bits) a request may
	// bridge to join two points; 0 = none, only adjacent or overlapping
	// points share a read.
	MaxGap uint16
}

// per is the most entries one read of table t may cover.
func (l Limits) per(t Table) int {
	if t.Bits() {
		if l.MaxBits == 0 {
			return protocolMaxBits
		}
		return int(l.MaxBits)
	}
	if l.MaxRegisters == 0 {
		return protocolMaxRegisters
	}
	return int(l.MaxRegisters)
}

// Request is one read: a table, a start address and a count, and the
// points (indexes into the plan's points) it serves, in address order.
type Request struct {
	Table  Table
	Start  uint16
	Count  uint16
	Points []int
}

// extent is the entries lo..hi-1 of one table; int, so that hi can be
// 65536.
type extent struct{ lo, hi int }

func (e extent) contains(o extent) bool { return e.lo <= o.lo && o.hi <= e.hi }

// interval is the entries one or more points cover. Points that cover the
// same entries (u16 and i16 views of a register, the bits of one register)
// are one interval: they are always read together.
type interval struct {
	extent
	points []int // ascending
}

// group is the intervals first..last-1 of a table that one request serves.
type group struct {
	table       Table
	first, last int
}

// PollPlan is a device's reads for one poll cycle. Build it with
// NewPollPlan, read Requests each cycle, and call Split when the device
// answers a request with exception 2. A PollPlan is not safe for
// concurrent use.
type PollPlan struct {
	lim       Limits
	intervals [InputRegisters + 1][]interval // by table, sorted by lo then hi
	// apart holds, by table, the address ranges known not to be readable
	// together: no request may cover all of one of them.
	apart    [InputRegisters + 1][]extent
	requests []Request
	groups   []group // parallel to requests
	// words holds a request's registers while Poll decodes them; kept
	// here, not on Poll's stack, because Poll hands them to a RawWords
	// (the escape would cost an allocation every poll).
	words [protocolMaxRegisters + 1]uint16
}

// NewPollPlan plans the reads of points within lim. Points may overlap
// (two views of one register, the bits of a register); the plan reads
// every entry they share once.
//
// It returns an error naming every point that cannot be read: an unknown
// table, a point that covers no entries (a String of Length 0, an unknown
// type), one wider than the limit of one read, or one that runs past
// address 65535; and for a MaxRegisters over 125 or a MaxBits over 2000.
func NewPollPlan(points []Point, lim Limits) (*PollPlan, error) {
	if err := validate(points, lim); err != nil {
		return nil, err
	}
	p := &PollPlan{lim: lim}
	order := make([]int, len(points))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		a, b := &points[i], &points[j]
		return cmp.Or(
			cmp.Compare(a.Table, b.Table),
			cmp.Compare(a.Address, b.Address),
			cmp.Compare(a.Span(), b.Span()),
			cmp.Compare(i, j),
		)
	})
	for _, i := range order {
		pt := &points[i]
		e := extent{int(pt.Address), int(pt.Address) + int(pt.Span())}
		ivs := p.intervals[pt.Table]
		if n := len(ivs); n > 0 && ivs[n-1].extent == e {
			ivs[n-1].points = append(ivs[n-1].points, i)
			continue
		}
		p.intervals[pt.Table] = append(ivs, interval{e, []int{i}})
	}
	p.rebuild()
	return p, nil
}

// validate reports every point and limit that no plan can serve.
func validate(points []Point, lim Limits) error {
	var errs []error
	if lim.MaxRegisters > protocolMaxRegisters {
		errs = append(errs, fmt.Errorf("max registers per read is %d, over the protocol's %d", lim.MaxRegisters, protocolMaxRegisters))
	}
	if lim.MaxBits > protocolMaxBits {
		errs = append(errs, fmt.Errorf("max bits per read is %d, over the protocol's %d", lim.MaxBits, protocolMaxBits))
	}
	for i := range points {
		pt := &points[i]
		if pt.Table < Coils || pt.Table > InputRegisters {
			errs = append(errs, fmt.Errorf("point %q: unknown table %s", pt.Name, pt.Table))
			continue
		}
		span := int(pt.Span())
		unit := "registers"
		if pt.Table.Bits() {
			unit = "bits"
		}
		switch {
		case span == 0 && pt.Type == String:
			errs = append(errs, pt.errorf("a string of length 0 reads nothing"))
		case span == 0:
			errs = append(errs, pt.errorf("unknown data type %s", pt.Type))
		case span > lim.per(pt.Table):
			errs = append(errs, pt.errorf("%s of %d %s is wider than the %d %s one read may take", pt.Type, span, unit, lim.per(pt.Table), unit))
		case int(pt.Address)+span > 1<<16:
			errs = append(errs, pt.errorf("%s of %d %s runs past address 65535", pt.Type, span, unit))
		}
	}
	return errors.Join(errs...)
}

// Requests is the plan's reads, in table then address order (a point read
// alone because its own entries were refused may start where the read
// before it starts). The slice and its contents belong to the plan and
// must not be modified; Split builds a new slice, so one returned earlier
// stays as it was.
func (p *PollPlan) Requests() []Request { return p.requests }

// rebuild plans every table again from its intervals, the limits and the
// ranges known not to be readable together.
//
// Each table is walked in address order (ties: the shorter interval
// first). A request starts at the first interval not yet served and takes
// the next interval while that starts at most MaxGap entries past the
// request's end, the request stays within the limit, and it does not come
// to cover a range known not to be readable together; at the first
// interval that fails, the next request starts. An interval that itself
// covers a known range (a point whose own entries were refused) is thus
// read alone, and no request reaches across it in the walk: it splits the
// table into stretches that are planned apart.
//
// Within a stretch this greedy walk makes the fewest requests any plan
// can. Call the intervals that start requests s1, s2, ..., sm, and c_r the
// end of request r. (1) Each s_{r+1} ends past c_r: it was refused because
// it starts more than MaxGap past c_r; or because it ends past
// start(s_r)+limit, which is at least c_r as no point is wider than the
// limit; or because it makes the request cover a known range that neither
// the request nor s_{r+1} covered before, so it lengthens the request.
// Hence c_1 < c_2 < ... < c_m, and every interval of requests 1..r ends
// by c_r. (2) No read within the limits can serve both s_r and a later
// s_q: it would cover [start(s_r), end(s_q)), which contains
// [start(s_r), end(s_{r+1})). That is longer than the limit, or covers the
// known range, or (gap) contains the entries c_r up to start(s_{r+1}),
// which none of the points it may serve covers (those that start before
// s_{r+1} belong to requests 1..r and end by c_r), a run of more than
// MaxGap unread entries. So every plan needs a request per s_r, at least
// m. Minimum computes the same number another way for a plan without
// known ranges, and the tests compare the two and, for small maps, an
// exhaustive search, with and without known ranges.
func (p *PollPlan) rebuild() {
	p.requests, p.groups = nil, nil
	for t := Coils; t <= InputRegisters; t++ {
		ivs := p.intervals[t]
		limit, gap := p.lim.per(t), int(p.lim.MaxGap)
		for first := 0; first < len(ivs); {
			r := ivs[first].extent
			last := first + 1
			for ; last < len(ivs); last++ {
				next := ivs[last]
				grown := extent{r.lo, max(r.hi, next.hi)}
				if next.lo-r.hi > gap || grown.hi-grown.lo > limit || p.forbidden(t, grown) {
					break
				}
				r = grown
			}
			req := Request{Table: t, Start: uint16(r.lo), Count: uint16(r.hi - r.lo)}
			for _, iv := range ivs[first:last] {
				req.Points = append(req.Points, iv.points...)
			}
			p.requests = append(p.requests, req)
			p.groups = append(p.groups, group{t, first, last})
			first = last
		}
	}
}

// forbidden says whether reading r would cover a range of table t known
// not to be readable together.
func (p *PollPlan) forbidden(t Table, r extent) bool {
	for _, a := range p.apart[t] {
		if r.contains(a) {
			return true
		}
	}
	return false
}

// Split is called when request i got exception 2 (illegal data address).
// It splits the request in two at the boundary between points nearest its
// middle address that cuts no point of the table, and remembers never to
// read across that boundary again; repeated on the parts, this comes down
// to one request per point. When the request's points all overlap so that
// every boundary would cut one, it instead remembers that the request's
// whole range cannot be read, and the points go to narrower reads.
//
// The requests before i stay as they are; from i on the plan is rebuilt,
// and request i is the first part, so the caller reads on from i. Split
// returns false, changing nothing, when the request serves a single point
// or only points that cover the same entries (views of one register): then
// those entries themselves are unreadable and the caller reports the
// points. It panics if i is out of range.
func (p *PollPlan) Split(i int) bool {
	g := p.groups[i]
	if g.last-g.first < 2 {
		return false
	}
	r := p.requests[i]
	whole := extent{int(r.Start), int(r.Start) + int(r.Count)}
	if b, ok := p.boundary(g.table, whole); ok {
		p.apart[g.table] = append(p.apart[g.table], extent{b - 1, b + 1})
	} else {
		p.apart[g.table] = append(p.apart[g.table], whole)
	}
	p.rebuild()
	return true
}

// boundary is the address b in whole.lo+1..whole.hi-1 nearest the middle
// of whole (the lower of two equally near) at which some point of table t
// starts or ends and which no point of t spans (covers both b-1 and b).
func (p *PollPlan) boundary(t Table, whole extent) (int, bool) {
	n := whole.hi - whole.lo
	// spanned[k]: how many points cover both whole.lo+k-1 and whole.lo+k,
	// summed from a difference array.
	spanned := make([]int, n+1)
	edge := make([]bool, n+1)
	for _, iv := range p.intervals[t] {
		if iv.hi <= whole.lo || iv.lo >= whole.hi {
			continue
		}
		if lo := iv.lo + 1 - whole.lo; lo <= n {
			spanned[max(lo, 0)]++
		}
		if hi := iv.hi - whole.lo; hi <= n {
			spanned[hi]--
		}
		if iv.lo >= whole.lo {
			edge[iv.lo-whole.lo] = true
		}
		if iv.hi <= whole.hi {
			edge[iv.hi-whole.lo] = true
		}
	}
	best, found := 0, false
	sum := spanned[0]
	for k := 1; k < n; k++ {
		sum += spanned[k]
		if sum != 0 || !edge[k] {
			continue
		}
		// Compare distances to the middle doubled, to stay in integers.
		if d := abs(2*k - n); !found || d < abs(2*best-n) {
			best, found = k, true
		}
	}
	return whole.lo + best, found
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Minimum is the fewest requests any plan within lim can make for points,
// or -1 when NewPollPlan would reject them. It knows nothing of ranges a
// device refused. It does not use the greedy walk of NewPollPlan: for each
// table it finds, by dynamic programming over the points in address order,
// the fewest runs of consecutive points that each fit one read, trying
// every run length rather than only the longest.
func Minimum(points []Point, lim Limits) int {
	if validate(points, lim) != nil {
		return -1
	}
	total := 0
	for t := Coils; t <= InputRegisters; t++ {
		var es []extent
		for i := range points {
			if points[i].Table == t {
				lo := int(points[i].Address)
				es = append(es, extent{lo, lo + int(points[i].Span())})
			}
		}
		slices.SortFunc(es, func(a, b extent) int {
			return cmp.Or(cmp.Compare(a.lo, b.lo), cmp.Compare(a.hi, b.hi))
		})
		limit, gap := lim.per(t), int(lim.MaxGap)
		// fewest[i] is the fewest reads for es[i:]. A run es[i..j] fits
		// one read when it spans at most limit entries and each point
		// starts at most gap entries past the run's end before it; points
		// later in address order start no earlier, so once a run stops
		// fitting no longer run fits.
		fewest := make([]int, len(es)+1)
		for i := len(es) - 1; i >= 0; i-- {
			fewest[i] = len(es) + 1
			end := es[i].lo
			for j := i; j < len(es); j++ {
				if es[j].lo-end > gap {
					break
				}
				end = max(end, es[j].hi)
				if end-es[i].lo > limit {
					break
				}
				fewest[i] = min(fewest[i], 1+fewest[j+1])
			}
		}
		total += fewest[0]
	}
	return total
}
