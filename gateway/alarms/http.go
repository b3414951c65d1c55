package alarms

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/auth"
	"github.com/shouwang-iot/shouwang/gateway/internal/apijson"
	"github.com/shouwang-iot/shouwang/rules"
)

// Handler serves the alarm API:
//
//	GET  /api/v1/alarms                     open alarms (?severity=alarm&building=3号楼&state=raised&from=&to= on the raise time)
//	GET  /api/v1/alarms/closed?from=RFC3339 closed alarms
//	GET  /api/v1/alarms/figures?from=&to=&grid=&by=day   time to acknowledge, time to close, share closed
//	GET  /api/v1/alarms/transitions?from=&to=&device=ID   transitions stamped in [from, to), oldest first
//	GET  /api/v1/alarms/stream              the live board: server-sent events (stream.go)
//	GET  /api/v1/alarms/{id}                one alarm with its history
//	POST /api/v1/alarms/{id}/{action}       acknowledge, dispatch, resolve, close, reset, shelve, unshelve
//	                                        body {"note": "...", "until": RFC3339 (shelve)}
//	POST /api/v1/alarms/group/{action}      the same step on several alarms: {"ids": [7, 8], "note": "..."}
//
// The operator of a step is the logged-in user (auth.From); without a
// login (the handler on its own, in tests) the body's "operator".
func (d *Desk) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/alarms", d.listOpen)
	mux.HandleFunc("GET /api/v1/alarms/closed", d.listClosed)
	mux.HandleFunc("GET /api/v1/alarms/figures", d.figures)
	mux.HandleFunc("GET /api/v1/alarms/transitions", d.transitions)
	mux.HandleFunc("GET /api/v1/alarms/stream", d.stream)
	mux.HandleFunc("GET /api/v1/alarms/{id}", d.getOne)
	mux.HandleFunc("POST /api/v1/alarms/{id}/{action}", d.act)
	mux.HandleFunc("POST /api/v1/alarms/group/{action}", d.actGroup)
	return mux
}

func badRequest(w http.ResponseWriter, format string, args ...any) {
	apijson.Error(w, http.StatusBadRequest, fmt.Sprintf(format, args...))
}

// errorStatus maps the book's errors to HTTP, in this one place.
func errorStatus(err error) int {
	switch {
	case errors.Is(err, rules.ErrNoAlarm):
		return http.StatusNotFound
	case errors.Is(err, rules.ErrInvalidStep):
		return http.StatusConflict
	case errors.Is(err, rules.ErrInvalidInput):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func (d *Desk) listOpen(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var sev *shouwang.Severity
	if s := q.Get("severity"); s != "" {
		v, ok := shouwang.ParseSeverity(s)
		if !ok {
			badRequest(w, "severity %q is not one of %s", s, strings.Join(shouwang.SeverityNames(), ", "))
			return
		}
		sev = &v
	}
	var state *rules.WorkflowState
	if s := q.Get("state"); s != "" {
		var v rules.WorkflowState
		if err := v.UnmarshalText([]byte(s)); err != nil {
			badRequest(w, "state: %v", err)
			return
		}
		state = &v
	}
	building := q.Get("building")
	from, ok := parseTime(w, "from", q.Get("from"), time.Time{})
	if !ok {
		return
	}
	to, ok := parseTime(w, "to", q.Get("to"), time.Time{})
	if !ok {
		return
	}
	apijson.Write(w, http.StatusOK, map[string]any{"alarms": d.board(func(a rules.Alarm, dev shouwang.Device) bool {
		return (sev == nil || a.Severity >= *sev) && (state == nil || a.State == *state) &&
			(building == "" || dev.Location.Building == building) &&
			!a.RaisedAt.Before(from) && (to.IsZero() || a.RaisedAt.Before(to))
	})})
}

// board lists the open alarms keep keeps, most severe first, then oldest:
// the order a duty officer works in.
func (d *Desk) board(keep func(rules.Alarm, shouwang.Device) bool) []Message {
	out := []Message{}
	for _, a := range d.Open() {
		dev, _ := d.Device(a.Device)
		if keep(a, dev) {
			out = append(out, d.alarmView(a))
		}
	}
	slices.SortStableFunc(out, func(x, y Message) int {
		if x.Severity != y.Severity {
			return int(y.Severity) - int(x.Severity)
		}
		return x.Time.Compare(y.Time)
	})
	return out
}

// alarmView presents an alarm the way a transition message does.
func (d *Desk) alarmView(a rules.Alarm) Message {
	m := d.message(rules.Transition{AlarmID: a.ID, Seq: a.Seq, Time: a.RaisedAt, Rule: a.Rule, Device: a.Device,
		Severity: a.Severity, Peak: a.Peak, Level: a.Level, Point: a.Point, Value: a.Value, Detail: a.Detail, Active: a.Active,
		Latched: a.Latched, State: a.State, Escalation: a.Escalation, Reached: a.MaxLevel(), Chattering: a.Chattering,
		ShelvedUntil: a.Shelf.Until})
	m.RaisedAt = a.RaisedAt
	return m
}

func parseTime(w http.ResponseWriter, name, v string, def time.Time) (time.Time, bool) {
	if v == "" {
		return def, true
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		badRequest(w, "%s %q is not a time (want RFC 3339, e.g. 2026-11-24T08:00:00+08:00)", name, v)
		return t, false
	}
	return t, true
}

func (d *Desk) listClosed(w http.ResponseWriter, r *http.Request) {
	from, ok := parseTime(w, "from", r.URL.Query().Get("from"), d.now().Add(-24*time.Hour))
	if !ok {
		return
	}
	as, err := d.journal.ClosedSince(r.Context(), from.UnixMilli(), 1000)
	if err != nil {
		apijson.Error(w, http.StatusInternalServerError, "internal error")
		d.logger.Error("listing closed alarms", "err", err)
		return
	}
	out := []Message{}
	for _, a := range as {
		out = append(out, d.alarmView(a))
	}
	apijson.Write(w, http.StatusOK, map[string]any{"alarms": out})
}

// timeRange reads from and to, by default the last 24 hours; false when it
// has answered 400.
func (d *Desk) timeRange(w http.ResponseWriter, q url.Values) (from, to time.Time, ok bool) {
	if to, ok = parseTime(w, "to", q.Get("to"), d.now()); !ok {
		return
	}
	if from, ok = parseTime(w, "from", q.Get("from"), to.Add(-24*time.Hour)); !ok {
		return
	}
	if !from.Before(to) {
		badRequest(w, "from must be before to")
		return from, to, false
	}
	return from, to, true
}

func (d *Desk) figures(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, ok := d.timeRange(w, q)
	if !ok {
		return
	}
	closed, err := d.journal.ClosedSince(r.Context(), from.Add(-30*24*time.Hour).UnixMilli(), 100_000)
	if err != nil {
		apijson.Error(w, http.StatusInternalServerError, "internal error")
		d.logger.Error("reading closed alarms for the figures", "err", err)
		return
	}
	grid := q.Get("grid")
	keep := func(a *rules.Alarm) bool {
		dev, _ := d.Device(a.Device)
		return grid == "" || dev.Location.Grid == grid
	}
	all := append(closed, d.Open()...)
	switch by := q.Get("by"); by {
	case "":
		apijson.Write(w, http.StatusOK, rules.ComputeAlarmFigures(all, from, to, keep))
	case "day":
		if to.Sub(from) > 366*24*time.Hour {
			badRequest(w, "by=day covers at most 366 days (from %s to %s is longer)", from.Format(time.DateOnly), to.Format(time.DateOnly))
			return
		}
		// Days start at midnight in from's time zone: pass from as
		// 2026-11-01T00:00:00+08:00 for Beijing days.
		days := []rules.AlarmFigures{}
		for day := from; day.Before(to); {
			next := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, day.Location())
			if !next.After(day) { // a zone whose clocks skip midnight
				next = day.Add(24 * time.Hour)
			}
			if next.After(to) {
				next = to
			}
			days = append(days, rules.ComputeAlarmFigures(all, day, next, keep))
			day = next
		}
		apijson.Write(w, http.StatusOK, map[string]any{"days": days})
	default:
		badRequest(w, "by %q is not supported (valid: day, or leave it out for one figure over the range)", by)
	}
}

func alarmID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		badRequest(w, "alarm id %q is not a number", r.PathValue("id"))
		return 0, false
	}
	return id, true
}

func (d *Desk) getOne(w http.ResponseWriter, r *http.Request) {
	id, ok := alarmID(w, r)
	if !ok {
		return
	}
	a, history, err := d.Get(r.Context(), id)
	if err != nil {
		apijson.Error(w, errorStatus(err), err.Error())
		return
	}
	apijson.Write(w, http.StatusOK, map[string]any{"alarm": a, "view": d.alarmView(a), "history": history, "actions": a.Actions()})
}

type actBody struct {
	Operator string    `json:"operator"`
	Note     string    `json:"note"`
	Until    time.Time `json:"until"`
}

type groupBody struct {
	IDs      []uint64  `json:"ids"`
	Operator string    `json:"operator"`
	Note     string    `json:"note"`
	Until    time.Time `json:"until"`
}

// maxGroup bounds one group step: a floor's worth of detectors and more.
const maxGroup = 500

func (d *Desk) act(w http.ResponseWriter, r *http.Request) {
	id, ok := alarmID(w, r)
	if !ok {
		return
	}
	action, ok := parseAction(w, r)
	if !ok {
		return
	}
	var body actBody
	if !decodeBody(w, r, &body, `{"note": "on my way"}`) {
		return
	}
	t, err := d.Act(r.Context(), id, action, operator(r, body.Operator), body.Note, body.Until)
	if err != nil && errorStatus(err) != http.StatusInternalServerError {
		apijson.Error(w, errorStatus(err), err.Error())
		return
	}
	// A journal failure still leaves the step done; the response says so.
	resp := map[string]any{"transition": d.message(t)}
	if err != nil {
		resp["warning"] = "the step is done but the journal failed to record it"
	}
	apijson.Write(w, http.StatusOK, resp)
}

// actGroup takes one step on several alarms (a floor whose detectors all
// went off), each on its own: one refused does not stop the others.
func (d *Desk) actGroup(w http.ResponseWriter, r *http.Request) {
	action, ok := parseAction(w, r)
	if !ok {
		return
	}
	var body groupBody
	if !decodeBody(w, r, &body, `{"ids": [7, 8], "note": "on my way"}`) {
		return
	}
	if len(body.IDs) == 0 || len(body.IDs) > maxGroup {
		badRequest(w, "ids: %d alarms (want 1 to %d)", len(body.IDs), maxGroup)
		return
	}
	type failure struct {
		Alarm uint64 `json:"alarm"`
		Error string `json:"error"`
	}
	resp := struct {
		Done    []Message `json:"done"`
		Failed  []failure `json:"failed"`
		Warning string    `json:"warning,omitempty"`
	}{Done: []Message{}, Failed: []failure{}}
	who := operator(r, body.Operator)
	for _, id := range body.IDs {
		t, err := d.Act(r.Context(), id, action, who, body.Note, body.Until)
		switch {
		case err == nil:
			resp.Done = append(resp.Done, d.message(t))
		case errorStatus(err) == http.StatusInternalServerError:
			resp.Done = append(resp.Done, d.message(t))
			resp.Warning = "the steps are done but the journal failed to record some"
		default:
			resp.Failed = append(resp.Failed, failure{id, err.Error()})
		}
	}
	apijson.Write(w, http.StatusOK, resp)
}

func parseAction(w http.ResponseWriter, r *http.Request) (rules.Action, bool) {
	var action rules.Action
	if err := action.UnmarshalText([]byte(r.PathValue("action"))); err != nil {
		apijson.Error(w, http.StatusNotFound, err.Error())
		return action, false
	}
	return action, true
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any, example string) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		badRequest(w, "body: %v (want JSON like %s)", err, example)
		return false
	}
	return true
}

// operator is who takes a step: the logged-in user, else the name the
// body gives (the API used without the gateway's login, as in tests).
func operator(r *http.Request, named string) string {
	if who, ok := auth.From(r.Context()); ok {
		return who.User
	}
	return named
}

func (d *Desk) transitions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, ok := d.timeRange(w, q)
	if !ok {
		return
	}
	devices := q["device"]
	if len(devices) > maxFilterDevices {
		badRequest(w, "device: %d given (at most %d)", len(devices), maxFilterDevices)
		return
	}
	ts, err := d.journal.Between(r.Context(), from, to, devices, maxTransitions)
	if err != nil {
		apijson.Error(w, http.StatusInternalServerError, "internal error")
		d.logger.Error("listing transitions", "err", err)
		return
	}
	out := make([]Message, 0, len(ts))
	for _, t := range ts {
		out = append(out, d.message(t))
	}
	apijson.Write(w, http.StatusOK, map[string]any{"transitions": out, "truncated": len(ts) == maxTransitions})
}

// maxFilterDevices bounds the devices one history query names (SQLite
// takes at most 32766 parameters; a building has a few hundred devices).
const maxFilterDevices = 1000

// maxTransitions bounds one history query's transitions.
const maxTransitions = 20000
