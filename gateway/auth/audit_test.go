package auth

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAuditQuery(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, map[string]Role{"admin": RoleAdmin})
	for i, user := range []string{"wang", "li", "wang", "li", "wang"} {
		if err := e.a.Audit(ctx, Entry{Time: t0.Add(time.Duration(i) * time.Hour), User: user, Action: "POST /x",
			Status: 200, Remote: "10.0.0.9:1", Detail: "n" + string(rune('0'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	at := func(h int) string { return t0.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	for _, tc := range []struct {
		query string
		want  string // details, newest first
	}{
		{"", "n4 n3 n2 n1 n0"},
		{"user=wang", "n4 n2 n0"},
		{"from=" + at(1) + "&to=" + at(3), "n2 n1"},
		{"from=" + at(3), "n4 n3"},
		{"to=" + at(1), "n0"},
		{"user=li&limit=1", "n3"},
		{"limit=2", "n4 n3"},
		{"user=nobody", ""},
		{"from=" + url.QueryEscape("2026-11-24T10:00:00+08:00"), "n4 n3 n2 n1 n0"}, // 02:00 UTC
	} {
		t.Run(tc.query, func(t *testing.T) {
			rec := e.do(t, req{method: "GET", path: "/api/v1/audit?" + tc.query, basic: [2]string{"admin", testPassword}})
			var b struct{ Entries []Entry }
			mustDecode(t, rec, &b)
			if rec.Code != http.StatusOK || b.Entries == nil {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			var got []string
			for _, en := range b.Entries {
				got = append(got, en.Detail)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("got %v, want %s", got, tc.want)
			}
		})
	}
	rec := e.do(t, req{method: "GET", path: "/api/v1/audit?limit=1", basic: [2]string{"admin", testPassword}})
	want := `{"entries":[{"time":"2026-11-24T12:00:00Z","user":"wang","action":"POST /x","status":200,"remote":"10.0.0.9:1","detail":"n4"}]}` + "\n"
	if rec.Body.String() != want {
		t.Errorf("body %s, want %s", rec.Body, want)
	}
}

func TestAuditQueryRefuses(t *testing.T) {
	e := mustEnv(t, map[string]Role{"admin": RoleAdmin})
	for _, tc := range []struct {
		query, want string
	}{
		{"from=yesterday", `from "yesterday" is not a time`},
		{"to=2026-11-24", `to "2026-11-24" is not a time`},
		{"from=2026-11-24T10:00:00Z&to=2026-11-24T09:00:00Z", "from (2026-11-24T10:00:00Z) is not before to"},
		{"limit=0", `limit "0" is not a number from 1 to 10000`},
		{"limit=10001", `limit "10001"`},
		{"limit=ten", `limit "ten"`},
		{"user=a&user=b", "user is given 2 times"},
		{"usr=wang", `unknown parameter "usr" (valid: from, to, user, limit)`},
	} {
		t.Run(tc.query, func(t *testing.T) {
			msg := errorOf(t, e.do(t, req{method: "GET", path: "/api/v1/audit?" + tc.query, basic: [2]string{"admin", testPassword}}), http.StatusBadRequest)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("400 says %q, want %q", msg, tc.want)
			}
		})
	}
}

// A database error answers "internal error" and is logged in full.
func TestInternalError(t *testing.T) {
	e := mustEnv(t, map[string]Role{"admin": RoleAdmin})
	e.do(t, req{method: "GET", path: "/api/v1/things", basic: [2]string{"admin", testPassword}})
	if _, err := e.a.db.Exec(`ALTER TABLE audit RENAME TO audit_gone`); err != nil {
		t.Fatal(err)
	}
	msg := errorOf(t, e.do(t, req{method: "GET", path: "/api/v1/audit", basic: [2]string{"admin", testPassword}}), http.StatusInternalServerError)
	if msg != "internal error" || !strings.Contains(e.log.String(), "no such table: audit") {
		t.Errorf("500 says %q; log:\n%s", msg, e.log)
	}
}
