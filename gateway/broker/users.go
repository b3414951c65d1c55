package broker

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shouwang-iot/shouwang/internal/durable"

	"golang.org/x/crypto/bcrypt"
)

// The users file holds one "name:bcrypt-hash" a line, like a
// mosquitto_passwd file with bcrypt hashes; lines starting with # and
// blank lines are kept as they are. `shouwang broker user add|remove`
// rewrite it; the broker reads it again when it changes.

// User is one line of the users file.
type User struct {
	Name string
	Hash string // bcrypt, $2a$/$2b$/$2y$
}

// hashCost is bcrypt's work factor for new hashes, the console's too
// (gateway/auth's BenchmarkPasswordCheck: 57 ms on the x86 build machine,
// more on an ARM board), paid once per connect (the broker caches it).
const hashCost = 10

// maxPassword is bcrypt's limit: it reads no more than 72 bytes.
const maxPassword = 72

// ErrNoUser is returned by RemoveUser for a name the file does not have.
var ErrNoUser = errors.New("no such user")

// ValidUserName says what is wrong with a username, if anything.
func ValidUserName(name string) error {
	switch {
	case name == "":
		return errors.New("username is empty (want 1 to 64 characters)")
	case utf8.RuneCountInString(name) > 64:
		return fmt.Errorf("username %.20q... is longer than 64 characters", name)
	case !utf8.ValidString(name):
		return fmt.Errorf("username %q is not valid UTF-8", name)
	case name == "*":
		return errors.New(`username "*" is taken by the ACL to mean every user (choose another)`)
	}
	for _, r := range name {
		if r == ':' || r == '+' || r == '#' || r == '/' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("username %q holds %q (want no ':', '+', '#', '/', spaces or control characters)", name, r)
		}
	}
	return nil
}

// usersFile is a users file as lines, so a rewrite keeps the comments.
type usersFile struct {
	lines []string
	users []User
	at    []int // users[i] is on lines[at[i]]
}

// ParseUsers reads a users file's content; name (the file's path) starts
// each error, with the line: "broker-users:3: ...". Every bad line is
// reported.
func ParseUsers(name string, data []byte) ([]User, error) {
	f, err := parseUsers(name, data)
	if err != nil {
		return nil, err
	}
	return f.users, nil
}

func parseUsers(name string, data []byte) (*usersFile, error) {
	f := &usersFile{}
	if len(data) > 0 {
		f.lines = strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	}
	var errs []error
	seen := map[string]int{}
	for i, line := range f.lines {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s:%d: %s", name, i+1, fmt.Sprintf(format, args...)))
		}
		text := strings.TrimSpace(line)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		user, hash, ok := strings.Cut(text, ":")
		if !ok {
			bad("no ':' (want name:bcrypt-hash, as `shouwang broker user add` writes)")
			continue
		}
		if err := ValidUserName(user); err != nil {
			bad("%v", err)
			continue
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			msg := "not a bcrypt hash (want $2a$, $2b$ or $2y$; add the user again with `shouwang broker user add`)"
			if strings.HasPrefix(hash, "$6$") || strings.HasPrefix(hash, "$7$") {
				msg = "a mosquitto_passwd hash, which the gateway cannot check (want bcrypt: add the user again with `shouwang broker user add`)"
			}
			bad("user %q: the password hash is %s", user, msg)
			continue
		}
		if prev, dup := seen[user]; dup {
			bad("user %q is also on line %d (one line per user)", user, prev+1)
			continue
		}
		seen[user] = i
		f.users = append(f.users, User{Name: user, Hash: hash})
		f.at = append(f.at, i)
	}
	return f, errors.Join(errs...)
}

// readUsersFile reads and parses path; a missing file is an empty one,
// so the first `user add` creates it.
func readUsersFile(path string) (*usersFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &usersFile{}, nil
	}
	if err != nil {
		return nil, err
	}
	return parseUsers(path, data)
}

// ReadUsers reads the users file at path. A missing file is an error
// that wraps fs.ErrNotExist.
func ReadUsers(path string) ([]User, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseUsers(path, data)
}

// ListUsers returns the names in the users file at path, in file order;
// a missing file holds none.
func ListUsers(path string) ([]string, error) {
	f, err := readUsersFile(path)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(f.users))
	for i, u := range f.users {
		names[i] = u.Name
	}
	return names, nil
}

// AddUser sets name's password in the users file at path, adding the
// user or replacing its hash, and reports whether it replaced one. The
// file is created if missing. A file with a bad line is left alone.
func AddUser(path, name, password string) (replaced bool, err error) {
	if err := ValidUserName(name); err != nil {
		return false, err
	}
	if password == "" {
		return false, errors.New("the password is empty")
	}
	if len(password) > maxPassword {
		return false, fmt.Errorf("the password is %d bytes (bcrypt takes at most %d)", len(password), maxPassword)
	}
	f, err := readUsersFile(path)
	if err != nil {
		return false, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), hashCost)
	if err != nil {
		return false, err
	}
	line := name + ":" + string(hash)
	for i, u := range f.users {
		if u.Name == name {
			f.lines[f.at[i]] = line
			return true, f.write(path)
		}
	}
	f.lines = append(f.lines, line)
	return false, f.write(path)
}

// RemoveUser deletes name from the users file at path; ErrNoUser if it
// is not there.
func RemoveUser(path, name string) error {
	f, err := readUsersFile(path)
	if err != nil {
		return err
	}
	for i, u := range f.users {
		if u.Name == name {
			f.lines = append(f.lines[:f.at[i]], f.lines[f.at[i]+1:]...)
			return f.write(path)
		}
	}
	return fmt.Errorf("%w %q in %s", ErrNoUser, name, path)
}

// GeneratePassword returns a random password of 26 characters (130 bits).
func GeneratePassword() string { return rand.Text() }

// write replaces the file at path atomically: a reader (the broker) sees
// the old file or the new one, never half of one, even after a power cut.
func (f *usersFile) write(path string) error {
	var buf bytes.Buffer
	for _, l := range f.lines {
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	return writeFileAtomic(path, buf.Bytes())
}

// writeFileAtomic replaces the users file (mode 0600). The new file keeps
// the old one's owner (or takes the directory's), so a users file edited
// as root stays readable by a gateway running as its own user.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	owner := path
	if _, err := os.Stat(path); err != nil {
		owner = dir
	}
	return durable.Replace(path, data, 0o600, func(f *os.File) error { return chownLike(f, owner) })
}
