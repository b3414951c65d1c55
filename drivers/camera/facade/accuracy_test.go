package facade

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// tally counts how traced throws compare with where they came from.
type tally struct {
	n, floorRight, windowRight int
	// byDistance counts named floors by their distance from the true one;
	// abstained are throws with no floor named.
	byDistance map[int]int
	abstained  int
	// wrongSure are windows named with confidence that are wrong.
	wrongSure int
}

func (t *tally) add(th Throw, tr Trace) {
	t.n++
	if tr.Floor == 0 {
		t.abstained++
	} else {
		t.byDistance[tr.Floor-th.Window.Floor]++
		if tr.Floor == th.Window.Floor {
			t.floorRight++
		}
	}
	if tr.Window != nil {
		if tr.Window.Floor == th.Window.Floor && tr.Window.Column == th.Window.Column {
			t.windowRight++
		} else {
			t.wrongSure++
		}
	}
}

func (t *tally) String() string {
	var b strings.Builder
	pct := func(k int) float64 { return 100 * float64(k) / float64(t.n) }
	fmt.Fprintf(&b, "%d throws: right floor %.1f%%, right window %.1f%%, window named but wrong %.2f%%, no floor named %.1f%%\n",
		t.n, pct(t.floorRight), pct(t.windowRight), pct(t.wrongSure), pct(t.abstained))
	b.WriteString("named floor minus true floor:")
	for d := -3; d <= 3; d++ {
		fmt.Fprintf(&b, " %+d: %.2f%%", d, pct(t.byDistance[d]))
	}
	far := 0
	for d, k := range t.byDistance {
		if d < -3 || d > 3 {
			far += k
		}
	}
	fmt.Fprintf(&b, " further: %.2f%%", pct(far))
	return b.String()
}

// run generates n throws over fresh scenes (a new building and camera
// every 50 throws) and traces each.
func run(seed uint64, n int, light bool) *tally {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t := &tally{byDistance: map[int]int{}}
	var s Scene
	for i := range n {
		if i%50 == 0 {
			s = RandomScene(rng)
		}
		th := s.Throw(rng, light)
		t.add(th, s.Calibration.Trace(th.Track))
	}
	return t
}

// BenchmarkAttribution is the accuracy figure of make bench: 10,000
// throws of dense objects at realistic noise (4K, 25 fps, 2 px, 15% of
// frames missed, first detection 0.1-0.6 s after the release), then
// 1,000 light ones, which must never get a confident window.
func BenchmarkAttribution(b *testing.B) {
	var dense, light *tally
	for b.Loop() {
		dense = run(1, 10000, false)
		light = run(2, 1000, true)
	}
	b.ReportMetric(100*float64(dense.floorRight)/float64(dense.n), "%floor")
	b.ReportMetric(100*float64(dense.windowRight)/float64(dense.n), "%window")
	b.ReportMetric(100*float64(light.wrongSure)/float64(light.n), "%light_wrong_window")
	b.Logf("dense: %v", dense)
	b.Logf("light: %v", light)
}

func TestAttributionAccuracy(t *testing.T) {
	dense := run(3, 1000, false)
	t.Logf("dense: %v", dense)
	// Far below the benchmark's figures: this guards against a broken
	// trace, the benchmark measures a working one.
	if dense.floorRight < dense.n*80/100 || dense.windowRight < dense.n*70/100 {
		t.Errorf("dense throws: %v", dense)
	}
	light := run(4, 300, true)
	t.Logf("light: %v", light)
	if light.wrongSure > 0 {
		t.Errorf("light objects got %d confident wrong windows: %v", light.wrongSure, light)
	}
}
