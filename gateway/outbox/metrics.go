package outbox

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	appended    prometheus.Counter
	dropped     prometheus.Counter
	tornBytes   prometheus.Counter
	lost        prometheus.Counter
	sent        *prometheus.CounterVec
	errors      *prometheus.CounterVec
	quarantined *prometheus.CounterVec
	batch       *prometheus.HistogramVec
}

func newMetrics(o *Outbox, reg prometheus.Registerer) *metrics {
	m := &metrics{
		appended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shouwang_outbox_appended_total", Help: "Readings and events made durable in the outbox.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shouwang_outbox_dropped_readings_total", Help: "Readings dropped unsent because the outbox reached max_bytes (events are never dropped).",
		}),
		tornBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shouwang_outbox_torn_tail_bytes_total", Help: "Bytes of unacknowledged, half-written records cut off at open after a crash.",
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shouwang_outbox_unreadable_records_total", Help: "Records skipped because the storage returned them garbled.",
		}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_sink_sent_total", Help: "Readings and events a sink confirmed.",
		}, []string{"sink"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_sink_errors_total", Help: "Failed sink writes by kind: retryable, permanent (quarantined), decode.",
		}, []string{"sink", "kind"}),
		quarantined: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_sink_quarantined_total", Help: "Readings and events the store rejected as malformed, written to the quarantine file.",
		}, []string{"sink"}),
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shouwang_sink_batch_seconds", Help: "Time for one sink write, successful or not.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"sink"}),
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.appended, m.dropped, m.tornBytes, m.lost, m.sent, m.errors, m.quarantined, m.batch,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "shouwang_outbox_bytes", Help: "Size of the outbox on disk.",
		}, func() float64 { _, _, b := o.log.state(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "shouwang_outbox_records", Help: "Records (published batches) the slowest sink has not had confirmed.",
		}, func() float64 { return float64(o.unsent()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "shouwang_outbox_oldest_age_seconds", Help: "Age of the oldest record a sink has not had confirmed; 0 when all are.",
		}, o.oldestAge),
	)
	return m
}
