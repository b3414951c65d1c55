package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// User is a console user as Users lists them.
type User struct {
	Name    string
	Role    Role
	Created time.Time
}

// Errors callers branch on.
var (
	ErrUserExists = errors.New("user already exists")
	ErrNoUser     = errors.New("no such user")
)

// Limits on names and passwords.
const (
	minPassword = 10 // characters
	maxPassword = 72 // bytes: bcrypt reads no more
	maxUserName = 64 // characters
)

// ValidUserName says what is wrong with a user name, if anything. The
// broker has rules of its own for MQTT (no '+', '#', '/'); these are the
// console's: nothing that would break basic auth (':') or be hard to
// type, read or tell apart in the audit journal.
func ValidUserName(name string) error {
	switch {
	case name == "":
		return errors.New("user name is empty (want 1 to 64 characters)")
	case !utf8.ValidString(name):
		return fmt.Errorf("user name %q is not valid UTF-8", name)
	case utf8.RuneCountInString(name) > maxUserName:
		return fmt.Errorf("user name %.20q... is longer than %d characters", name, maxUserName)
	}
	for _, r := range name {
		if r == ':' || unicode.IsSpace(r) || unicode.IsControl(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("user name %q holds %q (want no ':', spaces or control characters; basic auth ends the name at the first ':')", name, r)
		}
	}
	return nil
}

// ValidPassword says what is wrong with name's new password, if anything:
// it must be at least 10 characters, at most 72 bytes (bcrypt reads no
// more), and not the name.
func ValidPassword(name, password string) error {
	switch {
	case utf8.RuneCountInString(password) < minPassword:
		return fmt.Errorf("the password is too short: %d characters (want at least %d)", utf8.RuneCountInString(password), minPassword)
	case len(password) > maxPassword:
		return fmt.Errorf("the password is %d bytes (want at most %d: bcrypt reads no more)", len(password), maxPassword)
	case strings.EqualFold(password, name):
		return errors.New("the password is the user name (want something else)")
	}
	return nil
}

func validRole(r Role) error {
	_, err := ParseRole(string(r))
	return err
}

// mustHash hashes a password whose length ValidPassword has checked, so
// bcrypt cannot refuse it.
func mustHash(password string, cost int) []byte {
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		panic(fmt.Sprintf("bcrypt: %v", err))
	}
	return h
}

// AddUser adds a user; ErrUserExists if the name is taken. The password
// must be at least 10 characters, at most 72 bytes, and not the name.
func (a *Auth) AddUser(ctx context.Context, name string, role Role, password string) error {
	if err := ValidUserName(name); err != nil {
		return err
	}
	if err := validRole(role); err != nil {
		return err
	}
	if err := ValidPassword(name, password); err != nil {
		return err
	}
	hash := mustHash(password, a.cost)
	added, err := changed(a.db.ExecContext(ctx, `INSERT INTO users (name, role, hash, created) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO NOTHING`, name, string(role), string(hash), millis(a.now())))
	switch {
	case err != nil:
		return fmt.Errorf("add user %q: %w", name, err)
	case !added:
		return fmt.Errorf("add user %q: %w", name, ErrUserExists)
	}
	return nil
}

// SetPassword changes a user's password and ends their sessions;
// ErrNoUser if there is no such user.
func (a *Auth) SetPassword(ctx context.Context, name, password string) error {
	if err := ValidPassword(name, password); err != nil {
		return err
	}
	hash := mustHash(password, a.cost)
	err := a.changeUser(ctx, name, `UPDATE users SET hash = ? WHERE name = ?`, string(hash), name)
	a.basic.forget(name)
	if err != nil {
		return fmt.Errorf("set the password of %q: %w", name, err)
	}
	return nil
}

// SetRole changes a user's role; their sessions carry on with the new
// one from their next request. ErrNoUser if there is no such user.
func (a *Auth) SetRole(ctx context.Context, name string, role Role) error {
	if err := validRole(role); err != nil {
		return err
	}
	found, err := changed(a.db.ExecContext(ctx, `UPDATE users SET role = ? WHERE name = ?`, string(role), name))
	switch {
	case err != nil:
		return fmt.Errorf("set the role of %q: %w", name, err)
	case !found:
		return fmt.Errorf("set the role of %q: %w", name, ErrNoUser)
	}
	return nil
}

// RemoveUser removes a user and ends their sessions; ErrNoUser if there
// is no such user. Their entries in the audit journal stay.
func (a *Auth) RemoveUser(ctx context.Context, name string) error {
	err := a.changeUser(ctx, name, `DELETE FROM users WHERE name = ?`, name)
	a.basic.forget(name)
	if err != nil {
		return fmt.Errorf("remove user %q: %w", name, err)
	}
	return nil
}

// changeUser runs stmt, which must change name's row, and ends name's
// sessions, in one transaction. (The foreign key would delete them with
// the user; a new password needs it done here.)
func (a *Auth) changeUser(ctx context.Context, name, stmt string, args ...any) error {
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	found, err := changed(tx.ExecContext(ctx, stmt, args...))
	if err != nil {
		return err
	}
	if !found {
		return ErrNoUser
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user = ?`, name); err != nil {
		return err
	}
	return tx.Commit()
}

// changed says whether a statement changed any row.
func changed(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Users lists the users by name.
func (a *Auth) Users(ctx context.Context) ([]User, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT name, role, created FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var created int64
		if err := rows.Scan(&u.Name, &u.Role, &created); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		u.Created = fromMillis(created)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// account is a user's row as a login checks it.
type account struct {
	role Role
	hash string
}

// lookup reads name's role and hash from the file; ok is false if there
// is no such user.
func (a *Auth) lookup(ctx context.Context, name string) (acc account, ok bool, err error) {
	err = a.db.QueryRowContext(ctx, `SELECT role, hash FROM users WHERE name = ?`, name).Scan(&acc.role, &acc.hash)
	if errors.Is(err, sql.ErrNoRows) {
		return acc, false, nil
	}
	if err != nil {
		return acc, false, fmt.Errorf("look up user %q: %w", name, err)
	}
	return acc, true, nil
}
