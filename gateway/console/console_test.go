package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/grading"
	"github.com/shouwang-iot/shouwang/rules"
)

var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

var devices = []shouwang.Device{
	{ID: "gas-1202", Name: "1202 厨房燃气", Type: "gas", Location: shouwang.Location{Community: "sunshine", Building: "3", Floor: 12}},
	{ID: "smoke-0801", Type: "smoke", Location: shouwang.Location{Community: "sunshine", Building: "3", Floor: 8}},
}

func ev(dev, kind string, sev shouwang.Severity, at time.Duration) shouwang.Batch {
	return shouwang.Batch{Events: []shouwang.Event{{Device: dev, Kind: kind, Severity: sev, Time: t0.Add(at)}}}
}

func reading(dev, point string, v float64, at time.Duration) shouwang.Batch {
	return shouwang.Batch{Readings: []shouwang.Reading{{Device: dev, Point: point, Value: v, Unit: "%LEL", Time: t0.Add(at)}}}
}

// A device's state follows what it said: unknown until heard, offline
// until online again, faulty until the fault clears; an older reading
// never replaces a newer one.
func TestDeviceBoardStates(t *testing.T) {
	b := NewDeviceBoard(devices)
	steps := []struct {
		batch shouwang.Batch
		state string
		since time.Duration
	}{
		{shouwang.Batch{}, StateUnknown, 0},
		{reading("gas-1202", "gas", 3, time.Second), StateOnline, time.Second},
		{ev("gas-1202", "fault", shouwang.Fault, 2*time.Second), StateFault, 2 * time.Second},
		{ev("gas-1202", "offline", shouwang.Fault, 3*time.Second), StateOffline, 3 * time.Second},
		{ev("gas-1202", "online", shouwang.Info, 4*time.Second), StateFault, 4 * time.Second}, // the fault is still open
		{ev("gas-1202", "fault_clear", shouwang.Info, 5*time.Second), StateOnline, 5 * time.Second},
		{ev("gas-1202", "offline", shouwang.Fault, 6*time.Second), StateOffline, 6 * time.Second},
		{reading("gas-1202", "gas", 4, 7*time.Second), StateOffline, 6 * time.Second}, // part of a failing poll
		{ev("gas-1202", "online", shouwang.Info, 8*time.Second), StateOnline, 8 * time.Second},
		{reading("gas-1202", "gas", 9, 5*time.Second), StateOnline, 8 * time.Second}, // late
		{reading("nobody", "gas", 9, 9*time.Second), StateOnline, 8 * time.Second},
	}
	for i, s := range steps {
		b.Take(context.Background(), []shouwang.Batch{s.batch})
		st := b.status("gas-1202")
		if st.State != s.state || (s.since != 0 && !st.Since.Equal(t0.Add(s.since))) {
			t.Errorf("step %d: %s since %s, want %s since %s", i, st.State, st.Since.Sub(t0), s.state, s.since)
		}
	}
	if c := b.Counts(); c[StateOnline] != 1 || c[StateUnknown] != 1 || c[StateOffline] != 0 {
		t.Errorf("counts %v, want the gas detector online and the smoke detector unknown", c)
	}
	st := b.status("gas-1202")
	if st.Last["gas"].Value != 4 || st.Readings != 3 || st.Events != 6 {
		t.Errorf("last gas %v, %d readings, %d events; want 4, 3, 6", st.Last["gas"], st.Readings, st.Events)
	}
}

func get(t *testing.T, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// The device list joins the board's state, the open alarms and the
// drivers' per-device metrics.
func TestDevicesView(t *testing.T) {
	reg := prometheus.NewRegistry()
	polls := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shouwang_modbus_requests_total", Help: "h"}, []string{"device"})
	reg.MustRegister(polls)
	polls.WithLabelValues("gas-1202").Add(41)
	b := NewDeviceBoard(devices)
	b.Take(context.Background(), []shouwang.Batch{reading("gas-1202", "gas", 30, time.Second), reading("smoke-0801", "density", 0, time.Second)})
	open := []rules.Alarm{{ID: 7, Device: "gas-1202", Active: true, Severity: shouwang.Alarm, ActiveSince: t0.Add(time.Second)}}
	c := New(Options{Devices: devices, Board: b, Gatherer: reg, Open: func() []rules.Alarm { return open }})
	rec := get(t, c.Handler(), "/api/v1/devices")
	var out struct{ Devices []DeviceView }
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil || len(out.Devices) != 2 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	gas := out.Devices[0]
	if gas.State != StateAlarm || len(gas.Alarms) != 1 || gas.Alarms[0] != 7 || gas.Counters["shouwang_modbus_requests_total"] != 41 || gas.Last["gas"].Value != 30 {
		t.Errorf("gas: %+v", gas)
	}
	if smoke := out.Devices[1]; smoke.State != StateOnline || len(smoke.Alarms) != 0 {
		t.Errorf("smoke: %+v", smoke)
	}
	if rec := get(t, c.Handler(), "/api/v1/devices/nobody"); rec.Code != 404 || !strings.Contains(rec.Body.String(), "nobody") {
		t.Errorf("unknown device: %d %s", rec.Code, rec.Body)
	}
}

func TestGrades(t *testing.T) {
	zone := time.FixedZone("CST", 8*3600)
	c := New(Options{Devices: devices, Board: NewDeviceBoard(devices), Zone: zone, Now: func() time.Time { return t0 }, Grading: grading.DefaultConfig(),
		Sites: []Site{{ID: "sunshine", Buildings: []Building{{ID: "3", Floors: 18}}}},
		Alarms: func(ctx context.Context, from, to time.Time) ([]rules.Alarm, error) {
			return []rules.Alarm{{ID: 1, Device: "gas-1202", Severity: shouwang.Alarm, RaisedAt: t0}}, nil
		},
		Events: func(ctx context.Context, from, to time.Time) ([]shouwang.Event, error) { return nil, nil }})
	rec := get(t, c.Handler(), "/api/v1/grades?month=2026-11")
	var out struct {
		Month     string
		Buildings []grading.Grade
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.Month != "2026-11" || len(out.Buildings) != 1 || out.Buildings[0].Score == 0 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if rec := get(t, c.Handler(), "/api/v1/grades?month=November"); rec.Code != 400 || !strings.Contains(rec.Body.String(), "YYYY-MM") {
		t.Errorf("a bad month: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, New(Options{Board: NewDeviceBoard(nil)}).Handler(), "/api/v1/grades"); rec.Code != 404 {
		t.Errorf("no rules: %d", rec.Code)
	}
}

// The pages come gzipped to a browser that takes it, with an ETag per
// form; without a build, "/" says how to get one.
func TestPages(t *testing.T) {
	h := New(Options{Board: NewDeviceBoard(nil)}).Handler()
	rec := get(t, h, "/", "Accept-Encoding", "gzip")
	if !Built() {
		if rec.Code != 503 || !strings.Contains(rec.Body.String(), "make") {
			t.Errorf("not built: %d %s", rec.Code, rec.Body)
		}
		return
	}
	if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "gzip" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("index: %d %v", rec.Code, rec.Header())
	}
	plain := get(t, h, "/")
	if plain.Header().Get("Content-Encoding") != "" || plain.Header().Get("ETag") == rec.Header().Get("ETag") || !strings.Contains(plain.Body.String(), "<") {
		t.Errorf("plain index: %v", plain.Header())
	}
	if again := get(t, h, "/", "If-None-Match", plain.Header().Get("ETag")); again.Code != 304 {
		t.Errorf("revalidation: %d, want 304", again.Code)
	}
	if rec := get(t, h, "/nothing.js"); rec.Code != 404 {
		t.Errorf("a missing file: %d", rec.Code)
	}
}
