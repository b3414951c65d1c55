package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang/gateway/broker"
	"golang.org/x/crypto/bcrypt"
)

// brokerCmd runs `shouwang broker ...` with stdin.
func brokerCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cmdBroker(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// checkPassword says whether the users file at path gives name password.
func checkPassword(t *testing.T, path, name, password string) bool {
	t.Helper()
	users, err := broker.ReadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Name == name {
			return bcrypt.CompareHashAndPassword([]byte(u.Hash), []byte(password)) == nil
		}
	}
	return false
}

func TestBrokerUser(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broker-users")

	code, out, errs := brokerCmd(t, "s3cret\r\n", "user", "add", "dev-1", "-file", path)
	if code != 0 || out != "added user dev-1 to "+path+"\n" || errs != "" {
		t.Fatalf("add: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	if !checkPassword(t, path, "dev-1", "s3cret") {
		t.Error("dev-1's password is not the line from stdin")
	}
	if code, out, _ := brokerCmd(t, "other", "user", "add", "-file", path, "dev-1"); code != 0 || !strings.HasPrefix(out, "replaced the password of user dev-1") {
		t.Errorf("replace: exit %d, %s", code, out)
	}

	// -generate prints the password alone on stdout, for a script.
	var gout, gerr bytes.Buffer
	if code := run([]string{"broker", "user", "add", "dev-2", "-generate", "-file", path}, &gout, &gerr); code != 0 {
		t.Fatalf("add -generate: exit %d: %s", code, gerr.String())
	}
	password := strings.TrimSuffix(gout.String(), "\n")
	if len(password) != 26 || !checkPassword(t, path, "dev-2", password) {
		t.Errorf("generated password %q does not match the file", password)
	}
	if !strings.Contains(gerr.String(), "shown this once") {
		t.Errorf("stderr: %s", gerr.String())
	}

	if code, out, _ := brokerCmd(t, "", "user", "list", "-file", path); code != 0 || out != "dev-1\ndev-2\n" {
		t.Errorf("list: exit %d, %q", code, out)
	}
	if code, out, _ := brokerCmd(t, "", "user", "remove", "dev-1", "-file", path); code != 0 || !strings.HasPrefix(out, "removed user dev-1 from "+path) {
		t.Errorf("remove: exit %d, %q", code, out)
	}
	if code, _, errs := brokerCmd(t, "", "user", "remove", "dev-1", "-file", path); code != 1 || !strings.Contains(errs, `no such user "dev-1" in `+path) {
		t.Errorf("remove again: exit %d, %q", code, errs)
	}
	if code, out, _ := brokerCmd(t, "", "user", "list", "-file", path); code != 0 || out != "dev-2\n" {
		t.Errorf("list after remove: exit %d, %q", code, out)
	}
	missing := filepath.Join(t.TempDir(), "none")
	if code, out, errs := brokerCmd(t, "", "user", "list", "-file", missing); code != 0 || out != "" || !strings.Contains(errs, "does not exist yet") {
		t.Errorf("list of a missing file: exit %d, %q, %q", code, out, errs)
	}
}

// The users file comes from the config: broker.users_file, else
// gateway.data_dir, both relative to the config file. The rest of the
// file is not checked.
func TestBrokerUserFileFromConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, config, want string }{
		{"users_file", "broker:\n  users_file: creds/users\ngateway:\n  data_dir: /nowhere\n", filepath.Join(dir, "creds/users")},
		{"data_dir", "gateway:\n  data_dir: data\n  name: sunshine\ndevices: [{id: not checked}]\n", filepath.Join(dir, "data", "broker-users")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			config := filepath.Join(dir, tc.name+".yaml")
			if err := os.WriteFile(config, []byte(tc.config), 0o644); err != nil {
				t.Fatal(err)
			}
			if code, out, errs := brokerCmd(t, "pw\n", "user", "add", "dev-1", "-c", config); code != 0 || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s\nwant the file %s", code, out, errs, tc.want)
			}
			if !checkPassword(t, tc.want, "dev-1", "pw") {
				t.Error("not written there")
			}
		})
	}
}

func TestBrokerUserErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broker-users")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("broker:\n  users_file: [a, b]\n"), 0o644)
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		says  string
	}{
		{"", nil, 2, "Usage:"},
		{"", []string{"help"}, 0, ""},
		{"", []string{"user"}, 2, "Usage:"},
		{"", []string{"user", "frob"}, 2, `unknown command "frob"`},
		{"pw", []string{"user", "add", "-file", path}, 2, "one NAME, not 0"},
		{"pw", []string{"user", "add", "a", "b", "-file", path}, 2, "one NAME, not 2 (a b)"},
		{"", []string{"user", "list", "x", "-file", path}, 2, "list takes no NAME"},
		{"pw", []string{"user", "add", "dev/1", "-file", path}, 2, `username "dev/1" holds '/'`},
		{"", []string{"user", "add", "dev-1", "-file", path}, 2, "no password on stdin"},
		{"\n", []string{"user", "add", "dev-1", "-file", path}, 2, "no password on stdin"},
		{"pw", []string{"user", "add", "dev-1", "-file", path, "-c", "x.yaml"}, 2, "not both"},
		{"pw", []string{"user", "add", "dev-1", "-c", "no-such.yaml"}, 1, "no such file"},
		{"pw", []string{"user", "add", "dev-1", "-c", bad}, 1, bad + ":2:"},
		{"", []string{"user", "list", "-frob"}, 2, "flag provided but not defined"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errs := brokerCmd(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(out+errs, tc.says) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant %q", code, tc.code, out, errs, tc.says)
			}
		})
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("a failed command wrote the users file")
	}
	var out, errb bytes.Buffer
	if code := run([]string{"help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "broker user") {
		t.Errorf("the usage does not list broker user:\n%s", out.String())
	}
}
