package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestUnauthenticated(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	for _, tc := range []struct {
		name string
		r    req
		want string
	}{
		{"nothing", req{method: "GET", path: "/api/v1/things"}, msgNoLogin},
		{"unknown session", req{method: "GET", path: "/api/v1/things", cookie: newToken()}, msgSessionGone},
		{"wrong password", req{method: "GET", path: "/api/v1/things", basic: [2]string{"wang", "not the password"}}, msgWrongPassword},
		{"unknown user", req{method: "GET", path: "/api/v1/things", basic: [2]string{"nobody", testPassword}}, msgWrongPassword},
		{"a POST", req{method: "POST", path: "/api/v1/alarms/7/ack"}, msgNoLogin},
		{"GET session", req{method: "GET", path: "/api/v1/session"}, msgNoLogin},
		{"audit", req{method: "GET", path: "/api/v1/audit"}, msgNoLogin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(t, tc.r)
			if msg := errorOf(t, rec, http.StatusUnauthorized); msg != tc.want {
				t.Errorf("401 says %q, want %q", msg, tc.want)
			}
			// No challenge: a browser must never keep basic credentials.
			if h := rec.Header().Get("WWW-Authenticate"); h != "" {
				t.Errorf("WWW-Authenticate: %s", h)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestForbidden(t *testing.T) {
	e := mustEnv(t, map[string]Role{"zhang": RoleFire, "zhao": RoleInstaller, "admin": RoleAdmin})
	msg := errorOf(t, e.do(t, req{method: "POST", path: "/api/v1/alarms/7/ack", basic: [2]string{"zhang", testPassword}}), http.StatusForbidden)
	for _, want := range []string{`"alarm.act"`, `"fire"`, `"zhang"`, "it has: read"} {
		if !strings.Contains(msg, want) {
			t.Errorf("403 says %q, want %s in it", msg, want)
		}
	}
	errorOf(t, e.do(t, req{method: "GET", path: "/api/v1/audit", basic: [2]string{"zhao", testPassword}}), http.StatusForbidden)
	if rec := e.do(t, req{method: "PUT", path: "/api/v1/devices/gas-1", basic: [2]string{"zhao", testPassword}}); rec.Code != http.StatusNoContent {
		t.Errorf("installer PUT: %d %s", rec.Code, rec.Body)
	}
	for _, r := range []req{
		{method: "POST", path: "/api/v1/alarms/7/ack"},
		{method: "PUT", path: "/api/v1/devices/gas-1"},
		{method: "GET", path: "/api/v1/audit"},
	} {
		r.basic = [2]string{"admin", testPassword}
		if rec := e.do(t, r); rec.Code >= 300 {
			t.Errorf("admin %s %s: %d %s", r.method, r.path, rec.Code, rec.Body)
		}
	}
}

func TestCSRF(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	id, csrf := e.login(t, "wang")
	for _, tc := range []struct {
		name   string
		r      req
		status int
	}{
		{"missing", req{}, http.StatusForbidden},
		{"wrong", req{csrf: newToken()}, http.StatusForbidden},
		{"a prefix", req{csrf: csrf[:20]}, http.StatusForbidden},
		{"right", req{csrf: csrf}, http.StatusOK},
		{"right, from this host", req{csrf: csrf, origin: "http://" + testHost}, http.StatusOK},
		{"right, from another site", req{csrf: csrf, origin: "https://evil.example"}, http.StatusForbidden},
		{"right, from this name on another port", req{csrf: csrf, origin: "http://gw.local:9090"}, http.StatusForbidden},
		{"right, from an opaque origin", req{csrf: csrf, origin: "null"}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.method, tc.r.path, tc.r.cookie = "POST", "/api/v1/alarms/7/ack", id
			rec := e.do(t, tc.r)
			if rec.Code != tc.status {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tc.status)
			}
			if tc.status == http.StatusForbidden {
				msg := errorOf(t, rec, http.StatusForbidden)
				if tc.r.origin == "" && msg != msgCSRF || tc.r.origin != "" && !strings.Contains(msg, tc.r.origin) {
					t.Errorf("403 says %q", msg)
				}
			}
		})
	}
	// Reading needs no token; basic auth needs none at all.
	if rec := e.do(t, req{method: "GET", path: "/api/v1/things", cookie: id}); rec.Code != http.StatusOK {
		t.Errorf("GET without a token: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(t, req{method: "POST", path: "/api/v1/alarms/7/ack", basic: [2]string{"wang", testPassword}}); rec.Code != http.StatusOK {
		t.Errorf("basic POST: %d %s", rec.Code, rec.Body)
	}
}

func TestBasicAuth(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	get := req{method: "GET", path: "/api/v1/things", basic: [2]string{"wang", testPassword}}
	for range 3 {
		rec := e.do(t, get)
		if rec.Code != http.StatusOK || rec.Body.String() != `{"role":"operator","user":"wang"}`+"\n" {
			t.Fatalf("basic GET: %d %s", rec.Code, rec.Body)
		}
		e.clock.Add(time.Minute)
	}
	if n := e.compares.Load(); n != 1 {
		t.Errorf("3 requests cost %d bcrypt comparisons, want 1", n)
	}
	// A wrong password is never taken from the cache.
	errorOf(t, e.do(t, req{method: "GET", path: "/api/v1/things", basic: [2]string{"wang", testPassword + "!"}}), http.StatusUnauthorized)
	// After five minutes the password is checked again.
	e.clock.Add(basicCacheFor)
	before := e.compares.Load()
	e.do(t, get)
	if n := e.compares.Load() - before; n != 1 {
		t.Errorf("after the cache ran out: %d comparisons, want 1", n)
	}
	// A new password ends the old one at once.
	if err := e.a.SetPassword(ctx, "wang", "a new password"); err != nil {
		t.Fatal(err)
	}
	errorOf(t, e.do(t, get), http.StatusUnauthorized)
	if rec := e.do(t, req{method: "GET", path: "/api/v1/things", basic: [2]string{"wang", "a new password"}}); rec.Code != http.StatusOK {
		t.Errorf("with the new password: %d %s", rec.Code, rec.Body)
	}
}

// A password changed by another process (the CLI) is not taken from the
// cache either: the cache is tied to the hash in the file.
func TestBasicAuthCacheSeesOtherProcess(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	get := req{method: "GET", path: "/api/v1/things", basic: [2]string{"wang", testPassword}}
	if rec := e.do(t, get); rec.Code != http.StatusOK {
		t.Fatalf("basic GET: %d %s", rec.Code, rec.Body)
	}
	cli, _ := mustOpen(t, e.path, e.clock)
	if err := cli.SetPassword(ctx, "wang", "a new password"); err != nil {
		t.Fatal(err)
	}
	errorOf(t, e.do(t, get), http.StatusUnauthorized)
}

// Basic auth on GET /api/v1/session answers who, with no CSRF token.
func TestSessionByBasicAuth(t *testing.T) {
	e := mustEnv(t, map[string]Role{"li": RoleViewer})
	rec := e.do(t, req{method: "GET", path: "/api/v1/session", basic: [2]string{"li", testPassword}})
	if rec.Code != http.StatusOK || rec.Body.String() != `{"user":"li","role":"viewer","csrf":"","can":["read"]}`+"\n" {
		t.Errorf("GET /api/v1/session by basic auth: %d %s", rec.Code, rec.Body)
	}
}

func TestGuardJournal(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator, "zhang": RoleFire})
	id, csrf := e.login(t, "wang")
	e.clock.Add(time.Second)
	cookie := func(method, path string) req {
		return req{method: method, path: path, cookie: id, csrf: csrf}
	}
	for _, r := range []req{
		cookie("POST", "/api/v1/alarms/7/ack"),
		cookie("POST", "/api/v1/alarms/7/close"),
		cookie("GET", "/api/v1/things"), // not journalled
		cookie("HEAD", "/api/v1/things"),
		{method: "POST", path: "/api/v1/alarms/7/ack", cookie: id}, // no token
		{method: "POST", path: "/api/v1/alarms/7/ack", basic: [2]string{"zhang", testPassword}},
		{method: "POST", path: "/api/v1/alarms/7/ack"}, // nobody: not journalled
		cookie("DELETE", "/api/v1/session"),
	} {
		e.do(t, r)
	}
	var got []string
	for _, en := range e.journal(t) {
		if en.Remote != testRemote {
			t.Errorf("entry %+v: remote %q", en, en.Remote)
		}
		got = append(got, fmt.Sprintf("%s %s %d %s", en.User, en.Action, en.Status, en.Detail))
	}
	want := []string{
		"wang login 200 ",
		"wang POST /api/v1/alarms/7/ack 200 ",
		"wang POST /api/v1/alarms/7/close 409 ",
		"wang POST /api/v1/alarms/7/ack 403 " + msgCSRF,
		`zhang POST /api/v1/alarms/7/ack 403 this needs the "alarm.act" permission, which role "fire" of user "zhang" does not have (it has: read)`,
		"wang logout 204 ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("journal:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A journal that cannot be written is logged; the action's answer stands.
func TestGuardJournalFailure(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	if _, err := e.a.db.Exec(`DROP TABLE audit`); err != nil {
		t.Fatal(err)
	}
	rec := e.do(t, req{method: "POST", path: "/api/v1/alarms/7/ack", basic: [2]string{"wang", testPassword}})
	if rec.Code != http.StatusOK {
		t.Fatalf("POST with a broken journal: %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(e.log.String(), "audit journal missed an entry") || !strings.Contains(e.log.String(), "POST /api/v1/alarms/7/ack") {
		t.Errorf("log:\n%s", e.log)
	}
}

// A handler that panics is journalled before the panic goes on.
func TestGuardJournalsPanic(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	h := e.a.Guard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), nil)
	e.h = h
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want the handler's panic", v)
			}
		}()
		e.do(t, req{method: "POST", path: "/x", basic: [2]string{"wang", testPassword}})
	}()
	es := e.journal(t)
	if len(es) != 1 || es[0].Status != 500 || es[0].Detail != "the handler failed: boom" {
		t.Errorf("journal %+v", es)
	}
}

// Event streams pass through Guard: Flush reaches the connection, for
// GET and for a journalled method.
func TestGuardFlush(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	for _, r := range []req{
		{method: "GET", path: "/api/v1/stream"},
		{method: "POST", path: "/api/v1/alarms/7/ack"},
	} {
		r.basic = [2]string{"wang", testPassword}
		if rec := e.do(t, r); rec.Code != http.StatusOK || !rec.Flushed {
			t.Errorf("%s %s: %d, flushed %v", r.method, r.path, rec.Code, rec.Flushed)
		}
	}
}

// A long request (the live board) asks Still now and then: a logout, or
// the basic-auth user's removal, ends what it was let in for.
func TestStill(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator, "li": RoleViewer})
	var still func() bool
	h := e.a.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		still = func() bool { return Still(ctx) }
	}), nil)
	serve := func(r req) {
		t.Helper()
		hr := httptest.NewRequest("GET", "http://"+testHost+"/api/v1/stream", nil)
		hr.RemoteAddr = testRemote
		if r.cookie != "" {
			hr.AddCookie(&http.Cookie{Name: cookieName, Value: r.cookie})
		}
		if r.basic[0] != "" {
			hr.SetBasicAuth(r.basic[0], r.basic[1])
		}
		h.ServeHTTP(httptest.NewRecorder(), hr)
	}
	id, csrf := e.login(t, "wang")
	serve(req{cookie: id})
	if !still() {
		t.Fatal("a fresh session does not hold")
	}
	if rec := e.do(t, req{method: "DELETE", path: "/api/v1/session", cookie: id, csrf: csrf}); rec.Code != http.StatusNoContent {
		t.Fatalf("logout: %d", rec.Code)
	}
	if still() {
		t.Error("the session still holds after the logout")
	}
	serve(req{basic: [2]string{"li", testPassword}})
	if !still() {
		t.Fatal("basic auth does not hold")
	}
	if err := e.a.RemoveUser(context.Background(), "li"); err != nil {
		t.Fatal(err)
	}
	if still() {
		t.Error("basic auth still holds after the user was removed")
	}
	if !Still(context.Background()) {
		t.Error("outside Guard, Still is false")
	}
}

// Basic credentials a browser kept (from a user:pw@ URL) do not let
// another site's page change anything.
func TestBasicAuthFromAnotherSite(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	rec := e.do(t, req{method: "POST", path: "/api/v1/alarms/7/ack", basic: [2]string{"wang", testPassword}, origin: "https://evil.example"})
	if rec.Code != http.StatusForbidden {
		t.Errorf("a cross-site POST with basic auth: %d, want 403", rec.Code)
	}
	if rec := e.do(t, req{method: "POST", path: "/api/v1/alarms/7/ack", basic: [2]string{"wang", testPassword}}); rec.Code != http.StatusOK {
		t.Errorf("a script's POST with basic auth: %d, want 200", rec.Code)
	}
}
