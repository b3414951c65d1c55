package auth

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLogin(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	rec := e.do(t, req{method: "POST", path: "/api/v1/session", body: loginJSON("wang", testPassword)})
	if rec.Code != http.StatusOK {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	var b sessionBody
	mustDecode(t, rec, &b)
	if b.User != "wang" || b.Role != RoleOperator || len(b.CSRF) != 43 || strings.Join(permStrings(b.Can), ",") != "read,alarm.act" {
		t.Errorf("login answered %+v", b)
	}
	c := rec.Result().Cookies()[0]
	if c.Name != cookieName || len(c.Value) != 43 || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
		t.Errorf("cookie %+v", c)
	}
	// The file holds the id's hash, never the id.
	var stored []byte
	if err := e.a.db.QueryRow(`SELECT id_hash FROM sessions WHERE user = 'wang'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(c.Value)); !bytes.Equal(stored, sum[:]) {
		t.Errorf("stored %x, want sha256 of the id", stored)
	}
	// GET answers the same.
	rec = e.do(t, req{method: "GET", path: "/api/v1/session", cookie: c.Value})
	var again sessionBody
	mustDecode(t, rec, &again)
	if rec.Code != http.StatusOK || again.User != "wang" || again.CSRF != b.CSRF {
		t.Errorf("GET /api/v1/session: %d %s", rec.Code, rec.Body)
	}
	if es := e.journal(t); len(es) != 1 || es[0] != (Entry{Time: t0, User: "wang", Action: "login", Status: 200, Remote: testRemote}) {
		t.Errorf("journal %+v, want the login", es)
	}
}

func permStrings(ps []Perm) []string {
	var s []string
	for _, p := range ps {
		s = append(s, string(p))
	}
	return s
}

func TestLoginOverTLSSetsSecure(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	srv := httptest.NewTLSServer(e.h)
	defer srv.Close()
	res, err := srv.Client().Post(srv.URL+"/api/v1/session", "application/json", strings.NewReader(loginJSON("wang", testPassword)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if cs := res.Cookies(); res.StatusCode != http.StatusOK || len(cs) != 1 || !cs[0].Secure {
		t.Errorf("login over TLS: %d, cookies %v", res.StatusCode, cs)
	}
}

func TestLoginWrong(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	var msgs []string
	for _, body := range []string{loginJSON("wang", "not the password"), loginJSON("nobody", testPassword)} {
		before := e.compares.Load()
		rec := e.do(t, req{method: "POST", path: "/api/v1/session", body: body})
		msgs = append(msgs, errorOf(t, rec, http.StatusUnauthorized))
		if rec.Header().Get("WWW-Authenticate") != "" || len(rec.Result().Cookies()) != 0 {
			t.Errorf("a failed login answered headers %v", rec.Header())
		}
		// An unknown user costs a bcrypt comparison like a known one.
		if n := e.compares.Load() - before; n != 1 {
			t.Errorf("%s: %d bcrypt comparisons, want 1", body, n)
		}
	}
	if msgs[0] != msgs[1] {
		t.Errorf("a wrong password says %q, an unknown user %q: they must not differ", msgs[0], msgs[1])
	}
	es := e.journal(t)
	if len(es) != 2 || es[0].Action != "login failed" || es[0].User != "wang" || es[0].Status != 401 || es[1].User != "nobody" {
		t.Errorf("journal %+v, want two failed logins", es)
	}
}

func TestLoginLockout(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	wrong := req{method: "POST", path: "/api/v1/session", body: loginJSON("wang", "not the password")}
	right := req{method: "POST", path: "/api/v1/session", body: loginJSON("wang", testPassword)}
	for range DefaultLoginAttempts {
		errorOf(t, e.do(t, wrong), http.StatusUnauthorized)
		e.clock.Add(time.Second)
	}
	// Locked out: even the right password is refused, and not checked.
	e.clock.Add(20 * time.Second)
	before := e.compares.Load()
	rec := e.do(t, right)
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("after %d failures: %d %s", DefaultLoginAttempts, rec.Code, rec.Body)
	}
	var b struct {
		Error      string `json:"error"`
		RetryAfter int    `json:"retry_after_s"`
	}
	mustDecode(t, rec, &b)
	// It is t0+25s; the fifth failure was at t0+4s, and the lockout
	// lasts a minute from it.
	if b.Error == "" || b.RetryAfter != 39 || rec.Header().Get("Retry-After") != "39" {
		t.Errorf("429 body %s, Retry-After %q; want 39 s", rec.Body, rec.Header().Get("Retry-After"))
	}
	if e.compares.Load() != before {
		t.Error("a locked-out login was checked with bcrypt")
	}
	// Basic auth is under the same lockout.
	errorOf(t, e.do(t, req{method: "GET", path: "/api/v1/things", basic: [2]string{"wang", testPassword}}), http.StatusTooManyRequests)
	// Another address, or another user, is not locked out.
	if rec := e.do(t, req{method: "POST", path: "/api/v1/session", body: right.body, remote: "10.0.0.6:40000"}); rec.Code != http.StatusOK {
		t.Errorf("from another address: %d %s", rec.Code, rec.Body)
	}
	errorOf(t, e.do(t, req{method: "POST", path: "/api/v1/session", body: loginJSON("li", "not the password")}), http.StatusUnauthorized)

	e.clock.Add(38 * time.Second)
	errorOf(t, e.do(t, right), http.StatusTooManyRequests)
	e.clock.Add(time.Second)
	if rec := e.do(t, right); rec.Code != http.StatusOK {
		t.Fatalf("once the lockout passed: %d %s", rec.Code, rec.Body)
	}
	// The success forgot the failures: a full set of tries again.
	for range DefaultLoginAttempts {
		errorOf(t, e.do(t, wrong), http.StatusUnauthorized)
	}
	errorOf(t, e.do(t, wrong), http.StatusTooManyRequests)
}

// Failures spread wider than the window never add up to a lockout.
func TestLoginFailuresOutsideTheWindow(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	wrong := req{method: "POST", path: "/api/v1/session", body: loginJSON("wang", "not the password")}
	for range 3 * DefaultLoginAttempts {
		errorOf(t, e.do(t, wrong), http.StatusUnauthorized)
		e.clock.Add(DefaultLockout / (DefaultLoginAttempts - 1))
	}
}

func TestLoginForeignOrigin(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	body := loginJSON("wang", testPassword)
	msg := errorOf(t, e.do(t, req{method: "POST", path: "/api/v1/session", body: body, origin: "https://evil.example"}), http.StatusForbidden)
	if !strings.Contains(msg, "evil.example") {
		t.Errorf("403 says %q", msg)
	}
	if rec := e.do(t, req{method: "POST", path: "/api/v1/session", body: body, origin: "http://" + testHost}); rec.Code != http.StatusOK {
		t.Errorf("from the gateway's own page: %d %s", rec.Code, rec.Body)
	}
}

// A second login from the same browser ends the session it replaces.
func TestLoginReplacesSession(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	old, _ := e.login(t, "wang")
	rec := e.do(t, req{method: "POST", path: "/api/v1/session", body: loginJSON("wang", testPassword), cookie: old})
	if rec.Code != http.StatusOK {
		t.Fatalf("second login: %d %s", rec.Code, rec.Body)
	}
	errorOf(t, e.do(t, req{method: "GET", path: "/api/v1/session", cookie: old}), http.StatusUnauthorized)
	if rec := e.do(t, req{method: "GET", path: "/api/v1/session", cookie: sessionIDFrom(t, rec)}); rec.Code != http.StatusOK {
		t.Errorf("the new session: %d %s", rec.Code, rec.Body)
	}
}

func TestLoginMalformedBodies(t *testing.T) {
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	for _, tc := range []struct {
		name, body, want string
	}{
		{"empty", "", "empty"},
		{"blank", " \n", "empty"},
		{"not JSON", "user=wang&password=x", "not {"},
		{"array", `["wang", "x"]`, "not {"},
		{"unknown field", `{"user": "wang", "password": "correct horse battery", "remember": true}`, `unknown field "remember"`},
		{"wrong type", `{"user": "wang", "password": 12345678901}`, "not {"},
		{"two objects", `{"user": "wang", "password": "x"} {}`, "more after"},
		{"truncated", `{"user": "wang", "password": "x"`, "not {"},
		{"null", `null`, "user is missing"},
		{"no user", `{"password": "correct horse battery"}`, "user is missing"},
		{"no password", `{"user": "wang"}`, "password is missing"},
		{"too large", `{"user": "wang", "password": "` + strings.Repeat("x", maxLoginBody) + `"}`, "larger than 4096 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := errorOf(t, e.do(t, req{method: "POST", path: "/api/v1/session", body: tc.body}), http.StatusBadRequest)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("400 says %q, want %q in it", msg, tc.want)
			}
		})
	}
	// None of them cost a try.
	if rec := e.do(t, req{method: "POST", path: "/api/v1/session", body: loginJSON("wang", testPassword)}); rec.Code != http.StatusOK {
		t.Errorf("login after the bad bodies: %d %s", rec.Code, rec.Body)
	}
}

func FuzzLoginBody(f *testing.F) {
	for _, seed := range []string{
		loginJSON("wang", testPassword), loginJSON("wang", "x"), "", "{", "null", `{"user":1}`,
		`{"user":"a","password":"b","x":1}`, `{"user":"\ud800","password":"\u0000"}`, `[]`, `{"user":"a"}{"password":"b"}`,
	} {
		f.Add([]byte(seed))
	}
	e := mustEnv(f, map[string]Role{"wang": RoleOperator})
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := decodeLogin(bytes.NewReader(body))
		if err == nil && (b.User == "" || b.Password == "") {
			t.Fatalf("decodeLogin(%q) = %+v without an error", body, b)
		}
		rec := e.do(t, req{method: "POST", path: "/api/v1/session", body: string(body),
			remote: "10.9.0.1:1"})
		switch {
		case err != nil && rec.Code != http.StatusBadRequest:
			t.Fatalf("decodeLogin(%q) failed (%v) but the handler answered %d", body, err, rec.Code)
		case err == nil && rec.Code != http.StatusOK && rec.Code != http.StatusUnauthorized && rec.Code != http.StatusTooManyRequests:
			t.Fatalf("login with %q answered %d %s", body, rec.Code, rec.Body)
		}
	})
}
