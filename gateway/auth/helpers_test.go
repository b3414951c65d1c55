package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang/gateway/internal/apijson"
	"github.com/shouwang-iot/shouwang/mock"
	"golang.org/x/crypto/bcrypt"
)

// t0 is the tests' time origin.
var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

const (
	// testPassword passes the policy; every test user has it.
	testPassword = "correct horse battery"
	testRemote   = "10.0.0.5:51234"
	testHost     = "gw.local:8080"
)

// env is an open Auth with its clock, a handler that serves it beside a
// few guarded endpoints, and what the code under test logged.
type env struct {
	a        *Auth
	clock    *mock.Clock
	h        http.Handler
	path     string
	compares *atomic.Int64 // bcrypt comparisons made
	log      *syncBuffer
}

// syncBuffer is a log the handlers write to from their goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// mustOpen opens the console database at path on clock, with bcrypt at
// its cheapest (the tests check behaviour, not cost), and closes it when
// the test ends.
func mustOpen(tb testing.TB, path string, clock *mock.Clock) (*Auth, *syncBuffer) {
	tb.Helper()
	log := &syncBuffer{}
	a, err := Open(context.Background(), path, DefaultConfig(), clock.Now, slog.New(slog.NewTextHandler(log, nil)))
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	a.cost = bcrypt.MinCost
	tb.Cleanup(func() {
		if err := a.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return a, log
}

// mustEnv opens a fresh database with the users named in roles (each with
// testPassword).
func mustEnv(tb testing.TB, roles map[string]Role) *env {
	tb.Helper()
	clock := mock.NewClock(t0)
	path := filepath.Join(tb.TempDir(), "console.db")
	a, log := mustOpen(tb, path, clock)
	e := &env{a: a, clock: clock, path: path, compares: &atomic.Int64{}, log: log}
	compare := a.compare
	a.compare = func(hash, password []byte) error {
		e.compares.Add(1)
		return compare(hash, password)
	}
	for name, role := range roles {
		if err := a.AddUser(context.Background(), name, role, testPassword); err != nil {
			tb.Fatal(err)
		}
	}
	e.h = testHandler(a)
	return e
}

// testHandler serves a's own endpoints and these, behind Guard:
//
//	GET  /api/v1/things           read; answers {"user", "role"}
//	POST /api/v1/alarms/7/ack     alarm.act; 200, flushed
//	POST /api/v1/alarms/7/close   alarm.act; 409, as a step the state refuses
//	PUT  /api/v1/devices/gas-1    device.write; 204
//	GET  /api/v1/stream           read; flushes twice
func testHandler(a *Auth) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/session", a.Handler())
	mux.Handle("/api/v1/audit", a.Handler())
	perm := func(p Perm) func(*http.Request) Perm { return func(*http.Request) Perm { return p } }
	mux.Handle("GET /api/v1/things", a.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, ok := From(r.Context())
		if !ok {
			http.Error(w, "no Who in the context", http.StatusTeapot)
			return
		}
		apijson.Write(w, http.StatusOK, map[string]string{"user": who.User, "role": string(who.Role)})
	}), perm(PermRead)))
	mux.Handle("POST /api/v1/alarms/7/ack", a.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apijson.Write(w, http.StatusOK, map[string]string{"done": "yes"})
		if err := http.NewResponseController(w).Flush(); err != nil {
			panic(err) // Guard's recorder hid the Flusher
		}
	}), perm(PermAlarmAct)))
	mux.Handle("POST /api/v1/alarms/7/close", a.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apijson.Error(w, http.StatusConflict, "alarm 7 is not resolved")
	}), perm(PermAlarmAct)))
	mux.Handle("PUT /api/v1/devices/gas-1", a.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}), perm(PermDeviceWrite)))
	mux.Handle("GET /api/v1/stream", a.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte(": ping\n\n"))
		w.(http.Flusher).Flush()
		if err := http.NewResponseController(w).Flush(); err != nil {
			panic(err)
		}
	}), nil))
	return mux
}

// req is one request a test makes.
type req struct {
	method, path, body string
	cookie             string // session id
	csrf               string // X-CSRF-Token
	origin             string
	basic              [2]string // user, password
	remote             string    // default testRemote
}

func (e *env) do(tb testing.TB, r req) *httptest.ResponseRecorder {
	tb.Helper()
	hr := httptest.NewRequest(r.method, "http://"+testHost+r.path, strings.NewReader(r.body))
	hr.RemoteAddr = testRemote
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	if r.cookie != "" {
		hr.AddCookie(&http.Cookie{Name: cookieName, Value: r.cookie})
	}
	if r.csrf != "" {
		hr.Header.Set("X-CSRF-Token", r.csrf)
	}
	if r.origin != "" {
		hr.Header.Set("Origin", r.origin)
	}
	if r.basic[0] != "" {
		hr.SetBasicAuth(r.basic[0], r.basic[1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, hr)
	return rec
}

// login logs user in with testPassword and returns the session id and
// CSRF token.
func (e *env) login(tb testing.TB, user string) (id, csrf string) {
	tb.Helper()
	rec := e.do(tb, req{method: "POST", path: "/api/v1/session", body: loginJSON(user, testPassword)})
	if rec.Code != http.StatusOK {
		tb.Fatalf("login %s: %d %s", user, rec.Code, rec.Body)
	}
	var b sessionBody
	mustDecode(tb, rec, &b)
	return sessionIDFrom(tb, rec), b.CSRF
}

func loginJSON(user, password string) string {
	b, _ := json.Marshal(loginBody{User: user, Password: password})
	return string(b)
}

// sessionIDFrom is the session cookie rec sets.
func sessionIDFrom(tb testing.TB, rec *httptest.ResponseRecorder) string {
	tb.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == cookieName {
			return c.Value
		}
	}
	tb.Fatalf("no %s cookie in %v", cookieName, rec.Header())
	return ""
}

func mustDecode(tb testing.TB, rec *httptest.ResponseRecorder, v any) {
	tb.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		tb.Fatalf("body %q: %v", rec.Body, err)
	}
}

// errorOf is the "error" of a JSON error body, failing the test if the
// status is not want.
func errorOf(tb testing.TB, rec *httptest.ResponseRecorder, want int) string {
	tb.Helper()
	if rec.Code != want {
		tb.Fatalf("status %d, want %d; body %s", rec.Code, want, rec.Body)
	}
	var b map[string]any
	mustDecode(tb, rec, &b)
	msg, ok := b["error"].(string)
	if !ok || msg == "" {
		tb.Fatalf("body %s has no error", rec.Body)
	}
	return msg
}

// journal is every audit entry, oldest first.
func (e *env) journal(tb testing.TB) []Entry {
	tb.Helper()
	es, err := e.a.entries(context.Background(), auditQuery{limit: maxAuditLimit})
	if err != nil {
		tb.Fatal(err)
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}
