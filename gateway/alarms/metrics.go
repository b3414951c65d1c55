package alarms

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shouwang-iot/shouwang"
)

type metrics struct {
	raised        *prometheus.CounterVec
	closed        *prometheus.CounterVec
	toAck         *prometheus.HistogramVec
	toClose       *prometheus.HistogramVec
	notifySent    *prometheus.CounterVec
	notifyFailed  *prometheus.CounterVec
	notifyLost    *prometheus.CounterVec
	transitions   *prometheus.CounterVec
	journalErrors prometheus.Counter
	dropSubs      prometheus.Counter
}

func newMetrics(d *Desk, reg prometheus.Registerer) metrics {
	// The closed loop, per grid: how fast the duty room acknowledges and
	// closes, and what share it closes (closed_total / raised_total).
	m := metrics{
		raised: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_alarms_raised_total", Help: "Alarm episodes raised, by grid and severity.",
		}, []string{"grid", "severity"}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_alarms_closed_total", Help: "Alarm episodes closed, by grid.",
		}, []string{"grid"}),
		toAck: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shouwang_alarm_time_to_acknowledge_seconds", Help: "From raised to first acknowledged, by grid.",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 1800, 3600},
		}, []string{"grid"}),
		toClose: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shouwang_alarm_time_to_close_seconds", Help: "From raised to closed, by grid.",
			Buckets: []float64{60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400},
		}, []string{"grid"}),
		notifySent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_alarm_notify_sent_total", Help: "Alarm messages a notifier delivered (or set aside as a dead letter).",
		}, []string{"notifier"}),
		notifyFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_alarm_notify_failed_total", Help: "Attempts to deliver an alarm message that failed and will be tried again.",
		}, []string{"notifier"}),
		notifyLost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_alarm_notify_dropped_total", Help: "Alarm messages lost: the journal failed to record them and the notifier was too far behind to take them from memory.",
		}, []string{"notifier"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_alarm_transitions_total", Help: "Alarm transitions by kind (raised, acknowledged, escalated, ...).",
		}, []string{"kind"}),
		journalErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shouwang_alarm_journal_errors_total", Help: "Transitions announced although the journal failed to record them.",
		}),
		dropSubs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shouwang_alarm_feed_dropped_subscribers_total", Help: "Feed subscribers cut off for falling behind.",
		}),
	}
	if reg == nil {
		return m
	}
	open := prometheus.NewDesc("shouwang_alarms_open", "Open alarms by severity and whether acknowledged.", []string{"severity", "acknowledged"}, nil)
	reg.MustRegister(m.raised, m.closed, m.toAck, m.toClose, m.notifySent, m.notifyFailed, m.notifyLost, m.transitions, m.journalErrors, m.dropSubs, collectorFunc{desc: open, collect: func(ch chan<- prometheus.Metric) {
		counts := map[[2]string]int{}
		for _, a := range d.Open() {
			counts[[2]string{a.Severity.String(), strconv.FormatBool(!a.Acknowledged.Time.IsZero())}]++
		}
		for _, s := range shouwang.SeverityNames() {
			for _, ack := range []string{"true", "false"} {
				ch <- prometheus.MustNewConstMetric(open, prometheus.GaugeValue, float64(counts[[2]string{s, ack}]), s, ack)
			}
		}
	}})
	return m
}

// collectorFunc exports metrics computed at scrape time.
type collectorFunc struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
