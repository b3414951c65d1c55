package broker

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	descClients = prometheus.NewDesc("shouwang_broker_clients",
		"MQTT clients connected to the embedded broker, the gateway's own included.", nil, nil)
	descAuthFailures = prometheus.NewDesc("shouwang_broker_auth_failures_total",
		"MQTT connects refused: unknown user, wrong password, anonymous, or a will topic the ACL denies.", nil, nil)
	descDenied = prometheus.NewDesc("shouwang_broker_acl_denied_total",
		"Publishes and subscriptions (and deliveries, counted as subscribe) the ACL denied.", []string{"action"}, nil)
	descReceived = prometheus.NewDesc("shouwang_broker_messages_received_total",
		"PUBLISH packets received from clients, denied ones included.", nil, nil)
)

var _ prometheus.Collector = (*Broker)(nil)

// Describe is part of prometheus.Collector.
func (b *Broker) Describe(ch chan<- *prometheus.Desc) {
	ch <- descClients
	ch <- descAuthFailures
	ch <- descDenied
	ch <- descReceived
}

// Collect is part of prometheus.Collector; it reads mochi's counters and
// the broker's own at scrape time.
func (b *Broker) Collect(ch chan<- prometheus.Metric) {
	info := b.server.Info
	ch <- prometheus.MustNewConstMetric(descClients, prometheus.GaugeValue, float64(atomic.LoadInt64(&info.ClientsConnected)))
	ch <- prometheus.MustNewConstMetric(descAuthFailures, prometheus.CounterValue, float64(b.authFailures.Load()))
	ch <- prometheus.MustNewConstMetric(descDenied, prometheus.CounterValue, float64(b.deniedPub.Load()), "publish")
	ch <- prometheus.MustNewConstMetric(descDenied, prometheus.CounterValue, float64(b.deniedSub.Load()), "subscribe")
	ch <- prometheus.MustNewConstMetric(descReceived, prometheus.CounterValue, float64(atomic.LoadInt64(&info.MessagesReceived)))
}
