package alarms

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/store"
	"github.com/shouwang-iot/shouwang/mock"
	"github.com/shouwang-iot/shouwang/rules"
)

var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

var devices = []shouwang.Device{{ID: "gas-1202", Name: "1202 厨房燃气", Type: "gas",
	Location: shouwang.Location{Community: "阳光花园", Building: "3号楼", Unit: "2", Floor: 12, Room: "1202", Grid: "GX-03"},
	Tags:     map[string]string{"resident": "elderly"}}}

func f(v float64) *float64 { return &v }

var gasRule = rules.Rule{ID: "kitchen-gas", Type: rules.TypeThreshold, Point: "gas", Latch: true, Deadband: 2,
	Select: rules.Selector{Types: []string{"gas"}},
	Levels: []rules.Level{{Name: "warning", Above: f(10), Severity: "warning"}, {Name: "alarm", Above: f(25), Severity: "alarm"}}}

// fixture is a desk with its journal in dir, and the history store in dir
// that a restarted desk replays events from.
type fixture struct {
	desk  *Desk
	store *store.Store
	clock *mock.Clock
	close func()
}

// openDesk opens the kitchen gas rule's desk.
func openDesk(t testing.TB, dir string, c *mock.Clock) *fixture {
	t.Helper()
	return openDeskOn(t, dir, c, []rules.Rule{gasRule}, devices)
}

func openDeskOn(t testing.TB, dir string, c *mock.Clock, rs []rules.Rule, devs []shouwang.Device) *fixture {
	t.Helper()
	cfg := store.DefaultConfig()
	cfg.Path, cfg.PruneInterval = filepath.Join(dir, "history.db"), 0
	st, err := store.Open(context.Background(), cfg, c.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(context.Background(), filepath.Join(dir, "alarms.db"))
	if err != nil {
		t.Fatal(err)
	}
	engine, err := rules.New(rs, devs)
	if err != nil {
		t.Fatal(err)
	}
	book, _ := rules.NewAlarmBook(rules.DefaultAlarmConfig())
	d, err := NewDesk(context.Background(), engine, book, j, devs, Options{Now: c.Now,
		Events: func(ctx context.Context, device string, from, to time.Time) ([]shouwang.Event, error) {
			return st.Events(ctx, store.Query{Devices: []string{device}, From: from, To: to})
		}})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	fx := &fixture{desk: d, store: st, clock: c, close: func() {
		if !closed {
			closed = true
			j.Close()
			st.Close()
		}
	}}
	t.Cleanup(fx.close)
	return fx
}

func (fx *fixture) gas(t testing.TB, at time.Duration, v float64) {
	t.Helper()
	fx.clock.Set(t0.Add(at))
	b := shouwang.Batch{Readings: []shouwang.Reading{{Device: "gas-1202", Point: "gas", Value: v, Unit: "%LEL", Time: t0.Add(at)}}}
	if err := fx.desk.Take(context.Background(), []shouwang.Batch{b}); err != nil {
		t.Fatal(err)
	}
}

func call(t *testing.T, h http.Handler, method, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

// TestLifecycleThroughTheAPI: the gas leak raises a warning, then an alarm
// (one episode), the duty officer works it to closed through the API, and
// every refused step says why.
func TestLifecycleThroughTheAPI(t *testing.T) {
	fx := openDesk(t, t.TempDir(), mock.NewClock(t0))
	feed, stop := fx.desk.Subscribe(100)
	defer stop()
	h := fx.desk.Handler()
	fx.gas(t, 0, 12)
	fx.gas(t, time.Second, 30)
	m := <-feed
	if m.Kind != rules.KindRaised || m.Severity != shouwang.Warning || m.Location.Room != "1202" || m.Links["acknowledge"] != "/api/v1/alarms/1/acknowledge" {
		t.Fatalf("first announcement: %+v", m)
	}
	if m2 := <-feed; m2.AlarmID != 1 || m2.Severity != shouwang.Alarm {
		t.Fatalf("the rise to alarm is not the same episode: %+v", m2)
	}
	code, list := call(t, h, "GET", "/api/v1/alarms", "")
	alarms := list["alarms"].([]any)
	if code != 200 || len(alarms) != 1 {
		t.Fatalf("list: %d %v", code, list)
	}
	for _, q := range []struct {
		path string
		code int
		want string // in the error, or the number of alarms listed
	}{
		{"/api/v1/alarms?severity=loud", 400, "not one of"},
		{"/api/v1/alarms?state=asleep", 400, "state"},
		{"/api/v1/alarms?from=yesterday", 400, "RFC 3339"},
		{"/api/v1/alarms?severity=fire", 200, "0"},
		{"/api/v1/alarms?severity=warning&building=3号楼", 200, "1"},
		{"/api/v1/alarms?building=1号楼", 200, "0"},
		{"/api/v1/alarms?from=2026-11-24T08:00:00Z", 200, "1"},
		{"/api/v1/alarms?from=2026-11-24T08:00:01Z", 200, "0"},
		{"/api/v1/alarms?to=2026-11-24T08:00:00Z", 200, "0"},
		{"/api/v1/alarms/figures?by=week", 400, "not supported"},
		{"/api/v1/alarms/figures?from=2026-11-25T00:00:00Z&to=2026-11-24T00:00:00Z", 400, "before"},
		{"/api/v1/alarms/figures?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&by=day", 400, "366 days"},
		{"/api/v1/alarms/closed?from=now", 400, "RFC 3339"},
	} {
		code, out := call(t, h, "GET", q.path, "")
		got := fmt.Sprint(out["error"])
		if code == 200 {
			got = fmt.Sprint(len(out["alarms"].([]any)))
		}
		if code != q.code || !strings.Contains(got, q.want) {
			t.Errorf("GET %s: %d %s, want %d %s", q.path, code, got, q.code, q.want)
		}
	}
	steps := []struct {
		path, body string
		code       int
		want       string
	}{
		{"/api/v1/alarms/1/close", `{"operator":"王警官"}`, 409, "cannot close"},
		{"/api/v1/alarms/1/acknowledge", `{"operator":""}`, 400, "operator"},
		{"/api/v1/alarms/1/acknowledge", `{"operator":"王警官","bogus":1}`, 400, "unknown field"},
		{"/api/v1/alarms/9/acknowledge", `{"operator":"王警官"}`, 404, "9"},
		{"/api/v1/alarms/x/acknowledge", `{"operator":"王警官"}`, 400, "not a number"},
		{"/api/v1/alarms/1/explode", `{"operator":"王警官"}`, 404, "action"},
		{"/api/v1/alarms/1/acknowledge", `{"operator":"王警官","note":"看到了"}`, 200, "acknowledged"},
		{"/api/v1/alarms/1/dispatch", `{"operator":"王警官","note":"物业李师傅上门"}`, 200, "dispatched"},
		{"/api/v1/alarms/1/resolve", `{"operator":"李师傅","note":"关阀通风"}`, 200, "resolved"},
		{"/api/v1/alarms/1/close", `{"operator":"王警官"}`, 409, "condition is still active"},
	}
	for _, s := range steps {
		code, out := call(t, h, "POST", s.path, s.body)
		text, _ := json.Marshal(out)
		if code != s.code || !bytes.Contains(text, []byte(s.want)) {
			t.Fatalf("POST %s %s: %d %s, want %d containing %q", s.path, s.body, code, text, s.code, s.want)
		}
	}
	fx.gas(t, time.Minute, 0.5) // the gas is gone; the rule latches
	code, out := call(t, h, "POST", "/api/v1/alarms/1/close", `{"operator":"王警官"}`)
	if code != 409 || !strings.Contains(out["error"].(string), "reset") {
		t.Fatalf("close before reset: %d %v", code, out)
	}
	for _, a := range []string{"reset", "close"} {
		if code, out := call(t, h, "POST", "/api/v1/alarms/1/"+a, `{"operator":"王警官","note":"复核"}`); code != 200 {
			t.Fatalf("%s: %d %v", a, code, out)
		}
	}
	code, one := call(t, h, "GET", "/api/v1/alarms/1", "")
	hist := one["history"].([]any)
	if code != 200 || len(hist) < 8 {
		t.Fatalf("history of a closed alarm: %d, %d entries", code, len(hist))
	}
	if _, list := call(t, h, "GET", "/api/v1/alarms", ""); len(list["alarms"].([]any)) != 0 {
		t.Fatal("closed alarm still listed as open")
	}
	_, closed := call(t, h, "GET", "/api/v1/alarms/closed?from=2026-11-24T00:00:00Z", "")
	if len(closed["alarms"].([]any)) != 1 {
		t.Fatalf("closed list: %v", closed)
	}
	code, fig := call(t, h, "GET", "/api/v1/alarms/figures?from=2026-11-24T00:00:00Z&to=2026-11-25T00:00:00Z&grid=GX-03", "")
	if code != 200 || fig["share_closed"] != 1.0 || fig["to_close"].(map[string]any)["n"] != 1.0 {
		t.Fatalf("figures: %d %v", code, fig)
	}
	code, byDay := call(t, h, "GET", "/api/v1/alarms/figures?from=2026-11-23T00:00:00%2B08:00&to=2026-11-26T00:00:00%2B08:00&by=day", "")
	days, _ := byDay["days"].([]any)
	var raised []float64
	for _, d := range days {
		raised = append(raised, d.(map[string]any)["raised"].(float64))
	}
	// Havana skips midnight on 2024-03-10: the days still end.
	if havana, err := time.LoadLocation("America/Havana"); err == nil {
		fx.clock.Set(time.Date(2024, 3, 10, 12, 0, 0, 0, havana))
		code, out := call(t, h, "GET", "/api/v1/alarms/figures?by=day", "")
		if code != 200 || len(out["days"].([]any)) < 1 {
			t.Fatalf("figures by day across a skipped midnight: %d %v", code, out)
		}
		fx.clock.Set(t0)
	}
	// t0 is 08:00 UTC on the 24th: 16:00 on the 24th in Beijing.
	if code != 200 || fmt.Sprint(raised) != "[0 1 0]" {
		t.Fatalf("figures by Beijing day: %d, raised %v (%v)", code, raised, byDay)
	}
}

// TestEscalation: nobody acknowledges; the alarm escalates at the
// configured delays and stops once someone does.
func TestEscalation(t *testing.T) {
	fx := openDesk(t, t.TempDir(), mock.NewClock(t0))
	fx.gas(t, 0, 30)
	var levels []int
	for _, at := range []time.Duration{time.Minute, 2 * time.Minute, 7 * time.Minute} {
		fx.clock.Set(t0.Add(at))
		fx.desk.Tick(context.Background())
		a := fx.desk.Open()[0]
		levels = append(levels, a.Escalation)
	}
	if levels[0] != 1 || levels[1] != 2 || levels[2] != 3 {
		t.Fatalf("escalation levels at 1m, 2m, 7m: %v", levels)
	}
	if _, err := fx.desk.Act(context.Background(), 1, rules.ActionAcknowledge, "王警官", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	fx.clock.Set(t0.Add(time.Hour))
	fx.desk.Tick(context.Background())
	if fx.desk.Open()[0].Escalation != 3 {
		t.Fatal("escalated after acknowledgement")
	}
}

// TestRestartBringsAlarmsBack: the open alarm and its history come back
// after a restart, exactly as they were, and clear on the first normal
// reading.
func TestRestartBringsAlarmsBack(t *testing.T) {
	dir := t.TempDir()
	c := mock.NewClock(t0)
	fx := openDesk(t, dir, c)
	fx.gas(t, 0, 30)
	fx.desk.Act(context.Background(), 1, rules.ActionAcknowledge, "王警官", "收到", time.Time{})
	before := fx.desk.Open()
	fx.close()

	fx2 := openDesk(t, dir, c)
	after := fx2.desk.Open()
	b1, _ := json.Marshal(before)
	b2, _ := json.Marshal(after)
	if !bytes.Equal(b1, b2) {
		t.Fatalf("after the restart:\n%s\nbefore:\n%s", b2, b1)
	}
	_, hist, err := fx2.desk.Get(context.Background(), 1)
	if err != nil || len(hist) != 2 || hist[1].Operator != "王警官" {
		t.Fatalf("history after restart: %v %v", hist, err)
	}
	fx2.gas(t, time.Minute, 0)
	if a := fx2.desk.Open()[0]; a.Active || !a.Latched {
		t.Fatalf("the first normal reading did not clear the condition: %+v", a)
	}
	// A new episode after close gets the next id, not 1 again.
	for _, act := range []rules.Action{rules.ActionResolve, rules.ActionReset, rules.ActionClose} {
		if _, err := fx2.desk.Act(context.Background(), 1, act, "王警官", "ok", time.Time{}); err != nil {
			t.Fatal(act, err)
		}
	}
	fx2.gas(t, 2*time.Minute, 40)
	if a := fx2.desk.Open(); len(a) != 1 || a[0].ID != 2 {
		t.Fatalf("new episode: %+v", a)
	}
}

// TestClosedLoopMetrics: time to acknowledge and to close are measured per
// grid from the raise.
func TestClosedLoopMetrics(t *testing.T) {
	fx := openDesk(t, t.TempDir(), mock.NewClock(t0))
	fx.gas(t, 0, 30)
	fx.clock.Set(t0.Add(45 * time.Second))
	ctx := context.Background()
	fx.desk.Act(ctx, 1, rules.ActionAcknowledge, "王警官", "", time.Time{})
	fx.gas(t, time.Minute, 0)
	fx.clock.Set(t0.Add(10 * time.Minute))
	for _, a := range []rules.Action{rules.ActionResolve, rules.ActionReset, rules.ActionClose} {
		if _, err := fx.desk.Act(ctx, 1, a, "王警官", "ok", time.Time{}); err != nil {
			t.Fatal(a, err)
		}
	}
	for name, h := range map[string]prometheus.Observer{
		"to acknowledge": fx.desk.m.toAck.WithLabelValues("GX-03"),
		"to close":       fx.desk.m.toClose.WithLabelValues("GX-03"),
	} {
		var m dto.Metric
		h.(prometheus.Histogram).Write(&m)
		want := map[string]float64{"to acknowledge": 45, "to close": 600}[name]
		if m.GetHistogram().GetSampleCount() != 1 || m.GetHistogram().GetSampleSum() != want {
			t.Errorf("time %s: %d samples, sum %v; want 1 of %v s", name, m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum(), want)
		}
	}
}

// TestRestartDuringOffDelay: the smoke detector sent smoke_clear and the
// rule's off_delay was still running when the gateway stopped. The clear
// is in the history store, not the journal; after the restart the desk
// replays it and the alarm returns to normal when the off_delay runs out.
func TestRestartDuringOffDelay(t *testing.T) {
	dir := t.TempDir()
	c := mock.NewClock(t0)
	smoke := []shouwang.Device{{ID: "smoke-1202", Type: "smoke", Location: devices[0].Location}}
	rule := rules.Rule{ID: "smoke", Type: rules.TypeEvent, Kinds: []string{"smoke_alarm"}, OffDelay: 30 * time.Second,
		Select: rules.Selector{Types: []string{"smoke"}}}
	fx := openDeskOn(t, dir, c, []rules.Rule{rule}, smoke)
	d, st := fx.desk, fx.store
	for _, ev := range []shouwang.Event{
		{Device: "smoke-1202", Kind: "smoke_alarm", Severity: shouwang.Fire, Time: t0},
		{Device: "smoke-1202", Kind: "smoke_clear", Severity: shouwang.Info, Time: t0.Add(10 * time.Second)},
	} {
		c.Set(ev.Time)
		b := shouwang.Batch{Events: []shouwang.Event{ev}}
		if err := st.Write(context.Background(), b); err != nil { // the history follower's part
			t.Fatal(err)
		}
		if err := d.Take(context.Background(), []shouwang.Batch{b}); err != nil {
			t.Fatal(err)
		}
	}
	if a := d.Open(); len(a) != 1 || !a[0].Active {
		t.Fatalf("before the restart: %+v, want the smoke alarm active (its off_delay running)", a)
	}

	c.Set(t0.Add(20 * time.Second)) // the gateway restarts
	fx.close()
	d = openDeskOn(t, dir, c, []rules.Rule{rule}, smoke).desk
	c.Set(t0.Add(39 * time.Second))
	d.Tick(context.Background())
	if a := d.Open(); len(a) != 1 || !a[0].Active {
		t.Fatalf("at 39s: %+v, want still active", a)
	}
	c.Set(t0.Add(40 * time.Second))
	d.Tick(context.Background())
	if a := d.Open(); len(a) != 1 || a[0].Active || !a[0].ReturnedAt.Equal(t0.Add(40*time.Second)) {
		t.Fatalf("at 40s: %+v, want returned to normal at 40s", a)
	}
}
