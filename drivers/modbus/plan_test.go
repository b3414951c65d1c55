package modbus

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func reg(addr uint16, typ DataType) Point {
	return Point{Name: fmt.Sprintf("hr%d", addr), Table: HoldingRegisters, Address: addr, Type: typ}
}

func text(addr, length uint16) Point {
	return Point{Name: fmt.Sprintf("text%d", addr), Table: HoldingRegisters, Address: addr, Type: String, Length: length}
}

func bitOf(addr uint16, bit uint8) Point {
	return Point{Name: fmt.Sprintf("hr%d.%d", addr, bit), Table: HoldingRegisters, Address: addr, Type: Bool, Bit: bit}
}

func in(t Table, addr uint16, typ DataType) Point {
	return Point{Name: fmt.Sprintf("%s%d", t, addr), Table: t, Address: addr, Type: typ}
}

// run is n points of typ at addresses first, first+step, ...
func run(first uint16, n int, step uint16, typ DataType) []Point {
	var ps []Point
	for i := range n {
		ps = append(ps, reg(first+uint16(i)*step, typ))
	}
	return ps
}

func coils(n int) []Point {
	var ps []Point
	for i := range n {
		ps = append(ps, in(Coils, uint16(i), Bool))
	}
	return ps
}

// show writes requests as "table start+count".
func show(reqs []Request) []string {
	s := []string{}
	for _, r := range reqs {
		s = append(s, fmt.Sprintf("%s %d+%d", r.Table, r.Start, r.Count))
	}
	return s
}

func mustPlan(tb testing.TB, points []Point, lim Limits) *PollPlan {
	tb.Helper()
	p, err := NewPollPlan(points, lim)
	if err != nil {
		tb.Fatalf("NewPollPlan: %v", err)
	}
	checkPlan(tb, points, lim, p)
	return p
}

func ext(pt *Point) extent {
	return extent{int(pt.Address), int(pt.Address) + int(pt.Span())}
}

// checkPlan checks what every plan must hold: each point served by exactly
// one request that contains it whole, requests in table then address
// order, tight, within the limit, bridging no more than MaxGap, and
// covering no range known not to be readable unless they serve a single
// interval.
func checkPlan(tb testing.TB, points []Point, lim Limits, p *PollPlan) {
	tb.Helper()
	served := make([]int, len(points))
	reqs := p.Requests()
	for k, r := range reqs {
		whole := extent{int(r.Start), int(r.Start) + int(r.Count)}
		if k > 0 {
			prev := reqs[k-1]
			if cmp.Or(cmp.Compare(prev.Table, r.Table), cmp.Compare(prev.Start, r.Start)) > 0 {
				tb.Errorf("request %d (%v) not after request %d (%v)", k, show(reqs[k:k+1]), k-1, show(reqs[k-1:k]))
			}
		}
		if r.Count == 0 || int(r.Count) > lim.per(r.Table) || whole.hi > 1<<16 {
			tb.Errorf("request %d %v: count out of bounds (limit %d)", k, show(reqs[k:k+1]), lim.per(r.Table))
		}
		if len(r.Points) == 0 {
			tb.Fatalf("request %d serves no point", k)
		}
		covered := make([]bool, r.Count)
		startTight, endTight, single := false, false, true
		for j, i := range r.Points {
			served[i]++
			pt := &points[i]
			e := ext(pt)
			if pt.Table != r.Table || !whole.contains(e) {
				tb.Errorf("request %d %v serves %q (%s %v) that it does not contain", k, show(reqs[k:k+1]), pt.Name, pt.Table, e)
				continue
			}
			if j > 0 {
				q := &points[r.Points[j-1]]
				if cmp.Or(cmp.Compare(q.Address, pt.Address), cmp.Compare(q.Span(), pt.Span()), cmp.Compare(r.Points[j-1], i)) >= 0 {
					tb.Errorf("request %d: points %q and %q out of address order", k, q.Name, pt.Name)
				}
			}
			startTight = startTight || e.lo == whole.lo
			endTight = endTight || e.hi == whole.hi
			single = single && e == whole
			for a := e.lo; a < e.hi; a++ {
				covered[a-whole.lo] = true
			}
		}
		if !startTight || !endTight {
			tb.Errorf("request %d %v reads entries before or after its points", k, show(reqs[k:k+1]))
		}
		unread := 0
		for _, c := range covered {
			if c {
				unread = 0
				continue
			}
			if unread++; unread > int(lim.MaxGap) {
				tb.Errorf("request %d %v bridges more than %d unread entries", k, show(reqs[k:k+1]), lim.MaxGap)
				break
			}
		}
		if !single && p.forbidden(r.Table, whole) {
			tb.Errorf("request %d %v covers a range known not to be readable: %v", k, show(reqs[k:k+1]), p.apart[r.Table])
		}
	}
	for i, n := range served {
		if n != 1 {
			tb.Errorf("point %q served by %d requests, want 1", points[i].Name, n)
		}
	}
}

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name   string
		points []Point
		lim    Limits
		want   []string
	}{
		{"none", nil, Limits{}, []string{}},
		{"contiguous registers", run(0, 10, 1, U16), Limits{}, []string{"holding 0+10"}},
		{"contiguous mixed widths", []Point{reg(0, U16), reg(1, F32), reg(3, U64), reg(7, I16)}, Limits{}, []string{"holding 0+8"}},
		{"gap larger than MaxGap", []Point{reg(0, U16), reg(5, U16)}, Limits{MaxGap: 3}, []string{"holding 0+1", "holding 5+1"}},
		{"gap exactly MaxGap", []Point{reg(0, U16), reg(5, U16)}, Limits{MaxGap: 4}, []string{"holding 0+6"}},
		{"no gap without MaxGap", []Point{reg(0, U16), reg(2, U16)}, Limits{}, []string{"holding 0+1", "holding 2+1"}},
		{"125 registers", run(0, 125, 1, U16), Limits{}, []string{"holding 0+125"}},
		{"130 registers", run(0, 130, 1, U16), Limits{}, []string{"holding 0+125", "holding 125+5"}},
		{"no point cut at the limit", run(0, 63, 2, U32), Limits{}, []string{"holding 0+124", "holding 124+2"}},
		{"gap to the limit", []Point{reg(0, U16), reg(124, U16)}, Limits{MaxGap: 200}, []string{"holding 0+125"}},
		{"gap past the limit", []Point{reg(0, U16), reg(125, U16)}, Limits{MaxGap: 200}, []string{"holding 0+1", "holding 125+1"}},
		{"device limit 16", run(0, 20, 2, U32), Limits{MaxRegisters: 16}, []string{"holding 0+16", "holding 16+16", "holding 32+8"}},
		{"device limit with gaps", run(0, 6, 5, U16), Limits{MaxRegisters: 16, MaxGap: 4}, []string{"holding 0+16", "holding 20+6"}},
		{"2000 coils", coils(2000), Limits{}, []string{"coil 0+2000"}},
		{"2001 coils", coils(2001), Limits{}, []string{"coil 0+2000", "coil 2000+1"}},
		{"device bit limit", coils(100), Limits{MaxBits: 64}, []string{"coil 0+64", "coil 64+36"}},
		{"register limit does not bound bits", coils(300), Limits{MaxRegisters: 16}, []string{"coil 0+300"}},
		{
			"mixed tables",
			[]Point{in(InputRegisters, 0, U16), reg(0, U16), in(DiscreteInputs, 3, Bool), in(Coils, 3, Bool), in(Coils, 1, Bool), reg(1, U16), in(Coils, 2, Bool), in(InputRegisters, 1, U32)},
			Limits{},
			[]string{"coil 1+3", "discrete 3+1", "holding 0+2", "input 0+3"},
		},
		{"overlapping points", []Point{reg(10, U32), reg(10, U16), reg(11, I16), reg(11, F32)}, Limits{}, []string{"holding 10+3"}},
		{"overlapping strings past the limit", []Point{text(0, 100), text(50, 100)}, Limits{}, []string{"holding 0+100", "holding 50+100"}},
		{"nested point after a long one", []Point{text(0, 100), text(90, 30), reg(95, U16)}, Limits{MaxRegisters: 110}, []string{"holding 0+100", "holding 90+30"}},
		{"bool bits in one register", func() []Point {
			var ps []Point
			for b := range uint8(16) {
				ps = append(ps, bitOf(7, 15-b))
			}
			return ps
		}(), Limits{}, []string{"holding 7+1"}},
		{"last address", []Point{reg(65535, U16), in(Coils, 65535, Bool), reg(65532, U32)}, Limits{MaxGap: 1}, []string{"coil 65535+1", "holding 65532+4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPlan(t, tc.points, tc.lim)
			if got := show(p.Requests()); !slices.Equal(got, tc.want) {
				t.Errorf("requests %q, want %q", got, tc.want)
			}
			if got, want := Minimum(tc.points, tc.lim), len(tc.want); got != want {
				t.Errorf("Minimum %d, want %d", got, want)
			}
		})
	}
}

func TestPlanPointsInAddressOrder(t *testing.T) {
	points := []Point{bitOf(7, 3), reg(9, U16), reg(7, U32), bitOf(7, 0), reg(8, I16)}
	p := mustPlan(t, points, Limits{})
	reqs := p.Requests()
	if len(reqs) != 1 {
		t.Fatalf("requests %q, want one", show(reqs))
	}
	// Address, then span, then the order given.
	if want := []int{0, 3, 2, 4, 1}; !slices.Equal(reqs[0].Points, want) {
		t.Errorf("points %v, want %v", reqs[0].Points, want)
	}
}

func TestPlanErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		points []Point
		lim    Limits
		want   []string
	}{
		{
			"string of length 0",
			[]Point{{Name: "label", Table: HoldingRegisters, Address: 100, Type: String}},
			Limits{},
			[]string{`point "label" at holding 100`, "string of length 0"},
		},
		{
			"wider than the protocol",
			[]Point{{Name: "long", Table: InputRegisters, Address: 7, Type: String, Length: 130}},
			Limits{},
			[]string{`point "long" at input 7`, "130 registers", "125"},
		},
		{
			"wider than the device",
			[]Point{reg(0, U16), {Name: "total", Table: HoldingRegisters, Address: 2, Type: U64}},
			Limits{MaxRegisters: 3},
			[]string{`point "total" at holding 2`, "u64 of 4 registers", "wider than the 3"},
		},
		{
			"past 65535",
			[]Point{{Name: "edge", Table: HoldingRegisters, Address: 65535, Type: U32}},
			Limits{},
			[]string{`point "edge" at holding 65535`, "runs past address 65535"},
		},
		{
			"string past 65535",
			[]Point{{Name: "tail", Table: InputRegisters, Address: 65530, Type: String, Length: 7}},
			Limits{},
			[]string{`point "tail" at input 65530`, "runs past address 65535"},
		},
		{
			"unknown table",
			[]Point{{Name: "where", Table: 9, Address: 1, Type: U16}},
			Limits{},
			[]string{`point "where"`, "unknown table table(9)"},
		},
		{
			"unknown type",
			[]Point{{Name: "what", Table: HoldingRegisters, Address: 1}},
			Limits{},
			[]string{`point "what" at holding 1`, "unknown data type type(0)"},
		},
		{
			"every point reported",
			[]Point{{Name: "a", Table: HoldingRegisters, Type: String}, reg(5, U16), {Name: "b", Table: HoldingRegisters, Address: 65534, Type: F64}},
			Limits{},
			[]string{`point "a"`, `point "b"`},
		},
		{
			"limits over the protocol",
			nil,
			Limits{MaxRegisters: 126, MaxBits: 2001},
			[]string{"126, over the protocol's 125", "2001, over the protocol's 2000"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPollPlan(tc.points, tc.lim)
			if err == nil {
				t.Fatalf("NewPollPlan gave %q, want an error", show(p.Requests()))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if m := Minimum(tc.points, tc.lim); m != -1 {
				t.Errorf("Minimum %d, want -1", m)
			}
		})
	}
}

// split calls Split(i) and checks that it left the requests before i
// alone and kept every plan invariant.
func split(tb testing.TB, points []Point, lim Limits, p *PollPlan, i int) bool {
	tb.Helper()
	before := p.Requests()
	ok := p.Split(i)
	after := p.Requests()
	if !ok && !slices.EqualFunc(before, after, sameRequest) {
		tb.Errorf("Split(%d) returned false but changed the plan from %q to %q", i, show(before), show(after))
	}
	if ok && (len(after) < i+2 || !slices.EqualFunc(before[:i], after[:i], sameRequest)) {
		tb.Errorf("Split(%d) changed the requests before it: %q to %q", i, show(before), show(after))
	}
	if ok && sameRequest(before[i], after[i]) {
		tb.Errorf("Split(%d) returned true but left the request as it was: %q", i, show(after))
	}
	if ok {
		// What Split remembers cuts no point: a boundary no point spans,
		// or, when every boundary in the request cuts one, its whole range.
		r := before[i]
		whole := extent{int(r.Start), int(r.Start) + int(r.Count)}
		apart := p.apart[r.Table]
		remembered := apart[len(apart)-1]
		spanned := func(b int) bool {
			return slices.ContainsFunc(points, func(pt Point) bool {
				return pt.Table == r.Table && ext(&pt).contains(extent{b - 1, b + 1})
			})
		}
		boundary := remembered.hi-remembered.lo == 2 && whole.contains(remembered) && !spanned(remembered.lo+1)
		switch {
		case boundary:
		case remembered == whole:
			for _, k := range r.Points {
				for _, b := range []int{ext(&points[k]).lo, ext(&points[k]).hi} {
					if b > whole.lo && b < whole.hi && !spanned(b) {
						tb.Errorf("Split(%d) of %q remembered the whole range, but no point spans %d", i, show(before[i:i+1]), b)
					}
				}
			}
		default:
			tb.Errorf("Split(%d) of %q remembered %v, not a boundary inside it that no point spans", i, show(before[i:i+1]), remembered)
		}
	}
	checkPlan(tb, points, lim, p)
	return ok
}

func sameRequest(a, b Request) bool {
	return a.Table == b.Table && a.Start == b.Start && a.Count == b.Count && slices.Equal(a.Points, b.Points)
}

func TestSplitHalvesDownToPoints(t *testing.T) {
	points := run(0, 8, 2, U16) // 0, 2, ..., 14, a register apart
	lim := Limits{MaxGap: 1}
	p := mustPlan(t, points, lim)
	steps := []struct {
		i    int
		want []string
	}{
		{-1, []string{"holding 0+15"}},
		{0, []string{"holding 0+7", "holding 8+7"}},
		{0, []string{"holding 0+3", "holding 4+3", "holding 8+7"}},
		{0, []string{"holding 0+1", "holding 2+1", "holding 4+3", "holding 8+7"}},
		{2, []string{"holding 0+1", "holding 2+1", "holding 4+1", "holding 6+1", "holding 8+7"}},
	}
	for _, s := range steps {
		if s.i >= 0 && !split(t, points, lim, p, s.i) {
			t.Fatalf("Split(%d) returned false on %q", s.i, show(p.Requests()))
		}
		if got := show(p.Requests()); !slices.Equal(got, s.want) {
			t.Fatalf("after Split(%d): %q, want %q", s.i, got, s.want)
		}
	}
	for i := range 4 {
		if split(t, points, lim, p, i) {
			t.Errorf("Split(%d) of a single point returned true", i)
		}
	}
	// Splitting on comes down to one request per point, a split fewer
	// than the points in all.
	splits := 4
	for i := 0; i < len(p.Requests()); {
		if split(t, points, lim, p, i) {
			splits++
			continue
		}
		i++
	}
	if got := len(p.Requests()); got != len(points) {
		t.Errorf("%d requests after splitting, want %d: %q", got, len(points), show(p.Requests()))
	}
	if splits != len(points)-1 {
		t.Errorf("%d splits, want %d", splits, len(points)-1)
	}

	// Replanning keeps the points apart; a new plan, knowing nothing,
	// joins them again.
	want := show(p.Requests())
	p.rebuild()
	if got := show(p.Requests()); !slices.Equal(got, want) {
		t.Errorf("replanned %q, want %q", got, want)
	}
	if got := show(mustPlan(t, points, lim).Requests()); !slices.Equal(got, []string{"holding 0+15"}) {
		t.Errorf("a new plan %q, want one request", got)
	}
}

func TestSplitRemembersAcrossTables(t *testing.T) {
	points := []Point{in(Coils, 0, Bool), in(Coils, 1, Bool), reg(0, U16), reg(1, U16), in(InputRegisters, 0, U16), in(InputRegisters, 1, U16)}
	lim := Limits{}
	p := mustPlan(t, points, lim)
	if !split(t, points, lim, p, 1) {
		t.Fatal("Split(1) returned false")
	}
	want := []string{"coil 0+2", "holding 0+1", "holding 1+1", "input 0+2"}
	if got := show(p.Requests()); !slices.Equal(got, want) {
		t.Fatalf("after Split(1): %q, want %q", got, want)
	}
	p.rebuild()
	if got := show(p.Requests()); !slices.Equal(got, want) {
		t.Errorf("replanned %q, want %q", got, want)
	}
}

func TestSplitOverlappingPoints(t *testing.T) {
	// No boundary in 10..11 leaves both points whole: the whole range is
	// remembered instead, and each point gets its own read.
	points := []Point{reg(10, U32), reg(11, U16)}
	lim := Limits{}
	p := mustPlan(t, points, lim)
	if !split(t, points, lim, p, 0) {
		t.Fatal("Split(0) returned false")
	}
	want := []string{"holding 10+2", "holding 11+1"}
	if got := show(p.Requests()); !slices.Equal(got, want) {
		t.Fatalf("after Split(0): %q, want %q", got, want)
	}
	if split(t, points, lim, p, 0) || split(t, points, lim, p, 1) {
		t.Error("Split of a single point returned true")
	}
}

func TestSplitNeverCutsAPoint(t *testing.T) {
	// 2 and 3, nearest the middle of 0..5, are inside the u64: the split
	// is at 4.
	points := []Point{reg(0, U64), reg(2, U16), reg(4, U16)}
	lim := Limits{}
	p := mustPlan(t, points, lim)
	if !split(t, points, lim, p, 0) {
		t.Fatal("Split(0) returned false")
	}
	want := []string{"holding 0+4", "holding 4+1"}
	if got := show(p.Requests()); !slices.Equal(got, want) {
		t.Errorf("after Split(0): %q, want %q", got, want)
	}
}

func TestSplitRefusedPointIsABarrier(t *testing.T) {
	// The u64 at 1 spans every boundary of 1..4: when that read is
	// refused, the u64 is read alone, and the points after it are planned
	// apart from the u32 before it.
	points := []Point{reg(0, U32), reg(1, U64), reg(2, U16), reg(3, U16), reg(4, U16)}
	lim := Limits{MaxRegisters: 4}
	p := mustPlan(t, points, lim)
	if got, want := show(p.Requests()), []string{"holding 0+2", "holding 1+4"}; !slices.Equal(got, want) {
		t.Fatalf("requests %q, want %q", got, want)
	}
	if !split(t, points, lim, p, 1) {
		t.Fatal("Split(1) returned false")
	}
	want := []string{"holding 0+2", "holding 1+4", "holding 2+3"}
	if got := show(p.Requests()); !slices.Equal(got, want) {
		t.Errorf("after Split(1): %q, want %q", got, want)
	}
	if e := exhaustive(points, lim, p.apart); e != len(want) {
		t.Errorf("exhaustive search %d, want %d", e, len(want))
	}
	if split(t, points, lim, p, 1) {
		t.Error("Split of the refused u64 returned true")
	}
}

func TestSplitViewsOfOneRegister(t *testing.T) {
	// Views of the same register are one read: if it fails, the register
	// is unreadable and splitting cannot help.
	points := []Point{bitOf(5, 0), bitOf(5, 1), reg(5, U16), reg(5, I16)}
	lim := Limits{}
	p := mustPlan(t, points, lim)
	if split(t, points, lim, p, 0) {
		t.Errorf("Split of one register's views returned true: %q", show(p.Requests()))
	}
	if got := p.Requests()[0].Points; len(got) != 4 {
		t.Errorf("request serves points %v, want all four", got)
	}
}

// fakeDevice answers reads like a detector whose map has holes: a read that
// covers an address it does not have gets exception 2.
type fakeDevice struct {
	missing func(table Table, addr int) bool
}

// cycle polls every request of the plan once, splitting those the device
// refuses, and counts the transactions, the exceptions, and the points the
// plan gave up on.
func (d fakeDevice) cycle(tb testing.TB, points []Point, lim Limits, p *PollPlan) (transactions, exceptions int, unreadable []string) {
	tb.Helper()
	for i := 0; i < len(p.Requests()); {
		r := p.Requests()[i]
		transactions++
		refused := false
		for a := int(r.Start); a < int(r.Start)+int(r.Count); a++ {
			refused = refused || d.missing(r.Table, a)
		}
		if !refused {
			i++
			continue
		}
		exceptions++
		if split(tb, points, lim, p, i) {
			continue // read on from the first part
		}
		for _, k := range r.Points {
			unreadable = append(unreadable, points[k].Name)
		}
		i++
	}
	return transactions, exceptions, unreadable
}

func TestCycleTransactions(t *testing.T) {
	// Registers 10..19 are missing from the device, but the configured gap
	// joins the points either side of them into one read.
	dev := fakeDevice{missing: func(t Table, a int) bool { return t == HoldingRegisters && a >= 10 && a < 20 }}
	lim := Limits{MaxGap: 12}

	t.Run("hole in a gap", func(t *testing.T) {
		points := []Point{reg(0, U16), reg(4, U16), reg(8, U16), reg(20, U16), reg(24, U16), reg(28, U16), in(Coils, 12, Bool)}
		p := mustPlan(t, points, lim)
		if got, want := len(p.Requests()), Minimum(points, lim); got != want || got != 2 {
			t.Fatalf("%d requests, Minimum %d, want 2 each", got, want)
		}
		n, exc, bad := dev.cycle(t, points, lim, p)
		if n != 4 || exc != 1 || bad != nil {
			t.Errorf("first cycle: %d transactions, %d exceptions, unreadable %q; want 4, 1, none", n, exc, bad)
		}
		want := []string{"coil 12+1", "holding 0+9", "holding 20+9"}
		for c := 2; c <= 3; c++ {
			n, exc, bad := dev.cycle(t, points, lim, p)
			if n != len(want) || exc != 0 || bad != nil {
				t.Errorf("cycle %d: %d transactions, %d exceptions, unreadable %q; want %d, 0, none", c, n, exc, bad, len(want))
			}
			if got := show(p.Requests()); !slices.Equal(got, want) {
				t.Errorf("cycle %d: requests %q, want %q", c, got, want)
			}
		}
	})

	t.Run("point in the hole", func(t *testing.T) {
		points := []Point{reg(0, U16), reg(4, U16), reg(8, U16), reg(15, U16), reg(20, U16), reg(24, U16), reg(28, U16)}
		p := mustPlan(t, points, lim)
		if n := len(p.Requests()); n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
		_, _, bad := dev.cycle(t, points, lim, p)
		if !slices.Equal(bad, []string{"hr15"}) {
			t.Errorf("first cycle: unreadable %q, want hr15", bad)
		}
		want := show(p.Requests())
		for c := 2; c <= 3; c++ {
			// Each later cycle reads each request once, and only the
			// missing point's read fails.
			n, exc, bad := dev.cycle(t, points, lim, p)
			if n != len(p.Requests()) || exc != 1 || !slices.Equal(bad, []string{"hr15"}) {
				t.Errorf("cycle %d: %d transactions for %d requests, %d exceptions, unreadable %q; want 1 exception, hr15", c, n, len(p.Requests()), exc, bad)
			}
			if got := show(p.Requests()); !slices.Equal(got, want) {
				t.Errorf("cycle %d: requests %q, want %q as after cycle 1", c, got, want)
			}
		}
		if len(want) > 4 {
			t.Errorf("%d requests %q, want at most 4: 0..8, 15, and 20..28 at most split in two", len(want), want)
		}
	})
}

// randomMap is a device map and limits drawn from r: up to 40 points in a
// window of up to 300 entries, at the start or the end of the address
// space, in any table, any type that fits the limits.
func randomMap(r *rand.Rand, maxPoints int) ([]Point, Limits) {
	var lim Limits
	switch r.IntN(4) {
	case 1:
		lim.MaxRegisters = uint16(1 + r.IntN(125))
	case 2:
		lim.MaxRegisters = uint16(1 + r.IntN(16))
	case 3:
		lim.MaxRegisters = 125
	}
	switch r.IntN(3) {
	case 1:
		lim.MaxBits = uint16(1 + r.IntN(2000))
	case 2:
		lim.MaxBits = uint16(1 + r.IntN(32))
	}
	switch r.IntN(4) {
	case 1, 2:
		lim.MaxGap = uint16(r.IntN(20))
	case 3:
		lim.MaxGap = uint16(r.IntN(300))
	}
	width := 1 + r.IntN(300)
	base := 0
	if r.IntN(4) == 0 {
		base = 1<<16 - width
	}
	types := []DataType{Bool, U16, I16, U32, I32, F32, U64, I64, F64, String}
	var points []Point
	for k := range r.IntN(maxPoints + 1) {
		pt := Point{
			Name:    fmt.Sprintf("p%d", k),
			Table:   Table(1 + r.IntN(4)),
			Address: uint16(base + r.IntN(width)),
			Type:    types[r.IntN(len(types))],
		}
		if pt.Table.Bits() {
			pt.Type = Bool
		}
		if pt.Type == String {
			pt.Length = uint16(1 + r.IntN(12))
		}
		if int(pt.Span()) > lim.per(pt.Table) {
			pt.Type, pt.Length = U16, 0
		}
		if over := int(pt.Address) + int(pt.Span()) - 1<<16; over > 0 {
			pt.Address -= uint16(over)
		}
		points = append(points, pt)
	}
	return points, lim
}

// exhaustive is the fewest requests that serve points, found by trying
// every set of reads: any range from a point's start to a point's end that
// fits the limit, bridges at most MaxGap, and covers no range in apart,
// serves the points it contains; a point that covers a range in apart is
// read alone, and no read serves points on both sides of it in address
// order. It is exponential in the points of a table.
func exhaustive(points []Point, lim Limits, apart [InputRegisters + 1][]extent) int {
	total := 0
	for t := Coils; t <= InputRegisters; t++ {
		var es []extent
		for i := range points {
			if e := ext(&points[i]); points[i].Table == t && !slices.Contains(es, e) {
				es = append(es, e)
			}
		}
		slices.SortFunc(es, func(a, b extent) int { return cmp.Or(cmp.Compare(a.lo, b.lo), cmp.Compare(a.hi, b.hi)) })
		covers := func(r extent) bool {
			return slices.ContainsFunc(apart[t], func(a extent) bool { return r.contains(a) })
		}
		// across says whether a read serving mask reaches across a point
		// read alone.
		across := func(mask uint64) bool {
			for k, e := range es {
				if covers(e) && mask&(1<<k-1) != 0 && mask>>(k+1) != 0 {
					return true
				}
			}
			return false
		}
		var reads []uint64 // the points each possible read serves, as bits
		for _, s := range es {
			if covers(s) {
				reads = append(reads, 1<<slices.Index(es, s))
			}
			for _, f := range es {
				r := extent{s.lo, f.hi}
				if r.hi <= r.lo || r.hi-r.lo > lim.per(t) || covers(r) {
					continue
				}
				var mask uint64
				covered := make([]bool, r.hi-r.lo)
				for k, e := range es {
					if r.contains(e) {
						mask |= 1 << k
						for a := e.lo; a < e.hi; a++ {
							covered[a-r.lo] = true
						}
					}
				}
				if !r.contains(s) || !r.contains(f) {
					continue
				}
				unread, ok := 0, true
				for _, c := range covered {
					if unread = unread + 1; c {
						unread = 0
					}
					ok = ok && unread <= int(lim.MaxGap)
				}
				if ok && !across(mask) {
					reads = append(reads, mask)
				}
			}
		}
		all := uint64(1)<<len(es) - 1
		fewest := make([]int, all+1)
		for m := range fewest {
			fewest[m] = len(es) + 1
		}
		fewest[0] = 0
		for m := uint64(0); m < all; m++ {
			if fewest[m] > len(es) {
				continue
			}
			low := uint64(1)
			for m&low != 0 {
				low <<= 1
			}
			for _, rd := range reads {
				if rd&low != 0 {
					fewest[m|rd] = min(fewest[m|rd], fewest[m]+1)
				}
			}
		}
		total += fewest[all]
	}
	return total
}

func TestMinimumRandomMaps(t *testing.T) {
	r := rand.New(rand.NewPCG(2024, 6))
	for n := range 600 {
		maxPoints := 40
		small := n%2 == 0
		if small {
			maxPoints = 10 // exhaustive search stays fast
		}
		points, lim := randomMap(r, maxPoints)
		p := mustPlan(t, points, lim)
		got, m := len(p.Requests()), Minimum(points, lim)
		if got != m {
			t.Errorf("map %d %+v %+v: %d requests %q, Minimum %d", n, lim, points, got, show(p.Requests()), m)
		}
		if small {
			if e := exhaustive(points, lim, p.apart); e != m {
				t.Errorf("map %d %+v %+v: exhaustive search %d, Minimum %d", n, lim, points, e, m)
			}
		}
		if t.Failed() {
			return
		}
	}
}

func TestSplitRandomMaps(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for n := range 500 {
		points, lim := randomMap(r, 10)
		p := mustPlan(t, points, lim)
		for range 12 {
			reqs := p.Requests()
			if len(reqs) == 0 {
				break
			}
			i := r.IntN(len(reqs))
			single := true
			for _, k := range reqs[i].Points {
				single = single && ext(&points[k]) == ext(&points[reqs[i].Points[0]])
			}
			if ok := split(t, points, lim, p, i); ok == single {
				t.Errorf("map %d: Split(%d) of %q serving points %v returned %v", n, i, show(reqs[i:i+1]), reqs[i].Points, ok)
			}
			// The split plan is still the fewest reads that keep apart
			// what the device refused.
			if e := exhaustive(points, lim, p.apart); len(p.Requests()) != e {
				t.Errorf("map %d %+v %+v apart %v: %d requests %q, exhaustive search %d", n, lim, points, p.apart, len(p.Requests()), show(p.Requests()), e)
			}
			want := slices.Clone(p.Requests())
			p.rebuild()
			if !slices.EqualFunc(p.Requests(), want, sameRequest) {
				t.Errorf("map %d: replanned %q, want %q", n, show(p.Requests()), show(want))
			}
		}
		if t.Failed() {
			return
		}
	}
}

// BenchmarkPlan plans a fire panel's map: 16 zones of status, alarm bits,
// a gas reading and a label, with a few reserved registers between.
func BenchmarkPlan(b *testing.B) {
	var points []Point
	for z := range uint16(16) {
		base := z * 24
		points = append(points, reg(base, U16), reg(base+1, F32), text(base+4, 8), reg(base+16, U32))
		for bit := range uint8(4) {
			points = append(points, bitOf(base+20, bit))
		}
		points = append(points, in(Coils, z*8, Bool), in(Coils, z*8+1, Bool))
	}
	lim := Limits{MaxRegisters: 100, MaxGap: 4}
	var p *PollPlan
	for b.Loop() {
		p, _ = NewPollPlan(points, lim)
	}
	b.ReportMetric(float64(len(p.Requests())), "requests/cycle")
	b.ReportMetric(float64(Minimum(points, lim)), "minimum")
}
