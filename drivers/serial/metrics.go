package serial

import (
	"encoding/hex"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics count what the driver reads; the gateway registers the driver,
// a prometheus.Collector, on /metrics.
type metrics struct {
	events   prometheus.Counter
	readings prometheus.Counter
	errors   *prometheus.CounterVec
	open     prometheus.Gauge // 1 while the port is open; the connections to a listener
	failures prometheus.Counter
}

func newMetrics(driver string, kinds []string) *metrics {
	l := prometheus.Labels{"driver": driver}
	m := &metrics{
		events: prometheus.NewCounter(prometheus.CounterOpts{Name: "shouwang_serial_events_total",
			Help: "Events read from the port or its TCP connections.", ConstLabels: l}),
		readings: prometheus.NewCounter(prometheus.CounterOpts{Name: "shouwang_serial_readings_total",
			Help: "Readings read from the port or its TCP connections.", ConstLabels: l}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shouwang_serial_errors_total",
			Help: "Input that could not be read, by kind (noise, checksum, ...).", ConstLabels: l}, []string{"kind"}),
		open: prometheus.NewGauge(prometheus.GaugeOpts{Name: "shouwang_serial_links",
			Help: "1 while the serial port is open; for a listener, the UITDs connected.", ConstLabels: l}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "shouwang_serial_link_failures_total",
			Help: "Times the port failed (unplugged, gone) or a connection was dropped.", ConstLabels: l}),
	}
	for _, k := range kinds {
		m.errors.WithLabelValues(k)
	}
	return m
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.events, m.readings, m.errors, m.open, m.failures}
}

// Describe implements prometheus.Collector.
func (d *Driver) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range d.metrics.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (d *Driver) Collect(ch chan<- prometheus.Metric) {
	for _, c := range d.metrics.collectors() {
		c.Collect(ch)
	}
}

// errorLog keeps unreadable input to one log line per interval: the first
// of an interval is logged with a sample, the rest are counted and summed
// up in the next line.
type errorLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// decodeError counts what a decoder (or the driver) could not read, and
// logs it unless one was logged within the interval.
func (d *Driver) decodeError(link, kind string, sample []byte) {
	d.metrics.errors.WithLabelValues(kind).Inc()
	l := &d.errLog
	now := d.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < d.cfg.ErrorLogInterval {
		l.suppressed++
		return
	}
	if len(sample) > 64 {
		sample = sample[:64]
	}
	d.log.Warn("serial input not read", "link", link, "kind", kind, "sample_hex", hex.EncodeToString(sample),
		"not_logged_since_last", l.suppressed)
	l.last, l.suppressed = now, 0
}
