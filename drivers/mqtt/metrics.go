package mqtt

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var reasons = []string{reasonTooLarge, reasonMalformed, reasonBadValue, reasonNoFields, reasonBadTime, reasonUnknown, reasonLocation, reasonRetained}

// metrics count what the driver takes; the gateway registers the driver,
// a prometheus.Collector, on /metrics.
type metrics struct {
	messages  prometheus.Counter
	bad       *prometheus.CounterVec
	connected prometheus.Gauge
}

func newMetrics(driver string, subscriptions []string) *metrics {
	l := prometheus.Labels{"driver": driver}
	m := &metrics{
		messages: prometheus.NewCounter(prometheus.CounterOpts{Name: "shouwang_mqtt_messages_total",
			Help: "MQTT messages taken and acknowledged, good or bad.", ConstLabels: l}),
		bad: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shouwang_mqtt_bad_messages_total",
			Help: "MQTT messages (or parts of one) that could not be read, by subscription and reason.", ConstLabels: l},
			[]string{"subscription", "reason"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "shouwang_mqtt_connected",
			Help: "1 while connected and subscribed.", ConstLabels: l}),
	}
	for _, s := range subscriptions {
		for _, r := range reasons {
			m.bad.WithLabelValues(s, r)
		}
	}
	return m
}

// Describe implements prometheus.Collector.
func (d *Driver) Describe(ch chan<- *prometheus.Desc) {
	d.metrics.messages.Describe(ch)
	d.metrics.bad.Describe(ch)
	d.metrics.connected.Describe(ch)
}

// Collect implements prometheus.Collector.
func (d *Driver) Collect(ch chan<- prometheus.Metric) {
	d.metrics.messages.Collect(ch)
	d.metrics.bad.Collect(ch)
	d.metrics.connected.Collect(ch)
}

// badLog keeps a subscription's bad messages to one log line per
// interval: the first of an interval is logged with its sample, the rest
// are counted and summed up in the next line.
type badLog struct {
	last       time.Time
	suppressed int
}

// bad counts a message (or part of one) that could not be read, and logs
// it unless this subscription logged within the interval.
func (d *Driver) bad(sub *subscription, p *problem, topic string, payload []byte, now time.Time) {
	name, log := "", &d.unmatched
	if sub != nil {
		name, log = sub.Topic, &sub.badLog
	}
	d.metrics.bad.WithLabelValues(name, p.reason).Inc()
	if !log.last.IsZero() && now.Sub(log.last) < d.cfg.BadLogInterval {
		log.suppressed++
		return
	}
	sample := payload
	if len(sample) > 128 {
		sample = sample[:128]
	}
	d.logger.Warn("MQTT message not read", "subscription", name, "reason", p.reason, "problem", p.detail,
		"topic", clip(topic), "payload_bytes", len(payload), "payload_start", string(sample),
		"not_logged_since_last", log.suppressed)
	log.last, log.suppressed = now, 0
}
