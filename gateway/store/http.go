package store

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shouwang-iot/shouwang"
)

// The paths Handler serves; the gateway mounts the handler on both (or on
// "/"), without stripping a prefix.
const (
	ReadingsPath = "/api/v1/readings"
	EventsPath   = "/api/v1/events"
)

// MaxLimit is the largest limit the HTTP API accepts.
const MaxLimit = 100000

const (
	maxValueLen   = 256  // bytes in one device id, point or kind
	maxDevices    = 1000 // device values in one request
	maxFilterVals = 100  // point or kind values in one request
	// timeLayout is RFC 3339 in UTC with milliseconds, the store's precision.
	timeLayout = "2006-01-02T15:04:05.000Z07:00"
	// exampleTime is shown in error messages.
	exampleTime = "2025-03-01T14:00:00+08:00"
)

// Handler serves the history over HTTP, GET only:
//
//	GET /api/v1/readings?device=ID&device=ID2&point=gas&from=RFC3339&to=RFC3339&limit=N&format=json|csv
//	GET /api/v1/events?device=ID&kind=smoke_alarm&from=RFC3339&to=RFC3339&limit=N&format=json|csv
//
// Every parameter is optional; device, point and kind may repeat. from is
// inclusive, to exclusive; limit defaults to DefaultLimit and is at most
// MaxLimit. JSON is {"readings":[...],"truncated":bool} (or "events"); CSV
// is an attachment with a header row, UTF-8 with a byte order mark so that
// spreadsheet programs show Chinese text. When more rows matched than the
// limit, "truncated" is true and the X-Truncated header is set.
//
// A bad parameter gets 400 and {"error": "...", "problems": [{"parameter":
// ..., "problem": ...}]} naming every bad parameter and what would be valid.
func (s *Store) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(ReadingsPath, s.endpoint(readingsAPI))
	mux.Handle(EventsPath, s.endpoint(eventsAPI))
	return mux
}

// api describes one endpoint's parameters.
type api struct {
	name   string // "readings" or "events": the JSON key and CSV file name
	filter string // "point" or "kind": the endpoint's second list filter
}

var (
	readingsAPI = api{name: "readings", filter: "point"}
	eventsAPI   = api{name: "events", filter: "kind"}
)

func (a api) paramNames() []string {
	return []string{"device", a.filter, "from", "to", "limit", "format"}
}

// params is a parsed query string.
type params struct {
	Query
	csv bool
}

// problem is one bad parameter, as the 400 response shows it.
type problem struct {
	Parameter string `json:"parameter"`
	Problem   string `json:"problem"`
}

type problems []problem

func (ps *problems) add(param, format string, args ...any) {
	*ps = append(*ps, problem{Parameter: param, Problem: fmt.Sprintf(format, args...)})
}

func (ps problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Parameter + ": " + p.Problem
	}
	return strings.Join(msgs, "; ")
}

// parseParams parses a raw query string for the endpoint. It reports every
// bad parameter, in a stable order, and never panics (FuzzQueryParams).
func parseParams(a api, raw string) (params, problems) {
	var p params
	var ps problems
	values, err := url.ParseQuery(raw)
	if err != nil {
		ps.add("query", "malformed query string: %v (name=value pairs joined by &, percent-encoded)", err)
		return p, ps
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	var from, to bool
	for _, name := range names {
		vs := values[name]
		switch name {
		case "device":
			p.Devices = parseList(&ps, name, vs, maxDevices)
		case a.filter:
			list := parseList(&ps, name, vs, maxFilterVals)
			if a.filter == "point" {
				p.Points = list
			} else {
				p.Kinds = list
			}
		case "from", "to":
			v, ok := single(&ps, name, vs)
			if !ok {
				continue
			}
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				hint := ""
				if strings.Contains(v, " ") {
					hint = "; a + in the offset must be sent as %2B"
				}
				ps.add(name, "%q is not a time (RFC 3339, e.g. %s%s)", v, exampleTime, hint)
				continue
			}
			if name == "from" {
				p.From, from = t, true
			} else {
				p.To, to = t, true
			}
		case "limit":
			v, ok := single(&ps, name, vs)
			if !ok {
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxLimit {
				ps.add(name, "%q is not a limit (a whole number from 1 to %d; the default is %d)", v, MaxLimit, DefaultLimit)
				continue
			}
			p.Limit = n
		case "format":
			v, ok := single(&ps, name, vs)
			if !ok {
				continue
			}
			switch v {
			case "json":
			case "csv":
				p.csv = true
			default:
				ps.add(name, "%q is not a format (json or csv)", v)
			}
		case "":
			ps.add("query", "a value without a parameter name (name=value; the names are %s)", strings.Join(a.paramNames(), ", "))
		default:
			ps.add(name, "unknown parameter (%s)", strings.Join(a.paramNames(), ", "))
		}
	}
	if from && to && !p.From.Before(p.To) {
		ps.add("to", "%s is not after from %s (to is exclusive and must be later than from)", p.To.Format(time.RFC3339Nano), p.From.Format(time.RFC3339Nano))
	}
	return p, ps
}

func single(ps *problems, name string, vs []string) (string, bool) {
	if len(vs) != 1 {
		ps.add(name, "given %d times (at most once)", len(vs))
		return "", false
	}
	return vs[0], true
}

func parseList(ps *problems, name string, vs []string, max int) []string {
	if len(vs) > max {
		ps.add(name, "given %d times (at most %d; leave %s out to select all)", len(vs), max, name)
		return nil
	}
	for _, v := range vs {
		switch {
		case v == "":
			ps.add(name, "empty value (a %s name; leave %s out to select all)", name, name)
			return nil
		case len(v) > maxValueLen:
			ps.add(name, "value of %d bytes is too long (at most %d)", len(v), maxValueLen)
			return nil
		case !utf8.ValidString(v):
			ps.add(name, "%q is not UTF-8 text (a %s name)", v, name)
			return nil
		}
	}
	return vs
}

// encode is the inverse of parseParams, for the fuzz round trip.
func (p params) encode(a api) string {
	v := url.Values{}
	for _, d := range p.Devices {
		v.Add("device", d)
	}
	for _, f := range slices.Concat(p.Points, p.Kinds) {
		v.Add(a.filter, f)
	}
	if !p.From.IsZero() {
		v.Set("from", p.From.Format(time.RFC3339Nano))
	}
	if !p.To.IsZero() {
		v.Set("to", p.To.Format(time.RFC3339Nano))
	}
	if p.Limit != 0 {
		v.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.csv {
		v.Set("format", "csv")
	}
	return v.Encode()
}

func (s *Store) endpoint(a api) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed (GET)", r.Method), nil)
			return
		}
		p, ps := parseParams(a, r.URL.RawQuery)
		if len(ps) > 0 {
			writeError(w, http.StatusBadRequest, ps.Error(), ps)
			return
		}
		// One row more than asked tells whether the result was truncated.
		limit := p.Limit
		if limit == 0 {
			limit = DefaultLimit
		}
		q := p.Query
		q.Limit = limit + 1
		var err error
		if a == readingsAPI {
			var rs []shouwang.Reading
			if rs, err = s.Readings(r.Context(), q); err == nil {
				truncated := len(rs) > limit
				serve(w, a, p, rs[:min(len(rs), limit)], truncated, readingRecord, readingJSONOf)
			}
		} else {
			var es []shouwang.Event
			if es, err = s.Events(r.Context(), q); err == nil {
				truncated := len(es) > limit
				serve(w, a, p, es[:min(len(es), limit)], truncated, eventRecord, eventJSONOf)
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, ErrInvalidQuery):
			writeError(w, http.StatusBadRequest, err.Error(), nil)
		case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
			s.log.Debug("history request ended by the client", "url", r.URL.String())
		default:
			s.log.Error("history request failed", "url", r.URL.String(), "err", err)
			writeError(w, http.StatusInternalServerError, "internal error", nil)
		}
	})
}

func writeError(w http.ResponseWriter, code int, msg string, ps problems) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(struct {
		Error    string   `json:"error"`
		Problems problems `json:"problems,omitempty"`
	}{msg, ps})
}

// serve writes the rows as JSON or CSV, streaming them so that a large
// export is never held twice in memory.
func serve[T any](w http.ResponseWriter, a api, p params, rows []T, truncated bool, record func(T) []string, jsonOf func(T) any) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if truncated {
		h.Set("X-Truncated", "true")
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	defer bw.Flush()
	if p.csv {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, csvFileName(a, p)))
		bw.WriteString("\ufeff")
		cw := csv.NewWriter(bw)
		if a == readingsAPI {
			cw.Write([]string{"time", "device", "point", "value", "unit", "quality"})
		} else {
			cw.Write([]string{"time", "device", "kind", "severity", "message", "attrs"})
		}
		for _, r := range rows {
			cw.Write(record(r))
		}
		cw.Flush()
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	bw.WriteString(`{"` + a.name + `":[`)
	for i, r := range rows {
		if i > 0 {
			bw.WriteByte(',')
		}
		buf, _ := json.Marshal(jsonOf(r)) // plain strings and numbers: cannot fail
		bw.Write(buf)
	}
	bw.WriteString(`],"truncated":` + strconv.FormatBool(truncated) + "}\n")
}

// csvFileName names the export after what it holds and when.
func csvFileName(a api, p params) string {
	const stamp = "20060102T150405Z"
	name := a.name
	if !p.From.IsZero() {
		name += "_from_" + p.From.UTC().Format(stamp)
	}
	if !p.To.IsZero() {
		name += "_to_" + p.To.UTC().Format(stamp)
	}
	return name + ".csv"
}

type readingJSON struct {
	Device string `json:"device"`
	Point  string `json:"point"`
	// Value is null for NaN and the infinities, which JSON cannot carry.
	Value   *float64 `json:"value"`
	Unit    string   `json:"unit"`
	Quality string   `json:"quality"`
	Time    string   `json:"time"`
}

func readingJSONOf(r shouwang.Reading) any {
	j := readingJSON{Device: r.Device, Point: r.Point, Unit: r.Unit, Quality: r.Quality.String(), Time: formatTime(r.Time)}
	if !math.IsNaN(r.Value) && !math.IsInf(r.Value, 0) {
		j.Value = &r.Value
	}
	return j
}

func readingRecord(r shouwang.Reading) []string {
	return []string{formatTime(r.Time), csvText(r.Device), csvText(r.Point),
		strconv.FormatFloat(r.Value, 'g', -1, 64), csvText(r.Unit), r.Quality.String()}
}

type eventJSON struct {
	Device   string            `json:"device"`
	Kind     string            `json:"kind"`
	Severity string            `json:"severity"`
	Message  string            `json:"message"`
	Attrs    map[string]string `json:"attrs,omitempty"`
	Time     string            `json:"time"`
}

func eventJSONOf(e shouwang.Event) any {
	return eventJSON{Device: e.Device, Kind: e.Kind, Severity: e.Severity.String(), Message: e.Message, Attrs: e.Attrs, Time: formatTime(e.Time)}
}

func eventRecord(e shouwang.Event) []string {
	attrs := ""
	if len(e.Attrs) > 0 {
		buf, _ := json.Marshal(e.Attrs)
		attrs = string(buf)
	}
	return []string{formatTime(e.Time), csvText(e.Device), csvText(e.Kind), e.Severity.String(), csvText(e.Message), attrs}
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// csvText keeps a spreadsheet from running a cell as a formula: text that
// starts with = + - @ or a control character gets a leading apostrophe, as
// OWASP recommends. A device's message can come from outside.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
