package gateway

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/auth"
	"github.com/shouwang-iot/shouwang/gateway/console"
	"github.com/shouwang-iot/shouwang/gateway/store"
	"github.com/shouwang-iot/shouwang/rules"
)

// boardSeed is how far back the device board reads the history at start,
// so a device that went offline or faulty before a restart shows so.
const boardSeed = 7 * 24 * time.Hour

// openConsole opens the logins and builds the console over the store and
// (once opened) the desk; the device board it returns follows the bus.
func (g *Gateway) openConsole(ctx context.Context) (*console.DeviceBoard, error) {
	cfg := &g.plan.Config
	var err error
	if g.auth, err = auth.Open(ctx, auth.DefaultFile(cfg.Gateway.DataDir), cfg.Console, g.now, g.logger.With("component", "auth")); err != nil {
		return nil, err
	}
	board := console.NewDeviceBoard(g.plan.Devices)
	for _, state := range []string{console.StateUnknown, console.StateOnline, console.StateFault, console.StateOffline} {
		g.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shouwang_devices",
			Help: "Devices by the state they last reported: unknown (nothing since the start), online, fault, offline.", ConstLabels: prometheus.Labels{"state": state}},
			func() float64 { return float64(board.Counts()[state]) }))
	}
	now := g.now()
	if evs, err := g.store.Events(ctx, store.Query{From: now.Add(-boardSeed), To: now.Add(time.Minute), Limit: store.MaxLimit}); err != nil {
		g.logger.Warn("device states not read back from the history", "err", err)
	} else {
		if len(evs) == store.MaxLimit { // the oldest come first: the newest states are missing
			g.logger.Warn("device states read back from only the oldest events of the last week", "events", len(evs))
		}
		board.Take(ctx, []shouwang.Batch{{Events: evs}})
	}
	opts := console.Options{Name: cfg.Gateway.Name, Devices: g.plan.Devices, Board: board, Gatherer: g.reg, Logger: g.logger.With("component", "console"),
		Grading: cfg.Grading, Zone: g.plan.Zone, Now: g.now,
		Events: func(ctx context.Context, from, to time.Time) ([]shouwang.Event, error) {
			return g.store.Events(ctx, store.Query{From: from, To: to, Limit: maxGradedEvents})
		}}
	for _, s := range cfg.Sites {
		site := console.Site{ID: s.ID, Name: s.Name, Grid: s.Grid, Buildings: []console.Building{}}
		for _, b := range s.Buildings {
			site.Buildings = append(site.Buildings, console.Building{ID: b.ID, Name: b.Name, Units: b.Units, Floors: b.Floors, Basements: b.Basements})
		}
		opts.Sites = append(opts.Sites, site)
	}
	opts.Raw = g.rawValues
	opts.Open = func() []rules.Alarm { return g.desk.Open() }
	opts.Alarms = g.alarmsRaised
	g.console = console.New(opts)
	return board, nil
}

// rawValues asks a device's driver for its points before decoding. The
// drivers are built before the console serves anything.
func (g *Gateway) rawValues(device string) map[string]string {
	for _, dev := range g.plan.Devices {
		if dev.ID != device {
			continue
		}
		for _, d := range g.drivers {
			if k, ok := d.driver.(shouwang.RawKeeper); ok && d.name == dev.Driver {
				return k.Raw(device)
			}
		}
	}
	return nil
}

// maxGradedEvents bounds the events one month's grades read.
const maxGradedEvents = 1_000_000

// alarmsRaised lists the alarms raised in [from, to), open or closed. The
// open ones are read first: one that closes in between is then in both
// lists (and kept once), never in neither.
func (g *Gateway) alarmsRaised(ctx context.Context, from, to time.Time) ([]rules.Alarm, error) {
	open := g.desk.Open()
	closed, err := g.journal.ClosedSince(ctx, from.UnixMilli(), maxGradedEvents)
	if err != nil {
		return nil, err
	}
	seen := map[uint64]bool{}
	var out []rules.Alarm
	for _, a := range append(closed, open...) {
		if !seen[a.ID] && !a.RaisedAt.Before(from) && a.RaisedAt.Before(to) {
			seen[a.ID] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// permission is what a request to the API needs: reading is for every
// role, a step on an alarm for those who handle them, anything else
// that changes something for an admin.
func permission(r *http.Request) auth.Perm {
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return auth.PermRead
	case strings.HasPrefix(r.URL.Path, "/api/v1/alarms/"):
		return auth.PermAlarmAct
	}
	return auth.PermAdmin
}
