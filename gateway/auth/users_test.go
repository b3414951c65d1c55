package auth

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAddUserRefuses(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, map[string]Role{"wang": RoleOperator})
	for _, tc := range []struct {
		name, user string
		role       Role
		password   string
		want       string // in the error
	}{
		{"short password", "li", RoleViewer, "123456789", "9 characters (want at least 10)"},
		{"short in characters, long in bytes", "li", RoleViewer, "密码密码密码", "6 characters"},
		{"password too long for bcrypt", "li", RoleViewer, strings.Repeat("x", 73), "73 bytes (want at most 72"},
		{"password is the name", "li-password", RoleViewer, "LI-PASSWORD", "the password is the user name"},
		{"duplicate", "wang", RoleViewer, testPassword, "already exists"},
		{"empty name", "", RoleViewer, testPassword, "user name is empty"},
		{"colon", "wang:2", RoleViewer, testPassword, "':'"},
		{"space", "wang li", RoleViewer, testPassword, "spaces"},
		{"control", "wang\x00", RoleViewer, testPassword, "control"},
		{"long name", strings.Repeat("w", 65), RoleViewer, testPassword, "longer than 64"},
		{"bad role", "li", Role("root"), testPassword, `role "root" is not known (valid: admin, operator, installer, fire, viewer)`},
		{"no role", "li", "", testPassword, "is not known"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.a.AddUser(ctx, tc.user, tc.role, tc.password)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("AddUser(%q, %q) = %v, want an error with %q", tc.user, tc.role, err, tc.want)
			}
		})
	}
	if err := e.a.AddUser(ctx, "wang", RoleAdmin, testPassword); !errors.Is(err, ErrUserExists) {
		t.Errorf("a second wang: %v, want ErrUserExists", err)
	}
	users, err := e.a.Users(ctx)
	if err != nil || len(users) != 1 || users[0].Role != RoleOperator {
		t.Errorf("Users() = %v, %v; want wang alone, still an operator", users, err)
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, nil)
	if users, err := e.a.Users(ctx); err != nil || len(users) != 0 {
		t.Fatalf("a new file has users: %v, %v", users, err)
	}
	// 王 is a name as good as wang.
	for _, u := range []User{{"王", RoleFire, t0}, {"admin", RoleAdmin, t0.Add(time.Minute)}} {
		if err := e.a.AddUser(ctx, u.Name, u.Role, testPassword); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Minute)
	}
	users, err := e.a.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []User{{"admin", RoleAdmin, t0.Add(time.Minute)}, {"王", RoleFire, t0}}
	if len(users) != len(want) {
		t.Fatalf("Users() = %v, want %v", users, want)
	}
	for i := range want {
		if users[i] != want[i] {
			t.Errorf("Users()[%d] = %v, want %v", i, users[i], want[i])
		}
	}
	if err := e.a.SetRole(ctx, "王", RoleViewer); err != nil {
		t.Fatal(err)
	}
	if err := e.a.RemoveUser(ctx, "admin"); err != nil {
		t.Fatal(err)
	}
	users, _ = e.a.Users(ctx)
	if len(users) != 1 || users[0].Name != "王" || users[0].Role != RoleViewer {
		t.Errorf("after SetRole and RemoveUser: %v", users)
	}
	for name, err := range map[string]error{
		"SetRole":     e.a.SetRole(ctx, "nobody", RoleAdmin),
		"SetPassword": e.a.SetPassword(ctx, "nobody", testPassword),
		"RemoveUser":  e.a.RemoveUser(ctx, "nobody"),
	} {
		if !errors.Is(err, ErrNoUser) || !strings.Contains(err.Error(), `"nobody"`) {
			t.Errorf("%s of an unknown user: %v, want ErrNoUser naming it", name, err)
		}
	}
	if err := e.a.SetRole(ctx, "王", "chief"); err == nil || !strings.Contains(err.Error(), "valid: admin") {
		t.Errorf("SetRole to an unknown role: %v", err)
	}
	if err := e.a.SetPassword(ctx, "王", "short"); err == nil || !strings.Contains(err.Error(), "at least 10") {
		t.Errorf("SetPassword to a short one: %v", err)
	}
}

// The CLI opens the file the gateway has open: a user it adds can log in
// at once, and one it removes cannot, without a restart.
func TestUserAddedByAnotherOpen(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, nil)
	cli, _ := mustOpen(t, e.path, e.clock)
	if err := cli.AddUser(ctx, "zhao", RoleInstaller, testPassword); err != nil {
		t.Fatal(err)
	}
	id, _ := e.login(t, "zhao")
	rec := e.do(t, req{method: "GET", path: "/api/v1/things", cookie: id})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"role":"installer"`) {
		t.Fatalf("GET as zhao: %d %s", rec.Code, rec.Body)
	}
	// A role changed there holds here from the next request.
	if err := cli.SetRole(ctx, "zhao", RoleViewer); err != nil {
		t.Fatal(err)
	}
	if rec := e.do(t, req{method: "GET", path: "/api/v1/things", cookie: id}); !strings.Contains(rec.Body.String(), `"role":"viewer"`) {
		t.Fatalf("after the role changed elsewhere: %s", rec.Body)
	}
	// So does a removal, for the session and for basic auth.
	if rec := e.do(t, req{method: "GET", path: "/api/v1/things", basic: [2]string{"zhao", testPassword}}); rec.Code != http.StatusOK {
		t.Fatalf("basic auth as zhao: %d %s", rec.Code, rec.Body)
	}
	if err := cli.RemoveUser(ctx, "zhao"); err != nil {
		t.Fatal(err)
	}
	errorOf(t, e.do(t, req{method: "GET", path: "/api/v1/things", cookie: id}), http.StatusUnauthorized)
	errorOf(t, e.do(t, req{method: "GET", path: "/api/v1/things", basic: [2]string{"zhao", testPassword}}), http.StatusUnauthorized)
}

func TestOpenRefusesBadConfig(t *testing.T) {
	_, err := Open(context.Background(), filepath.Join(t.TempDir(), "console.db"), Config{}, time.Now, nil)
	if err == nil || !strings.Contains(err.Error(), "session_idle") {
		t.Fatalf("Open with a zero Config: %v", err)
	}
}
