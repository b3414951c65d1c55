package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang/gateway/auth"
)

// userCmd runs `shouwang user ...` with stdin.
func userCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cmdUser(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestUserCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, auth.FileName)

	code, out, errs := userCmd(t, "correct horse battery\n", "add", "-data", dir, "wang")
	if code != 0 || out != "added user wang (operator) to "+db+"\n" || errs != "" {
		t.Fatalf("add: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	// Flags may follow the name, as in the other commands.
	if code, out, errs := userCmd(t, "another good password\r\n", "add", "li", "-role", "admin", "-data", dir); code != 0 || !strings.Contains(out, "added user li (admin)") {
		t.Fatalf("add -role admin: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	code, out, _ = userCmd(t, "", "list", "-data", dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || strings.Fields(lines[0])[0] != "NAME" ||
		strings.Join(strings.Fields(lines[1])[:2], " ") != "li admin" || strings.Join(strings.Fields(lines[2])[:2], " ") != "wang operator" {
		t.Fatalf("list: exit %d\n%s", code, out)
	}

	code, out, errs = userCmd(t, "correct horse battery\n", "add", "-data", dir, "wang")
	if code != 1 || out != "" || errs != `shouwang user add: add user "wang": user already exists`+"\n" {
		t.Errorf("second add: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}

	// What the command did, a gateway that has the file open sees at once,
	// and its journal shows.
	clock := func() time.Time { return time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC) }
	a, err := auth.Open(context.Background(), db, auth.DefaultConfig(), clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	asLi := func(password string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/api/v1/audit?limit=10", nil)
		r.SetBasicAuth("li", password)
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, r)
		return rec
	}
	rec := asLi("another good password")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"action":"user add wang","status":0,"remote":"command line","detail":"role operator"`) {
		t.Fatalf("the journal as li: %d %s", rec.Code, rec.Body)
	}

	if code, out, errs := userCmd(t, "a third password\n", "passwd", "-data", dir, "li"); code != 0 || !strings.Contains(out, "changed the password of user li") {
		t.Fatalf("passwd: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	if rec := asLi("another good password"); rec.Code != http.StatusUnauthorized {
		t.Errorf("the old password after passwd: %d", rec.Code)
	}
	if code, out, errs := userCmd(t, "", "role", "-data", dir, "li", "viewer"); code != 0 || !strings.Contains(out, "user li is now viewer") {
		t.Fatalf("role: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	if rec := asLi("a third password"); rec.Code != http.StatusForbidden {
		t.Errorf("the journal as li, now a viewer: %d", rec.Code)
	}

	if code, out, errs := userCmd(t, "", "remove", "-data", dir, "wang"); code != 0 || !strings.HasPrefix(out, "removed user wang from "+db) {
		t.Fatalf("remove: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	if code, _, errs := userCmd(t, "", "remove", "-data", dir, "wang"); code != 1 || !strings.Contains(errs, "no such user") {
		t.Errorf("remove again: exit %d: %s", code, errs)
	}
	if _, out, _ := userCmd(t, "", "list", "-data", dir); strings.Contains(out, "wang") {
		t.Errorf("list after remove:\n%s", out)
	}
}

func TestUserCommandRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string // in stderr
	}{
		{"no command", "", nil, 2, "Usage:"},
		{"unknown command", "", []string{"delete", "wang"}, 2, `unknown command "delete"`},
		{"no name", "correct horse battery\n", []string{"add", "-data", dir}, 2, "add takes one NAME"},
		{"two names", "correct horse battery\n", []string{"add", "-data", dir, "wang", "li"}, 2, "add takes one NAME"},
		{"role without a role", "", []string{"role", "-data", dir, "wang"}, 2, "role takes NAME ROLE"},
		{"bad role", "correct horse battery\n", []string{"add", "-data", dir, "-role", "root", "wang"}, 2, `role "root" is not known (valid: admin, operator`},
		{"both -c and -data", "", []string{"list", "-c", "x.yaml", "-data", dir}, 2, "not both"},
		{"no password", "", []string{"add", "-data", dir, "wang"}, 2, "no password on stdin"},
		{"short password", "secret\n", []string{"add", "-data", dir, "wang"}, 1, "want at least 10"},
		{"bad name", "correct horse battery\n", []string{"add", "-data", dir, "wang:li"}, 2, "':'"},
		{"no file yet", "correct horse battery\n", []string{"passwd", "-data", dir, "wang"}, 1, "does not exist yet"},
		{"no config", "", []string{"list", "-c", filepath.Join(dir, "missing.yaml")}, 1, "missing.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := userCmd(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) || out != "" {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant %q in stderr", code, tc.code, out, errs, tc.want)
			}
		})
	}
	// list with no file yet is not an error, and makes no file.
	var out, errs bytes.Buffer
	if code := run([]string{"user", "list", "-data", dir}, &out, &errs); code != 0 || out.Len() != 0 || !strings.Contains(errs.String(), "no users") {
		t.Errorf("list of nothing: exit %d\nstdout: %s\nstderr: %s", code, &out, &errs)
	}
	if _, err := os.Stat(filepath.Join(dir, auth.FileName)); !os.IsNotExist(err) {
		t.Errorf("a failed command left %s behind: %v", auth.FileName, err)
	}
}
