package gateway

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/shouwang-iot/shouwang"
)

func (g *Gateway) serveHTTP() error {
	addr := g.plan.Config.Gateway.HTTP.Listen
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("gateway.http.listen: %w", err)
	}
	g.httpSrv = &http.Server{Handler: g.Handler()}
	if g.opts.Listening != nil {
		g.opts.Listening(ln.Addr())
	}
	g.logger.Info("serving HTTP", "addr", ln.Addr().String())
	g.httpWG.Go(func() {
		if err := g.httpSrv.Serve(ln); err != nil && err != http.ErrServerClosed {
			g.logger.Error("HTTP server stopped", "err", err)
		}
	})
	return nil
}

// Handler serves the gateway's HTTP endpoints.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{Registry: g.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", g.readyz)
	mux.Handle("/api/v1/", g.store.Handler())
	if g.desk != nil {
		mux.Handle("/api/v1/alarms", g.desk.Handler())
		mux.Handle("/api/v1/alarms/", g.desk.Handler())
	}
	for _, d := range g.drivers {
		if k, ok := d.driver.(shouwang.EvidenceKeeper); ok {
			prefix := "/api/v1/evidence/" + d.name + "/"
			mux.Handle("GET "+prefix, http.StripPrefix(prefix, http.FileServerFS(k.Evidence())))
		}
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Shouwang %s (%s)\n\n"+
			"/metrics              Prometheus metrics\n"+
			"/healthz, /readyz     liveness and readiness\n"+
			"/api/v1/readings      history: ?device=ID&point=gas&from=RFC3339&to=RFC3339&format=csv\n"+
			"/api/v1/events        events:  ?device=ID&kind=smoke_alarm&from=...&to=...\n"+
			"/api/v1/alarms        open alarms; /api/v1/alarms/{id}, POST /api/v1/alarms/{id}/acknowledge ...\n"+
			"/api/v1/evidence/     a camera driver's evidence images: /api/v1/evidence/{driver}/{name}\n",
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
