package bus

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	groups, items, commitErrors, blocked prometheus.Counter
	followerErrors, followerBlocked      *prometheus.CounterVec
}

func newMetrics(b *Bus, reg prometheus.Registerer) metrics {
	m := metrics{
		groups: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shouwang_bus_commits_total", Help: "Groups committed to the outbox (one fsync each).",
		}),
		items: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shouwang_bus_items_total", Help: "Readings and events that passed through the bus.",
		}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shouwang_bus_commit_errors_total", Help: "Groups the outbox failed to make durable.",
		}),
		blocked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shouwang_bus_backpressure_seconds_total", Help: "Time publishers spent blocked on a full bus.",
		}),
		followerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_bus_follower_errors_total", Help: "Groups a follower failed to take.",
		}, []string{"follower"}),
		followerBlocked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shouwang_bus_follower_wait_seconds_total", Help: "Time the bus waited for a slow follower.",
		}, []string{"follower"}),
	}
	if reg != nil {
		reg.MustRegister(m.groups, m.items, m.commitErrors, m.blocked, m.followerErrors, m.followerBlocked,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "shouwang_bus_depth", Help: "Published batches waiting for the commit.",
			}, func() float64 { return float64(b.Depth()) }))
	}
	return m
}
