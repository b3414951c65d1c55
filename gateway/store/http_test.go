package store

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/mock"
)

// httpStore is a store holding queryData plus a few readings and events
// that are awkward to encode.
func httpStore(t *testing.T) *Store {
	t.Helper()
	s := MustOpen(t, testConfig(t), mock.NewClock(base).Now)
	b := queryData()
	b.Readings = append(b.Readings,
		shouwang.Reading{Device: "d4", Point: "gas", Value: math.NaN(), Unit: "%LEL", Quality: shouwang.Bad, Time: minute(20)},
		shouwang.Reading{Device: "d4", Point: "gas", Value: oddFloat, Unit: "%LEL", Quality: shouwang.Stale, Time: minute(21)},
	)
	b.Events = append(b.Events, shouwang.Event{
		Device: "d4", Kind: "smoke_alarm", Severity: shouwang.Fire, Message: "=HYPERLINK(\"http://x\") 3号楼 12F 火警",
		Attrs: map[string]string{"loop": "1", "address": "23"}, Time: minute(20),
	})
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

var msTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestHandlerReadingsJSON(t *testing.T) {
	s := httpStore(t)
	h := s.Handler()
	rec := get(t, h, "/api/v1/readings?device=d4&device=d1&point=gas&from=2025-03-01T14:01:00%2B08:00&to=2025-03-01T06:30:00Z")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	var body struct {
		Readings []struct {
			Device  string   `json:"device"`
			Point   string   `json:"point"`
			Value   *float64 `json:"value"`
			Unit    string   `json:"unit"`
			Quality string   `json:"quality"`
			Time    string   `json:"time"`
		} `json:"readings"`
		Truncated bool `json:"truncated"`
	}
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatal(err)
	}
	// d1 gas at minutes 1..9, then d4 at 20 and 21.
	if len(body.Readings) != 11 || body.Truncated {
		t.Fatalf("%d readings, truncated %v; want 11, false", len(body.Readings), body.Truncated)
	}
	first := body.Readings[0]
	if first.Device != "d1" || first.Point != "gas" || *first.Value != 1 || first.Quality != "good" || first.Time != "2025-03-01T06:01:00.000Z" {
		t.Errorf("first reading %+v", first)
	}
	nan, stale := body.Readings[9], body.Readings[10]
	if nan.Value != nil || nan.Quality != "bad" || nan.Unit != "%LEL" {
		t.Errorf("NaN reading %+v, want value null, quality bad", nan)
	}
	if stale.Value == nil || *stale.Value != oddFloat || stale.Quality != "stale" {
		t.Errorf("stale reading %+v, want value 0.30000000000000004 exactly", stale)
	}
	for _, r := range body.Readings {
		if !msTime.MatchString(r.Time) {
			t.Errorf("time %q is not RFC 3339 UTC with milliseconds", r.Time)
		}
	}

	// Nothing matches: an empty list, not null.
	rec = get(t, h, "/api/v1/readings?device=nope")
	if got := strings.TrimSpace(rec.Body.String()); got != `{"readings":[],"truncated":false}` {
		t.Errorf("empty result %s", got)
	}
}

func TestHandlerTruncated(t *testing.T) {
	h := httpStore(t).Handler()
	for _, target := range []string{"/api/v1/readings?limit=3", "/api/v1/events?limit=3", "/api/v1/events?limit=3&format=csv"} {
		rec := get(t, h, target)
		if rec.Header().Get("X-Truncated") != "true" {
			t.Errorf("%s: X-Truncated %q, want true", target, rec.Header().Get("X-Truncated"))
		}
		if strings.Contains(target, "csv") {
			continue
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if len(body[strings.TrimPrefix(strings.Split(target, "?")[0], "/api/v1/")].([]any)) != 3 || body["truncated"] != true {
			t.Errorf("%s: %s, want 3 rows and truncated", target, rec.Body)
		}
	}
	// d1 and d2 hold 40 readings: a limit of 39 truncates them, 40 does not.
	for limit, want := range map[string]string{"39": "true", "40": ""} {
		rec := get(t, h, "/api/v1/readings?device=d1&device=d2&limit="+limit)
		if got := rec.Header().Get("X-Truncated"); got != want {
			t.Errorf("limit %s: X-Truncated %q, want %q", limit, got, want)
		}
	}
}

func readCSV(t *testing.T, rec *httptest.ResponseRecorder) [][]string {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	body := rec.Body.Bytes()
	if !bytes.HasPrefix(body, []byte("\ufeff")) {
		t.Errorf("CSV does not start with a UTF-8 byte order mark")
	}
	records, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, body)
	}
	return records
}

func TestHandlerReadingsCSV(t *testing.T) {
	h := httpStore(t).Handler()
	rec := get(t, h, "/api/v1/readings?device=d4&format=csv&from=2025-03-01T06:00:00Z&to=2025-03-01T07:00:00Z")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="readings_from_20250301T060000Z_to_20250301T070000Z.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	want := [][]string{
		{"time", "device", "point", "value", "unit", "quality"},
		{"2025-03-01T06:20:00.000Z", "d4", "gas", "NaN", "%LEL", "bad"},
		{"2025-03-01T06:21:00.000Z", "d4", "gas", "0.30000000000000004", "%LEL", "stale"},
	}
	if got := readCSV(t, rec); !reflect.DeepEqual(got, want) {
		t.Errorf("CSV\ngot  %q\nwant %q", got, want)
	}
	rec = get(t, h, "/api/v1/readings?format=csv")
	if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="readings.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if n := len(readCSV(t, rec)); n != 52+1 {
		t.Errorf("%d CSV rows, want 53", n)
	}
}

func TestHandlerEvents(t *testing.T) {
	h := httpStore(t).Handler()
	rec := get(t, h, "/api/v1/events?device=d4&kind=smoke_alarm&kind=fault")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	want := `{"events":[{"device":"d4","kind":"smoke_alarm","severity":"fire","message":"=HYPERLINK(\"http://x\") 3号楼 12F 火警","attrs":{"address":"23","loop":"1"},"time":"2025-03-01T06:20:00.000Z"}],"truncated":false}`
	if got := strings.TrimSpace(rec.Body.String()); got != want {
		t.Errorf("events JSON\ngot  %s\nwant %s", got, want)
	}

	rec = get(t, h, "/api/v1/events?from=2025-03-01T06:09:00Z&format=csv")
	wantCSV := [][]string{
		{"time", "device", "kind", "severity", "message", "attrs"},
		{"2025-03-01T06:09:00.000Z", "d1", "gas_alarm", "alarm", "", ""},
		{"2025-03-01T06:09:00.000Z", "d2", "fault", "alarm", "", ""},
		{"2025-03-01T06:09:00.000Z", "d3", "smoke_alarm", "alarm", "", ""},
		// The message would run as a formula in a spreadsheet: quoted.
		{"2025-03-01T06:20:00.000Z", "d4", "smoke_alarm", "fire", "'=HYPERLINK(\"http://x\") 3号楼 12F 火警", `{"address":"23","loop":"1"}`},
	}
	if got := readCSV(t, rec); !reflect.DeepEqual(got, wantCSV) {
		t.Errorf("events CSV\ngot  %q\nwant %q", got, wantCSV)
	}
	if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="events_from_20250301T060900Z.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
}

func TestHandlerBadRequests(t *testing.T) {
	h := httpStore(t).Handler()
	tests := []struct {
		target string
		want   []problem // Problem is a substring
	}{
		{"/api/v1/readings?from=yesterday", []problem{{"from", `"yesterday" is not a time (RFC 3339, e.g. 2025-03-01T14:00:00+08:00)`}}},
		{"/api/v1/readings?from=2025-03-01T14:00:00+08:00", []problem{{"from", "a + in the offset must be sent as %2B"}}},
		{"/api/v1/events?to=2025-02-30T00:00:00Z", []problem{{"to", "is not a time"}}},
		{"/api/v1/readings?from=2025-03-01T07:00:00Z&to=2025-03-01T06:00:00Z", []problem{{"to", "2025-03-01T06:00:00Z is not after from 2025-03-01T07:00:00Z"}}},
		{"/api/v1/readings?from=2025-03-01T06:00:00Z&to=2025-03-01T14:00:00%2B08:00", []problem{{"to", "is not after from"}}},
		{"/api/v1/readings?from=2025-03-01T06:00:00Z&from=2025-03-01T07:00:00Z", []problem{{"from", "given 2 times (at most once)"}}},
		{"/api/v1/readings?limit=0", []problem{{"limit", `"0" is not a limit (a whole number from 1 to 100000; the default is 10000)`}}},
		{"/api/v1/readings?limit=-5", []problem{{"limit", "is not a limit"}}},
		{"/api/v1/readings?limit=ten", []problem{{"limit", "is not a limit"}}},
		{"/api/v1/readings?limit=100001", []problem{{"limit", "is not a limit"}}},
		{"/api/v1/readings?limit=99999999999999999999", []problem{{"limit", "is not a limit"}}},
		{"/api/v1/readings?limit=", []problem{{"limit", "is not a limit"}}},
		{"/api/v1/events?format=xml", []problem{{"format", `"xml" is not a format (json or csv)`}}},
		{"/api/v1/readings?device=", []problem{{"device", "empty value (a device name; leave device out to select all)"}}},
		{"/api/v1/readings?device=d1&device=", []problem{{"device", "empty value"}}},
		{"/api/v1/readings?point=" + strings.Repeat("x", 257), []problem{{"point", "value of 257 bytes is too long (at most 256)"}}},
		{"/api/v1/readings?device=%ff", []problem{{"device", "is not UTF-8 text"}}},
		{"/api/v1/readings?point=gas" + strings.Repeat("&point=gas", 100), []problem{{"point", "given 101 times (at most 100; leave point out to select all)"}}},
		{"/api/v1/readings?devices=d1", []problem{{"devices", "unknown parameter (device, point, from, to, limit, format)"}}},
		{"/api/v1/readings?kind=fault", []problem{{"kind", "unknown parameter (device, point, from, to, limit, format)"}}},
		{"/api/v1/events?point=gas", []problem{{"point", "unknown parameter (device, kind, from, to, limit, format)"}}},
		{"/api/v1/events?%zz", []problem{{"query", "malformed query string"}}},
		{"/api/v1/events?device=d1;kind=x", []problem{{"query", "malformed query string"}}},
		{"/api/v1/events?=d1", []problem{{"query", "a value without a parameter name (name=value; the names are device, kind, from, to, limit, format)"}}},
		// Every problem is reported, in parameter order.
		{"/api/v1/events?limit=0&format=xml&from=x&bogus=1", []problem{{"bogus", "unknown"}, {"format", "not a format"}, {"from", "not a time"}, {"limit", "not a limit"}}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := get(t, h, tt.target)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			var body struct {
				Error    string    `json:"error"`
				Problems []problem `json:"problems"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
			if len(body.Problems) != len(tt.want) {
				t.Fatalf("problems %+v, want %+v", body.Problems, tt.want)
			}
			for i, w := range tt.want {
				g := body.Problems[i]
				if g.Parameter != w.Parameter || !strings.Contains(g.Problem, w.Problem) {
					t.Errorf("problem %d = %+v, want %q containing %q", i, g, w.Parameter, w.Problem)
				}
				if !strings.Contains(body.Error, w.Parameter+": ") {
					t.Errorf("error %q does not name %s", body.Error, w.Parameter)
				}
			}
		})
	}
}

func TestHandlerMethods(t *testing.T) {
	h := httpStore(t).Handler()
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodHead} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(m, "/api/v1/readings", strings.NewReader("x")))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET" {
			t.Errorf("%s: status %d, Allow %q; want 405, GET", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

func TestHandlerStoreError(t *testing.T) {
	s := httpStore(t)
	h := s.Handler()
	s.Close()
	rec := get(t, h, "/api/v1/readings")
	if rec.Code != http.StatusInternalServerError || strings.TrimSpace(rec.Body.String()) != `{"error":"internal error"}` {
		t.Fatalf("status %d %s, want 500 and no detail", rec.Code, rec.Body)
	}
}

// TestHandlerServer goes through a real listener on a free port, as the
// gateway serves it.
func TestHandlerServer(t *testing.T) {
	srv := httptest.NewServer(httpStore(t).Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/events?device=d1&limit=2&format=csv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("status %d, Content-Disposition %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}
	if lines := strings.Count(string(body), "\n"); lines != 3 {
		t.Fatalf("%d lines, want a header and 2 rows:\n%s", lines, body)
	}
}

func FuzzQueryParams(f *testing.F) {
	for _, seed := range []string{
		"",
		"device=d1&device=d2&point=gas&from=2025-03-01T14:00:00%2B08:00&to=2025-03-02T00:00:00Z&limit=100&format=csv",
		"kind=smoke_alarm&from=2025-03-01T06:00:00.123456789Z",
		"from=2025-03-01T14:00:00+08:00",
		"limit=0&format=xml&from=x&bogus=1",
		"device=&point=%ff",
		"%zz",
		"a;b",
		"limit=100000&limit=1",
		"to=0000-01-01T00:00:00Z",
		"from=9999-12-31T23:59:59.999999999-23:59",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, a := range []api{readingsAPI, eventsAPI} {
			p, ps := parseParams(a, raw)
			if len(ps) > 0 {
				for _, pr := range ps {
					if pr.Parameter == "" || pr.Problem == "" {
						t.Fatalf("%s %q: empty problem %+v", a.name, raw, pr)
					}
				}
				continue
			}
			// An accepted query is one the store can answer.
			if p.Limit < 0 || p.Limit > MaxLimit {
				t.Fatalf("%s %q: limit %d accepted", a.name, raw, p.Limit)
			}
			if !p.From.IsZero() && !p.To.IsZero() && !p.From.Before(p.To) {
				t.Fatalf("%s %q: from %v not before to %v accepted", a.name, raw, p.From, p.To)
			}
			if err := p.Query.check(a == readingsAPI); err != nil {
				t.Fatalf("%s %q: accepted, but the store refuses it: %v", a.name, raw, err)
			}
			for _, v := range slices.Concat(p.Devices, p.Points, p.Kinds) {
				if v == "" || !utf8.ValidString(v) {
					t.Fatalf("%s %q: value %q accepted", a.name, raw, v)
				}
			}
			// Encoding the parsed query and parsing it again gives it back.
			again := p.encode(a)
			p2, ps2 := parseParams(a, again)
			if len(ps2) > 0 {
				t.Fatalf("%s %q: re-encoded as %q, which is refused: %v", a.name, raw, again, ps2)
			}
			if !slices.Equal(p.Devices, p2.Devices) || !slices.Equal(p.Points, p2.Points) || !slices.Equal(p.Kinds, p2.Kinds) ||
				!p.From.Equal(p2.From) || !p.To.Equal(p2.To) || p.Limit != p2.Limit || p.csv != p2.csv {
				t.Fatalf("%s %q: round trip through %q gives %+v, want %+v", a.name, raw, again, p2, p)
			}
		}
	})
}

// TestParamsTimeZone checks that offsets are honoured, not dropped.
func TestParamsTimeZone(t *testing.T) {
	p, ps := parseParams(readingsAPI, "from="+url.QueryEscape("2025-03-01T14:00:00+08:00"))
	if len(ps) > 0 || !p.From.Equal(time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC)) {
		t.Fatalf("from = %v, %v; want 06:00 UTC", p.From, ps)
	}
}
