package alarms

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang/mock"
)

// FuzzAlarmAPI throws arbitrary actions, bodies and queries at the alarm
// API: every answer is JSON with a status below 500, and a refused step
// changes nothing.
func FuzzAlarmAPI(f *testing.F) {
	for _, s := range [][3]string{
		{"acknowledge", `{"operator":"王警官","note":"收到"}`, "severity=alarm"},
		{"shelve", `{"operator":"王警官","note":"维修","until":"2026-11-24T09:00:00Z"}`, "from=2026-11-24T00:00:00Z&by=day"},
		{"close", `{"operator":""}`, "state=raised&building=3号楼"},
		{"explode", `{"operator":1}`, "to=yesterday"},
		{"resolve", `{`, "by=week"},
		{"dispatch", "\xff\xfe", "severity=%ff"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	fx := openDesk(f, f.TempDir(), mock.NewClock(t0))
	fx.gas(f, 0, 30)
	h := fx.desk.Handler()
	f.Fuzz(func(t *testing.T, action, body, query string) {
		before := fx.desk.Open()
		for _, mr := range [][3]string{
			{"POST", "/api/v1/alarms/1/" + url.PathEscape(action), body},
			{"GET", "/api/v1/alarms?" + query, ""},
			{"GET", "/api/v1/alarms/figures?" + query, ""},
			{"GET", "/api/v1/alarms/closed?" + query, ""},
		} {
			req, err := http.NewRequest(mr[0], "http://gateway"+mr[1], strings.NewReader(mr[2]))
			if err != nil {
				continue // not a request a client could send
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s: %d %s", req.Method, req.URL, rec.Code, rec.Body)
			}
			switch {
			case strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json"):
				if !json.Valid(rec.Body.Bytes()) {
					t.Fatalf("%s %s: %d, not JSON: %q", req.Method, req.URL, rec.Code, rec.Body)
				}
			case rec.Code == http.StatusNotFound, rec.Code == http.StatusMethodNotAllowed,
				rec.Code >= 300 && rec.Code < 400: // the mux's own answers (path cleaning)
			default:
				t.Fatalf("%s %s: %d without a JSON body: %q", req.Method, req.URL, rec.Code, rec.Body)
			}
			if req.Method == "POST" && rec.Code != http.StatusOK {
				if after := fx.desk.Open(); len(after) != len(before) || after[0].Seq != before[0].Seq {
					t.Fatalf("refused %s (%d) changed the alarm", action, rec.Code)
				}
			}
		}
	})
}
