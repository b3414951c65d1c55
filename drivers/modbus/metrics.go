package modbus

import "github.com/prometheus/client_golang/prometheus"

// failureKinds are what a poll can fail on, as failureKind names them.
var failureKinds = []string{"timeout", "exception", "crc", "frame", "io"}

// metrics count what happens on the bus, per device; the gateway
// registers the driver, a prometheus.Collector, on /metrics.
type metrics struct {
	transactions *prometheus.CounterVec
	splits       *prometheus.CounterVec
	unreadable   *prometheus.CounterVec
	failures     *prometheus.CounterVec
	online       *prometheus.GaugeVec
}

func newMetrics(driver string, devices []string) *metrics {
	l := prometheus.Labels{"driver": driver}
	m := &metrics{
		transactions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shouwang_modbus_transactions_total",
			Help: "Modbus requests sent, answered or not.", ConstLabels: l}, []string{"device"}),
		splits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shouwang_modbus_splits_total",
			Help: "Coalesced reads split after the device refused them with exception 2.", ConstLabels: l}, []string{"device"}),
		unreadable: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shouwang_modbus_unreadable_points_total",
			Help: "Point reads the device refused even alone (reported as bad readings).", ConstLabels: l}, []string{"device"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shouwang_modbus_failures_total",
			Help: "Failed polls by kind: timeout, exception, crc, frame (short, garbled or another slave's), io.", ConstLabels: l}, []string{"device", "kind"}),
		online: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shouwang_modbus_device_online",
			Help: "1 while the device answers, 0 once it is offline.", ConstLabels: l}, []string{"device"}),
	}
	for _, d := range devices {
		m.transactions.WithLabelValues(d)
		m.splits.WithLabelValues(d)
		m.unreadable.WithLabelValues(d)
		m.online.WithLabelValues(d).Set(1)
		for _, k := range failureKinds {
			m.failures.WithLabelValues(d, k)
		}
	}
	return m
}

func (m *metrics) count(device string, st PollStats) {
	m.transactions.WithLabelValues(device).Add(float64(st.Transactions))
	m.splits.WithLabelValues(device).Add(float64(st.Splits))
	m.unreadable.WithLabelValues(device).Add(float64(st.Unreadable))
}

func (m *metrics) failed(device, kind string) { m.failures.WithLabelValues(device, kind).Inc() }

func (m *metrics) up(device string, on bool) {
	v := 0.0
	if on {
		v = 1
	}
	m.online.WithLabelValues(device).Set(v)
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.transactions.Describe(ch)
	m.splits.Describe(ch)
	m.unreadable.Describe(ch)
	m.failures.Describe(ch)
	m.online.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.transactions.Collect(ch)
	m.splits.Collect(ch)
	m.unreadable.Collect(ch)
	m.failures.Collect(ch)
	m.online.Collect(ch)
}
