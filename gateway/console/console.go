// Package console serves the web console and the parts of its API that
// no other package owns: the site plan, the devices with their live state,
// and the monthly grades. The alarm API is the alarm desk's, the history
// the store's, logins the auth package's; the gateway mounts them all.
package console

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/grading"
	"github.com/shouwang-iot/shouwang/gateway/internal/apijson"
	"github.com/shouwang-iot/shouwang/rules"
)

// Site is one community as the console draws it.
type Site struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Grid      string     `json:"grid,omitempty"`
	Buildings []Building `json:"buildings"`
}

// Building is one building of a site.
type Building struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Units     int    `json:"units,omitempty"`
	Floors    int    `json:"floors"`
	Basements int    `json:"basements,omitempty"`
}

// Options are what the console shows and where it reads it.
type Options struct {
	Name    string // the gateway's
	Sites   []Site
	Devices []shouwang.Device
	Board   *DeviceBoard
	// Open lists the open alarms; nil when the gateway has no rules.
	Open func() []rules.Alarm
	// Gatherer gives the drivers' per-device metrics (a "device" label).
	Gatherer prometheus.Gatherer
	// Raw gives a device's points before decoding, from its driver
	// (shouwang.RawKeeper); nil, or a nil answer, leaves them out.
	Raw func(device string) map[string]string
	// Grading grades the buildings each month from the alarms raised
	// (Alarms: those raised in [from, to), open or closed) and the
	// events (Events: those in [from, to)); with Alarms nil,
	// /api/v1/grades answers 404.
	Grading grading.Config
	Alarms  func(ctx context.Context, from, to time.Time) ([]rules.Alarm, error)
	Events  func(ctx context.Context, from, to time.Time) ([]shouwang.Event, error)
	// Zone is where months begin (Asia/Shanghai for a community).
	Zone   *time.Location
	Now    func() time.Time
	Logger *slog.Logger
}

// Console serves /api/v1/site, /api/v1/devices and the pages.
type Console struct {
	opts Options
}

// New builds the console.
func New(opts Options) *Console {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Console{opts: opts}
}

// Handler serves the console's endpoints with their full paths, and the
// pages at "/".
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/site", c.site)
	mux.HandleFunc("GET /api/v1/devices", c.listDevices)
	mux.HandleFunc("GET /api/v1/devices/{id}", c.oneDevice)
	mux.HandleFunc("GET /api/v1/grades", c.grades)
	mux.Handle("GET /", pages())
	return mux
}

func (c *Console) site(w http.ResponseWriter, r *http.Request) {
	apijson.Write(w, http.StatusOK, map[string]any{"name": c.opts.Name, "sites": c.opts.Sites})
}

// DeviceView is a device as the installer's pages and the building view
// show it.
type DeviceView struct {
	ID       string                 `json:"id"`
	Name     string                 `json:"name,omitempty"`
	Type     string                 `json:"type,omitempty"`
	Profile  string                 `json:"profile,omitempty"`
	Driver   string                 `json:"driver,omitempty"`
	Address  string                 `json:"address,omitempty"`
	Location shouwang.Location      `json:"location"`
	Tags     map[string]string      `json:"tags,omitempty"`
	State    string                 `json:"state"`
	Since    time.Time              `json:"since,omitzero"`
	Last     map[string]LastReading `json:"last"`
	Faults   []string               `json:"faults,omitempty"`
	Raw      map[string]string      `json:"raw,omitempty"`
	Counters map[string]float64     `json:"counters"`
	Alarms   []uint64               `json:"alarms"`
	Readings int64                  `json:"readings"`
	Events   int64                  `json:"events"`
}

func (c *Console) views(only string) []DeviceView {
	alarms := map[string][]rules.Alarm{}
	if c.opts.Open != nil {
		for _, a := range c.opts.Open() {
			alarms[a.Device] = append(alarms[a.Device], a)
		}
	}
	counters := deviceCounters(c.opts.Gatherer)
	out := []DeviceView{}
	for _, d := range c.opts.Devices {
		if only != "" && d.ID != only {
			continue
		}
		st := c.opts.Board.status(d.ID)
		v := DeviceView{ID: d.ID, Name: d.Name, Type: d.Type, Profile: d.Profile, Driver: d.Driver, Address: d.Address,
			Location: d.Location, Tags: d.Tags, State: st.State, Since: st.Since, Last: st.Last, Faults: st.Faults,
			Counters: counters[d.ID], Alarms: []uint64{}, Readings: st.Readings, Events: st.Events}
		if v.Counters == nil {
			v.Counters = map[string]float64{}
		}
		for _, a := range alarms[d.ID] {
			v.Alarms = append(v.Alarms, a.ID)
			if a.Active && a.Severity >= shouwang.Warning {
				v.State = StateAlarm
				v.Since = a.ActiveSince
			}
		}
		slices.Sort(v.Alarms)
		out = append(out, v)
	}
	return out
}

func (c *Console) listDevices(w http.ResponseWriter, r *http.Request) {
	apijson.Write(w, http.StatusOK, map[string]any{"devices": c.views("")})
}

func (c *Console) oneDevice(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	vs := c.views(id)
	if len(vs) == 0 {
		apijson.Error(w, http.StatusNotFound, "no device "+id+" in the config")
		return
	}
	v := vs[0]
	if c.opts.Raw != nil {
		v.Raw = c.opts.Raw(id)
	}
	apijson.Write(w, http.StatusOK, v)
}

// deviceCounters sums the drivers' metrics that carry a device label, by
// device and metric name: poll counts, errors, whatever a driver counts.
func deviceCounters(g prometheus.Gatherer) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	if g == nil {
		return out
	}
	fams, _ := g.Gather() // a partial gather still shows what it has
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			var dev string
			for _, l := range m.GetLabel() {
				if l.GetName() == "device" {
					dev = l.GetValue()
				}
			}
			if dev == "" {
				continue
			}
			var v float64
			switch {
			case m.Counter != nil:
				v = m.Counter.GetValue()
			case m.Gauge != nil:
				v = m.Gauge.GetValue()
			default:
				continue
			}
			if out[dev] == nil {
				out[dev] = map[string]float64{}
			}
			out[dev][f.GetName()] += v
		}
	}
	return out
}

// offlineLookback is how far before a month the grades look for the
// event that says a device was already offline when the month began.
const offlineLookback = 31 * 24 * time.Hour

func (c *Console) grades(w http.ResponseWriter, r *http.Request) {
	if c.opts.Alarms == nil {
		apijson.Error(w, http.StatusNotFound, "grading needs the alarm rules; the gateway has none")
		return
	}
	now := c.opts.Now()
	month := now.In(c.opts.Zone)
	if s := r.URL.Query().Get("month"); s != "" {
		var err error
		if month, err = grading.ParseMonth(s, c.opts.Zone); err != nil {
			apijson.Error(w, http.StatusBadRequest, "month: "+err.Error())
			return
		}
	}
	from, to := grading.MonthRange(month)
	alarms, err := c.opts.Alarms(r.Context(), from, to)
	if err != nil {
		c.internalError(w, "reading the month's alarms", err)
		return
	}
	events, err := c.opts.Events(r.Context(), from.Add(-offlineLookback), to)
	if err != nil {
		c.internalError(w, "reading the month's events", err)
		return
	}
	var buildings []grading.Building
	for _, s := range c.opts.Sites {
		for _, b := range s.Buildings {
			// Devices are placed by the names people read, as the
			// gateway's loader puts them in their Location.
			buildings = append(buildings, grading.Building{Site: cmp.Or(s.Name, s.ID), ID: cmp.Or(b.Name, b.ID), Name: b.Name})
		}
	}
	g := grading.Compute(c.opts.Grading, grading.Input{Month: month, Now: now, Buildings: buildings,
		Devices: c.opts.Devices, Alarms: alarms, Events: events})
	apijson.Write(w, http.StatusOK, map[string]any{"month": month.Format("2006-01"), "weights": c.opts.Grading.Weights,
		"thresholds": map[string]float64{"yellow": c.opts.Grading.Yellow, "red": c.opts.Grading.Red}, "buildings": g})
}

// internalError logs what went wrong and tells the client no more.
func (c *Console) internalError(w http.ResponseWriter, doing string, err error) {
	c.opts.Logger.Error("console: "+doing, "err", err)
	apijson.Error(w, http.StatusInternalServerError, "internal error")
}
