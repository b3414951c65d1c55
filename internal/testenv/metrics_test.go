package testenv

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetricValue(t *testing.T) {
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sent_total", Help: "h",
		ConstLabels: prometheus.Labels{"driver": "bus"}}, []string{"device", "kind"})
	sent.WithLabelValues("gas-1", "timeout").Add(2)
	sent.WithLabelValues("gas-1", "crc").Add(3)
	sent.WithLabelValues("gas-2", "timeout").Add(5)
	for _, tc := range []struct {
		labels []string
		want   float64
	}{
		{nil, 10},
		{[]string{"device=gas-1"}, 5},
		{[]string{"device=gas-1", "kind=crc"}, 3},
		{[]string{"kind=timeout", "driver=bus"}, 7},
		{[]string{"device=gas-3"}, 0},
		{[]string{"kind=a=b"}, 0},
	} {
		if got := MetricValue(t, sent, "sent_total", tc.labels...); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.labels, got, tc.want)
		}
	}
	online := prometheus.NewGauge(prometheus.GaugeOpts{Name: "online", Help: "h"})
	online.Set(1)
	if got := MetricValue(t, online, "online"); got != 1 {
		t.Errorf("gauge %v, want 1", got)
	}
	untouched := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bad_total", Help: "h"}, []string{"reason"})
	if got := MetricValue(t, untouched, "bad_total", "reason=x"); got != 0 {
		t.Errorf("untouched vector %v, want 0", got)
	}
	hist := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "seconds", Help: "h"})
	for _, tc := range []struct {
		read func(testing.TB)
		want string
	}{
		{func(tb testing.TB) { MetricValue(tb, sent, "sent") }, "the collector has no metric sent"},
		{func(tb testing.TB) { MetricValue(tb, sent, "sent_total", "device") }, `label "device" is not name=value`},
		{func(tb testing.TB) { MetricValue(tb, hist, "seconds") }, "seconds is a HISTOGRAM, not a counter or a gauge"},
	} {
		f := &fakeTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			tc.read(f)
		}()
		<-done
		if !strings.HasPrefix(f.ended, "fatal: ") || !strings.Contains(f.ended, tc.want) {
			t.Errorf("ended with %q, want fatal: ...%s", f.ended, tc.want)
		}
	}
}
