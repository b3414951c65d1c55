package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/store"
)

func (g *Gateway) serveHTTP() error {
	h := g.plan.Config.Gateway.HTTP
	if h.Listen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", h.Listen)
	if err != nil {
		return fmt.Errorf("gateway.http.listen: %w", err)
	}
	var streams context.Context
	streams, g.httpCancel = context.WithCancel(context.Background())
	g.httpSrv = &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return streams }}
	if g.opts.Listening != nil {
		g.opts.Listening(ln.Addr())
	}
	g.logger.Info("serving HTTP", "addr", ln.Addr().String(), "tls", h.TLSCert != "")
	g.httpWG.Go(func() {
		var err error
		if h.TLSCert != "" {
			err = g.httpSrv.ServeTLS(ln, h.TLSCert, h.TLSKey)
		} else {
			err = g.httpSrv.Serve(ln)
		}
		if err != nil && err != http.ErrServerClosed {
			g.logger.Error("HTTP server stopped", "err", err)
		}
	})
	return nil
}

// Handler serves the gateway's HTTP endpoints: the console's pages and
// logins, and, for a logged-in user, the API; metrics and health checks
// need no login (a monitoring system scrapes them).
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{Registry: g.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", g.readyz)
	mux.Handle("/api/v1/session", g.auth.Handler())
	mux.Handle("/api/v1/audit", g.auth.Handler())
	mux.Handle("/api/v1/", g.auth.Guard(g.apiHandler(), permission))
	mux.Handle("/", g.console.Handler())
	return mux
}

// apiHandler is everything under /api/v1/ that needs a login.
func (g *Gateway) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(store.ReadingsPath, g.store.Handler())
	mux.Handle(store.EventsPath, g.store.Handler())
	if g.desk != nil {
		mux.Handle("/api/v1/alarms", g.desk.Handler())
		mux.Handle("/api/v1/alarms/", g.desk.Handler())
	}
	mux.Handle("/api/v1/site", g.console.Handler())
	mux.Handle("/api/v1/devices", g.console.Handler())
	mux.Handle("/api/v1/devices/", g.console.Handler())
	mux.Handle("/api/v1/grades", g.console.Handler())
	for _, d := range g.drivers {
		if k, ok := d.driver.(shouwang.EvidenceKeeper); ok {
			prefix := "/api/v1/evidence/" + d.name + "/"
			mux.Handle("GET "+prefix+"{file}", http.StripPrefix(prefix, http.FileServerFS(k.Evidence())))
		}
	}
	mux.HandleFunc("GET /api/v1/{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Shouwang %s (%s)\n\n"+
			"/api/v1/session       POST {user, password} logs in; GET who; DELETE logs out\n"+
			"/api/v1/readings      history: ?device=ID&point=gas&from=RFC3339&to=RFC3339&format=csv\n"+
			"/api/v1/events        events:  ?device=ID&kind=smoke_alarm&from=...&to=...\n"+
			"/api/v1/alarms        open alarms; /api/v1/alarms/{id}, POST /api/v1/alarms/{id}/acknowledge ...\n"+
			"/api/v1/alarms/stream the live board (server-sent events)\n"+
			"/api/v1/site          the communities and their buildings\n"+
			"/api/v1/devices       every device with its state and last readings\n"+
			"/api/v1/grades        ?month=2026-11: each building graded green, yellow or red\n"+
			"/api/v1/evidence/     a camera driver's evidence images: /api/v1/evidence/{driver}/{name}\n"+
			"/api/v1/audit         the audit journal (admin)\n"+
			"/metrics, /healthz, /readyz  need no login\n",
			Version, g.plan.Config.Gateway.Name)
	})
	return mux
}

// readyz answers 200 when every driver has started, and otherwise 503
// with what is still starting and why.
func (g *Gateway) readyz(w http.ResponseWriter, r *http.Request) {
	type driverState struct {
		Name    string `json:"name"`
		Started bool   `json:"started"`
		Error   string `json:"last_error,omitempty"`
	}
	ready := g.running.Load()
	var ds []driverState
	for _, d := range g.drivers {
		s := driverState{Name: d.name, Started: d.started.Load()}
		if e, ok := d.lastErr.Load().(string); ok && !s.Started {
			s.Error = e
		}
		ready = ready && s.Started
		ds = append(ds, s)
	}
	w.Header().Set("Content-Type", "application/json")
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(map[string]any{"ready": ready, "drivers": ds})
}
