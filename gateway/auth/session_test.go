package auth

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func (e *env) sessionRows(tb testing.TB) int {
	tb.Helper()
	var n int
	if err := e.a.db.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

func (e *env) lastSeen(tb testing.TB, id string) time.Time {
	tb.Helper()
	var ms int64
	if err := e.a.db.QueryRow(`SELECT last_seen FROM sessions WHERE id_hash = ?`, hashID(id)).Scan(&ms); err != nil {
		tb.Fatal(err)
	}
	return fromMillis(ms)
}

func TestSessionIdle(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	id, _ := e.login(t, "wang")
	get := req{method: "GET", path: "/api/v1/things", cookie: id}
	// A request now and then keeps the session for days.
	for range 3 {
		e.clock.Add(DefaultSessionIdle - time.Minute)
		if rec := e.do(t, get); rec.Code != http.StatusOK {
			t.Fatalf("at %s: %d %s", e.clock.Now().Sub(t0), rec.Code, rec.Body)
		}
	}
	e.clock.Add(DefaultSessionIdle)
	msg := errorOf(t, e.do(t, get), http.StatusUnauthorized)
	if msg != msgSessionGone {
		t.Errorf("401 says %q", msg)
	}
	// The expired row is gone, and the browser is told to drop the cookie.
	if n := e.sessionRows(t); n != 0 {
		t.Errorf("%d session rows left", n)
	}
	errorOf(t, e.do(t, req{method: "GET", path: "/api/v1/session", cookie: id}), http.StatusUnauthorized)
}

func TestSessionMax(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	id, _ := e.login(t, "wang")
	get := req{method: "GET", path: "/api/v1/things", cookie: id}
	for e.clock.Now().Sub(t0) < DefaultSessionMax-time.Hour {
		e.clock.Add(time.Hour)
		if rec := e.do(t, get); rec.Code != http.StatusOK {
			t.Fatalf("at %s: %d %s", e.clock.Now().Sub(t0), rec.Code, rec.Body)
		}
	}
	e.clock.Add(time.Hour) // a week after the login, however busy
	errorOf(t, e.do(t, get), http.StatusUnauthorized)
}

// last_seen is written at most once a minute, for the SD card.
func TestSessionLastSeen(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	id, _ := e.login(t, "wang")
	get := req{method: "GET", path: "/api/v1/things", cookie: id}
	e.clock.Add(59 * time.Second)
	e.do(t, get)
	if got := e.lastSeen(t, id); !got.Equal(t0) {
		t.Errorf("after 59 s: last_seen %s, want the login's %s", got, t0)
	}
	e.clock.Add(time.Second)
	e.do(t, get)
	if got := e.lastSeen(t, id); !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("after a minute: last_seen %s", got)
	}
}

// A login deletes the sessions that expired, though no one asked for them.
func TestExpiredSessionsDeletedAtLogin(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator, "li": RoleViewer})
	e.login(t, "wang")
	e.clock.Add(DefaultSessionIdle)
	e.login(t, "li")
	if n := e.sessionRows(t); n != 1 {
		t.Errorf("%d session rows, want li's alone", n)
	}
}

func TestLogout(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	id, csrf := e.login(t, "wang")
	// Without the token, another site could log the user out.
	errorOf(t, e.do(t, req{method: "DELETE", path: "/api/v1/session", cookie: id}), http.StatusForbidden)
	rec := e.do(t, req{method: "DELETE", path: "/api/v1/session", cookie: id, csrf: csrf})
	if rec.Code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", rec.Code, rec.Body)
	}
	if cs := rec.Result().Cookies(); len(cs) != 1 || cs[0].Name != cookieName || cs[0].MaxAge != -1 {
		t.Errorf("logout set cookies %v, want %s cleared", cs, cookieName)
	}
	if n := e.sessionRows(t); n != 0 {
		t.Errorf("%d session rows after logout", n)
	}
	errorOf(t, e.do(t, req{method: "GET", path: "/api/v1/things", cookie: id}), http.StatusUnauthorized)
	// Logging out again, or with no session at all, is not an error.
	for _, r := range []req{{method: "DELETE", path: "/api/v1/session", cookie: id}, {method: "DELETE", path: "/api/v1/session"}} {
		if rec := e.do(t, r); rec.Code != http.StatusNoContent {
			t.Errorf("logout without a live session: %d %s", rec.Code, rec.Body)
		}
	}
	es := e.journal(t)
	if len(es) != 2 || es[1] != (Entry{Time: t0, User: "wang", Action: "logout", Status: 204, Remote: testRemote}) {
		t.Errorf("journal %+v, want login and logout", es)
	}
}

func TestPasswordChangeAndRemovalEndSessions(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, map[string]Role{"wang": RoleOperator, "li": RoleViewer})
	wang, _ := e.login(t, "wang")
	li, _ := e.login(t, "li")
	if err := e.a.SetPassword(ctx, "wang", "a new password"); err != nil {
		t.Fatal(err)
	}
	errorOf(t, e.do(t, req{method: "GET", path: "/api/v1/things", cookie: wang}), http.StatusUnauthorized)
	if err := e.a.RemoveUser(ctx, "li"); err != nil {
		t.Fatal(err)
	}
	errorOf(t, e.do(t, req{method: "GET", path: "/api/v1/things", cookie: li}), http.StatusUnauthorized)
	if n := e.sessionRows(t); n != 0 {
		t.Errorf("%d session rows left", n)
	}
}
