package camera

import "github.com/prometheus/client_golang/prometheus"

// Outcomes of a camera's report, for shouwang_camera_reports_total.
var outcomes = []string{"incident", "merged", "ignored", "bad", "unauthorized", "unknown_camera", "too_large", "not_committed", "repeated"}

type metrics struct {
	reports  *prometheus.CounterVec
	evidence prometheus.GaugeFunc
}

func newMetrics(driver string, evidenceBytes func() float64) *metrics {
	l := prometheus.Labels{"driver": driver}
	m := &metrics{
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shouwang_camera_reports_total",
			Help: "Camera reports by outcome: a new incident, merged into another camera's, ignored (not a throw), or refused.", ConstLabels: l}, []string{"outcome"}),
		evidence: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shouwang_camera_evidence_bytes",
			Help: "Bytes of evidence images kept on disk.", ConstLabels: l}, evidenceBytes),
	}
	for _, o := range outcomes {
		m.reports.WithLabelValues(o)
	}
	return m
}

// Describe implements prometheus.Collector.
func (d *Driver) Describe(ch chan<- *prometheus.Desc) {
	d.metrics.reports.Describe(ch)
	d.metrics.evidence.Describe(ch)
}

// Collect implements prometheus.Collector.
func (d *Driver) Collect(ch chan<- prometheus.Metric) {
	d.metrics.reports.Collect(ch)
	d.metrics.evidence.Collect(ch)
}
