// Package gateway is the Shouwang daemon: it loads the config, wires the
// drivers, the bus, the outbox, the sinks and the local store together,
// serves HTTP, and starts and stops them in order.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/alarms"
	"github.com/shouwang-iot/shouwang/gateway/auth"
	"github.com/shouwang-iot/shouwang/gateway/broker"
	"github.com/shouwang-iot/shouwang/gateway/bus"
	"github.com/shouwang-iot/shouwang/gateway/console"
	"github.com/shouwang-iot/shouwang/gateway/outbox"
	"github.com/shouwang-iot/shouwang/gateway/store"
	"github.com/shouwang-iot/shouwang/internal/mqttconn"
	"github.com/shouwang-iot/shouwang/rules"
)

// Version is set at build time with -ldflags "-X ...gateway.Version=v1.2.3".
var Version = "dev"

// Options are the gateway's collaborators.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// Listening, if set, is called with the HTTP address once it is bound
	// (the port may have been 0).
	Listening func(addr net.Addr)
	// AnonymousBroker lets clients without a username use the embedded
	// broker from a loopback address: the demo's, never a config key.
	AnonymousBroker bool
}

// Gateway runs one Plan.
type Gateway struct {
	plan   *Plan
	logger *slog.Logger
	now    func() time.Time
	opts   Options
	reg    *prometheus.Registry

	store      *store.Store
	outbox     *outbox.Outbox
	bus        *bus.Bus
	sinks      []shouwang.Sink
	forwarders []*outbox.Forwarder
	drivers    []*driverRun
	httpSrv    *http.Server
	httpCancel context.CancelFunc // ends the live streams before the server shuts down
	broker     *broker.Broker
	auth       *auth.Auth
	console    *console.Console

	// running is set once the drivers are being started and cleared at
	// shutdown; /readyz also wants every driver started.
	running atomic.Bool
	// unsubscribed counts the drivers on the embedded broker not started
	// yet; at zero the broker serves devices.
	unsubscribed atomic.Int32
	fwdCancel    context.CancelFunc
	fwdWG        sync.WaitGroup
	drvCancel    context.CancelFunc
	drvWG        sync.WaitGroup

	desk       *alarms.Desk
	journal    *alarms.Journal
	deskCancel context.CancelFunc
	deskWG     sync.WaitGroup
	httpWG     sync.WaitGroup
}

// driverRun is a driver and the state /readyz reports for it.
type driverRun struct {
	name    string
	driver  shouwang.Driver
	started atomic.Bool
	lastErr atomic.Value // string
	// onEmbeddedBroker: the embedded broker serves devices only once
	// every such driver has started (subscribed).
	onEmbeddedBroker bool
}

// New builds a gateway for plan; nothing is opened until Run.
func New(plan *Plan, opts Options) *Gateway {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shouwang_build_info", Help: "Always 1; the version is a label.",
			ConstLabels: prometheus.Labels{"version": Version}}, func() float64 { return 1 }))
	return &Gateway{plan: plan, logger: opts.Logger, now: opts.Now, opts: opts, reg: reg}
}

// Run starts everything, runs until ctx ends, then shuts down within the
// configured shutdown timeout: drivers stop, the bus drains into the
// outbox and the store, and the sinks get what is left.
func (g *Gateway) Run(ctx context.Context) error {
	if err := g.start(ctx); err != nil {
		return errors.Join(err, g.shutdown())
	}
	g.logger.Info("gateway running", "name", g.plan.Config.Gateway.Name, "version", Version,
		"devices", len(g.plan.Devices), "drivers", len(g.drivers), "sinks", len(g.sinks))
	<-ctx.Done()
	g.logger.Info("shutting down", "within", g.plan.Config.Gateway.ShutdownTimeout)
	return g.shutdown()
}

func (g *Gateway) start(ctx context.Context) error {
	cfg := &g.plan.Config
	if err := os.MkdirAll(cfg.Gateway.DataDir, 0o750); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	storeCfg := cfg.Store
	if len(g.plan.Sinks) == 0 && storeCfg.Synchronous != "full" {
		// With no sink there is no outbox: a batch is acknowledged once the
		// history has it, so a commit must survive a power cut.
		storeCfg.Synchronous = "full"
		g.logger.Info("no sink configured: the history store is where readings become durable; using synchronous=full")
	}
	if err := g.startBroker(ctx); err != nil {
		return err
	}
	var err error
	if g.store, err = store.Open(ctx, storeCfg, g.now, g.logger.With("component", "store")); err != nil {
		return err
	}
	g.store.Start(context.WithoutCancel(ctx))
	board, err := g.openConsole(ctx)
	if err != nil {
		return err
	}

	storeFollower := bus.Follower{Name: "store", Take: func(ctx context.Context, group []shouwang.Batch) error {
		return g.store.Write(ctx, group...)
	}}
	// With no sink the history store is where a batch becomes durable;
	// with one, the outbox is, and the history follows.
	commit := func(group ...shouwang.Batch) error { return g.store.Write(context.Background(), group...) }
	// The desk runs even with no rules: the console's board and the
	// alarm API then answer with nothing open, not with 404.
	if err := g.openDesk(ctx); err != nil {
		return err
	}
	followers := []bus.Follower{{Name: "console", Take: board.Take}, {Name: "alarms", Take: g.desk.Take}}
	if len(g.plan.Sinks) > 0 {
		if err := g.openSinks(); err != nil {
			return err
		}
		commit, followers = g.outbox.Append, append(followers, storeFollower)
	}
	if g.bus, err = bus.New(cfg.Bus, commit, followers, bus.Options{Now: g.now, Logger: g.logger, Registerer: g.reg, Inspect: qualityCheck(g.plan)}); err != nil {
		return err
	}
	g.bus.Start()

	var fwdCtx context.Context
	fwdCtx, g.fwdCancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, f := range g.forwarders {
		g.fwdWG.Go(func() { f.Run(fwdCtx) })
	}
	if err := g.buildDrivers(); err != nil {
		return err
	}
	if err := g.serveHTTP(); err != nil {
		return err
	}
	g.startDrivers(ctx)
	return nil
}

func (g *Gateway) openSinks() error {
	names := make([]string, len(g.plan.Sinks))
	for i, s := range g.plan.Sinks {
		names[i] = s.Name
	}
	var err error
	g.outbox, err = outbox.Open(g.plan.Config.Outbox, names, outbox.Options{Now: g.now, Logger: g.logger, Registerer: g.reg})
	if err != nil {
		return err
	}
	devices := make(map[string]shouwang.Device, len(g.plan.Devices))
	for _, d := range g.plan.Devices {
		devices[d.ID] = d
	}
	for _, sp := range g.plan.Sinks {
		sink, err := sp.Config.NewSink(shouwang.SinkEnv{Name: sp.Name, Gateway: g.plan.Config.Gateway.Name, Devices: devices, Logger: g.logger.With("sink", sp.Name)})
		if err != nil {
			return fmt.Errorf("sink %s: %w", sp.Name, err)
		}
		g.sinks = append(g.sinks, sink)
		if c, ok := sink.(prometheus.Collector); ok {
			g.reg.MustRegister(c)
		}
		if sk, ok := sink.(interface{ Skipped() uint64 }); ok {
			g.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "shouwang_sink_skipped_total", ConstLabels: prometheus.Labels{"sink": sp.Name},
				Help: "Readings a sink could not encode for its store (NaN or infinite values, bad times) and left out.",
			}, func() float64 { return float64(sk.Skipped()) }))
		}
		f, err := g.outbox.Forwarder(sp.Name, sink, sp.Forward)
		if err != nil {
			return err
		}
		g.forwarders = append(g.forwarders, f)
	}
	return nil
}

// openDesk builds the rule engine and the alarm book, brings the open
// alarms back from the journal and starts the desk's clock.
func (g *Gateway) openDesk(ctx context.Context) error {
	cfg := &g.plan.Config
	engine, err := rules.New(cfg.Rules, g.plan.Devices)
	if err != nil {
		return err
	}
	book, err := rules.NewAlarmBook(cfg.Alarms)
	if err != nil {
		return err
	}
	if g.journal, err = alarms.OpenJournal(ctx, filepath.Join(cfg.Gateway.DataDir, "alarms.db")); err != nil {
		return err
	}
	g.desk, err = alarms.NewDesk(ctx, engine, book, g.journal, g.plan.Devices,
		alarms.Options{Now: g.now, Logger: g.logger, Registerer: g.reg, Unit: g.plan.units(),
			Events: func(ctx context.Context, device string, from, to time.Time) ([]shouwang.Event, error) {
				return g.store.Events(ctx, store.Query{Devices: []string{device}, From: from, To: to})
			}})
	if err != nil {
		return err
	}
	if err := g.addNotifiers(); err != nil {
		return err
	}
	if err := g.desk.StartNotifiers(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	var deskCtx context.Context
	deskCtx, g.deskCancel = context.WithCancel(context.WithoutCancel(ctx))
	g.deskWG.Go(func() { g.desk.Run(deskCtx, time.Second) })
	return nil
}

// addNotifiers builds the notify section's notifiers onto the desk.
func (g *Gateway) addNotifiers() error {
	for _, c := range g.plan.Notify.MQTT {
		n, err := alarms.NewMQTT(c, g.logger.With("notifier", c.Name))
		if err != nil {
			return fmt.Errorf("notify %s: %w", c.Name, err)
		}
		g.desk.AddNotifier(c.Name, c.Route, n)
	}
	for _, c := range g.plan.Notify.Webhooks {
		n, err := alarms.NewWebhook(c, alarms.WebhookOptions{Logger: g.logger.With("notifier", c.Name)})
		if err != nil {
			return fmt.Errorf("notify %s: %w", c.Name, err)
		}
		g.desk.AddNotifier(c.Name, c.Route, n)
	}
	return nil
}

// units returns the unit of each device's point as its profile gives it.
func (p *Plan) units() func(device, point string) string {
	units := map[[2]string]string{}
	for _, d := range p.Devices {
		if prof := p.Profiles[d.Profile]; prof != nil {
			for _, pt := range prof.Points {
				units[[2]string{d.ID, pt.Name}] = pt.Unit
			}
		}
	}
	return func(device, point string) string { return units[[2]string{device, point}] }
}

// buildDrivers builds every driver; g.drivers is fixed from then on.
func (g *Gateway) buildDrivers() error {
	for _, dp := range g.plan.Drivers {
		d, err := dp.Config.NewDriver(shouwang.DriverEnv{Name: dp.Name, Devices: dp.Devices, Models: dp.Models,
			Logger: g.logger.With("driver", dp.Name), Now: g.now, Dir: filepath.Join(g.plan.Config.Gateway.DataDir, "drivers", dp.Name)})
		if err != nil {
			return fmt.Errorf("driver %s: %w", dp.Name, err)
		}
		// A driver that counts what happens on its wire (timeouts, CRC
		// errors per device) exposes the counts on /metrics.
		if c, ok := d.(prometheus.Collector); ok {
			if err := g.reg.Register(c); err != nil {
				return fmt.Errorf("driver %s: metrics: %w", dp.Name, err)
			}
		}
		run := &driverRun{name: dp.Name, driver: d}
		if c, ok := dp.Config.(mqttconn.Client); ok && g.broker != nil && c.MQTTBroker() != nil {
			url, _, _ := g.broker.Internal()
			run.onEmbeddedBroker = c.MQTTBroker().URL == url
		}
		if run.onEmbeddedBroker {
			g.unsubscribed.Add(1)
		}
		g.drivers = append(g.drivers, run)
	}
	return nil
}

// startDrivers starts each driver in its own goroutine, retrying a failed
// Start with backoff: a serial adapter that is not plugged in yet must not
// keep the rest of the gateway from running.
func (g *Gateway) startDrivers(ctx context.Context) {
	var drvCtx context.Context
	drvCtx, g.drvCancel = context.WithCancel(ctx)
	g.running.Store(true)
	if g.unsubscribed.Load() == 0 {
		g.openBrokerToDevices()
	}
	for _, run := range g.drivers {
		g.drvWG.Go(func() { g.keepStarting(drvCtx, run) })
	}
}

func (g *Gateway) keepStarting(ctx context.Context, run *driverRun) {
	backoff := time.Second
	for {
		err := run.driver.Start(ctx, g.bus)
		if err == nil {
			run.started.Store(true)
			if run.onEmbeddedBroker && g.unsubscribed.Add(-1) == 0 {
				g.openBrokerToDevices()
			}
			return
		}
		run.lastErr.Store(err.Error())
		g.logger.Warn("driver failed to start; retrying", "driver", run.name, "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// shutdown stops everything in order within the shutdown timeout. It
// works after a partial start.
func (g *Gateway) shutdown() error {
	g.running.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), g.plan.Config.Gateway.ShutdownTimeout)
	defer cancel()
	var errs []error
	if g.broker != nil {
		// First: it acknowledges devices' messages from memory, so from
		// now on they keep them rather than hand them to a broker about to
		// stop. Its clients (drivers, notifiers) reconnect next start.
		errs = append(errs, g.broker.Close())
	}
	if g.drvCancel != nil {
		g.drvCancel()
	}
	g.drvWG.Wait()
	for _, d := range g.drivers {
		if err := d.driver.Close(); err != nil {
			errs = append(errs, fmt.Errorf("driver %s: %w", d.name, err))
		}
	}
	if g.bus != nil {
		if err := g.bus.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if g.deskCancel != nil {
		g.deskCancel()
		g.deskWG.Wait()
	}
	// The notifiers deliver what the journal holds while the sinks drain;
	// what they cannot deliver in time stays in the journal.
	var notifyWG sync.WaitGroup
	if g.desk != nil {
		notifyWG.Go(func() { g.desk.StopNotifiers(ctx) })
	}
	for _, f := range g.forwarders {
		f.Drain()
	}
	drained := make(chan struct{})
	go func() { g.fwdWG.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-ctx.Done():
		// The outbox keeps what the sinks did not take; it goes out at the
		// next start.
		g.logger.Warn("sinks did not catch up before the shutdown timeout; the outbox keeps the rest")
	}
	if g.fwdCancel != nil {
		g.fwdCancel()
	}
	<-drained
	for i, s := range g.sinks {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sink %s: %w", g.plan.Sinks[i].Name, err))
		}
	}
	if g.outbox != nil {
		errs = append(errs, g.outbox.Close())
	}
	if g.httpSrv != nil {
		g.httpCancel()
		hctx, hcancel := context.WithTimeout(context.Background(), time.Second)
		if g.httpSrv.Shutdown(hctx) != nil {
			g.httpSrv.Close() // a history export still streaming is cut off
		}
		hcancel()
		g.httpWG.Wait()
	}
	notifyWG.Wait()
	if g.journal != nil {
		errs = append(errs, g.journal.Close())
	}
	if g.auth != nil {
		errs = append(errs, g.auth.Close())
	}
	if g.store != nil {
		errs = append(errs, g.store.Close())
	}
	return errors.Join(errs...)
}
