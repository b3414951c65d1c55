package testenv

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// MetricValue reads c the way Prometheus scrapes it (through a pedantic
// registry, as client_model metric families) and returns the sum of the
// counters and gauges named name that carry every label in labels, each
// written "name=value"; labels a series has and the call does not name
// are ignored. With no labels it sums every series of the metric.
//
// A metric c describes but has no series of yet (a vector nobody has
// touched) reads 0. It fails the test if c does not describe name at all,
// if a label is not written name=value, if c does not register cleanly,
// or if name is a histogram or a summary.
func MetricValue(tb testing.TB, c prometheus.Collector, name string, labels ...string) float64 {
	tb.Helper()
	want := map[string]string{}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			tb.Fatalf("testenv.MetricValue: label %q is not name=value", l)
		}
		want[k] = v
	}
	if !describes(c, name) {
		tb.Fatalf("testenv.MetricValue: the collector has no metric %s", name)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		tb.Fatalf("testenv.MetricValue: %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatalf("testenv.MetricValue: %v", err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !hasLabels(m, want) {
				continue
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				sum += m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				sum += m.GetGauge().GetValue()
			case dto.MetricType_UNTYPED:
				sum += m.GetUntyped().GetValue()
			default:
				tb.Fatalf("testenv.MetricValue: %s is a %v, not a counter or a gauge", name, mf.GetType())
			}
		}
	}
	return sum
}

// describes reports whether c describes a metric named name. A Desc does
// not export its name, only a String with it quoted.
func describes(c prometheus.Collector, name string) bool {
	ch := make(chan *prometheus.Desc)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	found := false
	for d := range ch {
		found = found || strings.Contains(d.String(), fmt.Sprintf("fqName: %q,", name))
	}
	return found
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
			n++
		}
	}
	return n == len(want)
}
