package alarms

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/auth"
	"github.com/shouwang-iot/shouwang/mock"
	"github.com/shouwang-iot/shouwang/rules"
)

// sseEvent is one server-sent event as the board reads it.
type sseEvent struct {
	name, id, data string
}

func readEvents(t *testing.T, r *bufio.Reader, events chan<- sseEvent) {
	var ev sseEvent
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			close(events)
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.name != "" {
				events <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			ev.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// The board's stream starts with every open alarm, then carries each
// change as it happens, in the journal's order.
func TestStreamSnapshotThenTransitions(t *testing.T) {
	fx := openDesk(t, t.TempDir(), mock.NewClock(t0))
	fx.gas(t, 0, 12)
	fx.gas(t, time.Second, 13) // a warning, raised at the first
	srv := httptest.NewServer(fx.desk.Handler())
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1/alarms/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type %q", ct)
	}
	events := make(chan sseEvent, 16)
	go readEvents(t, bufio.NewReader(resp.Body), events)
	next := func() sseEvent {
		t.Helper()
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("the stream ended")
			}
			return ev
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
		}
		return sseEvent{}
	}
	snap := next()
	var s struct{ Alarms []Message }
	if snap.name != "snapshot" || json.Unmarshal([]byte(snap.data), &s) != nil || len(s.Alarms) != 1 ||
		s.Alarms[0].Severity != shouwang.Warning || !s.Alarms[0].RaisedAt.Equal(t0) {
		t.Fatalf("first event %+v, want a snapshot of the one warning", snap)
	}
	id := s.Alarms[0].AlarmID
	fx.gas(t, 2*time.Second, 30)
	fx.gas(t, 3*time.Second, 31) // up to an alarm
	ev := next()
	var m Message
	if ev.name != "transition" || json.Unmarshal([]byte(ev.data), &m) != nil || m.AlarmID != id ||
		m.Severity != shouwang.Alarm || !m.RaisedAt.Equal(t0) || ev.id == "" {
		t.Fatalf("after the rise: %+v", ev)
	}
	if _, err := fx.desk.Act(context.Background(), id, rules.ActionAcknowledge, "王警官", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if ev := next(); !strings.Contains(ev.data, `"kind":"acknowledged"`) || !strings.Contains(ev.data, `"operator":"王警官"`) {
		t.Fatalf("after the acknowledgement: %+v", ev)
	}
}

// A floor's alarms are acknowledged at once; one that cannot take the
// step is reported and does not stop the others; the operator is the
// logged-in user, whatever the body says.
func TestGroupStepAndTheLoggedInOperator(t *testing.T) {
	devs := []shouwang.Device{devices[0], devices[0]}
	devs[1].ID = "gas-1203"
	fx := openDeskOn(t, t.TempDir(), mock.NewClock(t0), []rules.Rule{gasRule}, devs)
	for i, dev := range []string{"gas-1202", "gas-1203"} {
		for j := range 2 {
			at := time.Duration(2*i+j) * time.Second
			fx.clock.Set(t0.Add(at))
			b := shouwang.Batch{Readings: []shouwang.Reading{{Device: dev, Point: "gas", Value: 30, Time: t0.Add(at)}}}
			if err := fx.desk.Take(context.Background(), []shouwang.Batch{b}); err != nil {
				t.Fatal(err)
			}
		}
	}
	open := fx.desk.Open()
	if len(open) != 2 {
		t.Fatalf("%d alarms open, want 2", len(open))
	}
	h := fx.desk.Handler()
	body := `{"ids": [` + jsonIDs(open[0].ID, open[1].ID, 999) + `], "note": "整层确认", "operator": "冒名"}`
	req := httptest.NewRequest("POST", "/api/v1/alarms/group/acknowledge", strings.NewReader(body))
	req = req.WithContext(auth.WithWho(req.Context(), auth.Who{User: "王警官", Role: "operator"}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out struct {
		Done   []Message
		Failed []struct {
			Alarm uint64
			Error string
		}
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if len(out.Done) != 2 || len(out.Failed) != 1 || out.Failed[0].Alarm != 999 || !strings.Contains(out.Failed[0].Error, "999") {
		t.Fatalf("done %d, failed %+v; want both acknowledged and 999 refused", len(out.Done), out.Failed)
	}
	for _, m := range out.Done {
		if m.Operator != "王警官" || m.State != rules.StateAcknowledged {
			t.Errorf("alarm %d: %s by %q, want acknowledged by the logged-in 王警官", m.AlarmID, m.State, m.Operator)
		}
	}
	for _, c := range []struct{ body, says string }{
		{`{"ids": []}`, "ids"},
		{`{"ids": [1], "extra": 1}`, "unknown field"},
		{`not json`, "body"},
	} {
		code, got := call(t, h, "POST", "/api/v1/alarms/group/acknowledge", c.body)
		if code != 400 || !strings.Contains(got["error"].(string), c.says) {
			t.Errorf("%s: %d %v, want 400 saying %q", c.body, code, got, c.says)
		}
	}
	if code, _ := call(t, h, "POST", "/api/v1/alarms/group/explode", `{"ids": [1]}`); code != 404 {
		t.Errorf("an unknown group action: %d, want 404", code)
	}

	// The history page's axis: transitions in a range, for some devices.
	code, got := call(t, h, "GET", "/api/v1/alarms/transitions?device=gas-1203&from="+t0.Format(time.RFC3339)+"&to="+t0.Add(time.Hour).Format(time.RFC3339), "")
	ts, _ := got["transitions"].([]any)
	if code != 200 || len(ts) != 2 { // raised and acknowledged
		t.Fatalf("transitions of gas-1203: %d %v", code, got)
	}
	for _, tr := range ts {
		if tr.(map[string]any)["device"] != "gas-1203" {
			t.Errorf("transition of another device: %v", tr)
		}
	}
	if code, _ := call(t, h, "GET", "/api/v1/alarms/transitions?from=2026-11-24T09:00:00Z&to=2026-11-24T08:00:00Z", ""); code != 400 {
		t.Errorf("from after to: %d, want 400", code)
	}
}

func jsonIDs(ids ...uint64) string {
	b, _ := json.Marshal(ids)
	return strings.Trim(string(b), "[]")
}
