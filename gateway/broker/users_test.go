package broker

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// A bcrypt hash of "secret" at cost 4, so parsing tests need no hashing.
const testHash = "$2a$04$A2TzAn2KDYp54HhWLz0LAe8QX5.kswbjw9wioah/vaHKwept1yXke"

func TestParseUsers(t *testing.T) {
	data := "# devices of building 3\n\n  dev-1:" + testHash + "  \r\n#dev-2:" + testHash + "\ndev-3:" + testHash
	users, err := ParseUsers("f", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].Name != "dev-1" || users[1].Name != "dev-3" || users[0].Hash != testHash {
		t.Errorf("ParseUsers = %+v", users)
	}
	if users, err := ParseUsers("f", nil); err != nil || len(users) != 0 {
		t.Errorf("empty file: %v, %v", users, err)
	}
}

func TestParseUsersMalformed(t *testing.T) {
	for _, tc := range []struct{ name, line, says string }{
		{"no colon", "dev-1 " + testHash, "f:2: no ':' (want name:bcrypt-hash"},
		{"empty name", ":" + testHash, "f:2: username is empty"},
		{"space in name", "dev 1:" + testHash, `f:2: username "dev 1" holds ' '`},
		{"plus in name", "dev+1:" + testHash, `holds '+'`},
		{"slash in name", "a/b:" + testHash, `holds '/'`},
		{"long name", strings.Repeat("x", 65) + ":" + testHash, "longer than 64 characters"},
		{"star", "*:" + testHash, `"*" is taken by the ACL`},
		{"no hash", "dev-1:", `f:2: user "dev-1": the password hash is not a bcrypt hash`},
		{"plain password", "dev-1:secret", "not a bcrypt hash"},
		{"mosquitto hash", "dev-1:$7$101$abc$def", "a mosquitto_passwd hash"},
		{"truncated hash", "dev-1:" + testHash[:30], "not a bcrypt hash"},
		{"duplicate", "dev-0:" + testHash, `f:2: user "dev-0" is also on line 1 (one line per user)`},
		{"control char", "dev\x01:" + testHash, `holds '\x01'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseUsers("f", []byte("dev-0:"+testHash+"\n"+tc.line+"\n"))
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %v, want one saying %q", err, tc.says)
			}
		})
	}
	// Every bad line is reported, not only the first.
	_, err := ParseUsers("f", []byte("a\nb\n"))
	if err == nil || !strings.Contains(err.Error(), "f:1:") || !strings.Contains(err.Error(), "f:2:") {
		t.Errorf("two bad lines: %v", err)
	}
}

func FuzzParseUsers(f *testing.F) {
	f.Add([]byte("dev-1:" + testHash + "\n# c\n\ndev-2:" + testHash))
	f.Add([]byte("a:b:c\n:\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		users, err := ParseUsers("f", data)
		if err != nil {
			if users != nil {
				t.Fatal("users with an error")
			}
			return
		}
		seen := map[string]bool{}
		for _, u := range users {
			if ValidUserName(u.Name) != nil || seen[u.Name] {
				t.Fatalf("bad or duplicate name %q accepted", u.Name)
			}
			seen[u.Name] = true
			if _, err := bcrypt.Cost([]byte(u.Hash)); err != nil {
				t.Fatalf("hash %q accepted: %v", u.Hash, err)
			}
		}
	})
}

func TestAddRemoveList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "broker-users")
	if names, err := ListUsers(path); err != nil || len(names) != 0 {
		t.Fatalf("missing file: %v, %v", names, err)
	}
	if _, err := ReadUsers(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadUsers of a missing file: %v", err)
	}
	if replaced, err := AddUser(path, "dev-1", "pw1"); err != nil || replaced {
		t.Fatalf("add dev-1: %v %v", replaced, err)
	}
	// A comment the installer wrote survives rewrites.
	prependLine(t, path, "# keep me")
	if _, err := AddUser(path, "dev-2", "pw2"); err != nil {
		t.Fatal(err)
	}
	if replaced, err := AddUser(path, "dev-1", "new"); err != nil || !replaced {
		t.Fatalf("replace dev-1: %v %v", replaced, err)
	}
	users, err := ReadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].Name != "dev-1" || users[1].Name != "dev-2" {
		t.Fatalf("users %+v", users)
	}
	if bcrypt.CompareHashAndPassword([]byte(users[0].Hash), []byte("new")) != nil {
		t.Error("dev-1's password was not replaced")
	}
	if cost, _ := bcrypt.Cost([]byte(users[1].Hash)); cost != 10 {
		t.Errorf("bcrypt cost %d, want 10", cost)
	}
	if err := RemoveUser(path, "dev-1"); err != nil {
		t.Fatal(err)
	}
	if err := RemoveUser(path, "dev-1"); !errors.Is(err, ErrNoUser) {
		t.Errorf("removing a missing user: %v", err)
	}
	if names, _ := ListUsers(path); !slices.Equal(names, []string{"dev-2"}) {
		t.Errorf("ListUsers = %v", names)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "# keep me\ndev-2:$2a$10$") {
		t.Errorf("file:\n%s", data)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*")); len(tmps) > 0 {
		t.Errorf("temp files left: %v", tmps)
	}
}

func TestAddUserRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broker-users")
	for _, tc := range []struct{ name, password, says string }{
		{"a b", "pw", "holds ' '"},
		{"ok", "", "password is empty"},
		{"ok", strings.Repeat("x", 73), "bcrypt takes at most 72"},
	} {
		if _, err := AddUser(path, tc.name, tc.password); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("AddUser(%q, %d bytes): %v, want %q", tc.name, len(tc.password), err, tc.says)
		}
	}
	// A file with a bad line is not rewritten: the line could be a typo
	// of a user the operator means to keep.
	os.WriteFile(path, []byte("broken line\n"), 0o600)
	if _, err := AddUser(path, "ok", "pw"); err == nil || !strings.Contains(err.Error(), path+":1: no ':'") {
		t.Errorf("AddUser over a broken file: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "broken line\n" {
		t.Errorf("broken file rewritten: %q", data)
	}
}

func prependLine(t *testing.T, path, line string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append([]byte(line+"\n"), data...), 0o600); err != nil {
		t.Fatal(err)
	}
}
