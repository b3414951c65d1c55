package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// cookieName is the session cookie; API.md names it.
const cookieName = "shouwang_session"

// session is a live login, as its row and its user's row give it.
type session struct {
	idHash []byte
	user   string
	role   Role
	csrf   string
}

// newToken returns 32 random bytes, base64url: a session id or a CSRF
// token.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashID is what the file keeps of a session id.
func hashID(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// startSession makes a session for user and returns its id (for the
// cookie) and CSRF token. Expired sessions are deleted here, lazily, in
// the write a login makes anyway.
func (a *Auth) startSession(ctx context.Context, user string) (id, csrf string, err error) {
	now := a.now()
	id, csrf = newToken(), newToken()
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return "", "", fmt.Errorf("start a session: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE last_seen <= ? OR created <= ?`,
		millis(now.Add(-a.cfg.SessionIdle)), millis(now.Add(-a.cfg.SessionMax))); err != nil {
		return "", "", fmt.Errorf("delete expired sessions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user, csrf, created, last_seen) VALUES (?, ?, ?, ?, ?)`,
		hashID(id), user, csrf, millis(now), millis(now)); err != nil {
		return "", "", fmt.Errorf("start a session: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return "", "", fmt.Errorf("start a session: %w", err)
	}
	return id, csrf, nil
}

// session returns the live session whose id is id; ok is false if there
// is none. An expired session is deleted. A live one's last_seen is
// brought up to date if it is a minute old or more.
func (a *Auth) session(ctx context.Context, id string) (s session, ok bool, err error) {
	s.idHash = hashID(id)
	var created, lastSeen int64
	err = a.db.QueryRowContext(ctx, `SELECT s.user, u.role, s.csrf, s.created, s.last_seen
		FROM sessions s JOIN users u ON u.name = s.user WHERE s.id_hash = ?`, s.idHash).
		Scan(&s.user, &s.role, &s.csrf, &created, &lastSeen)
	if errors.Is(err, sql.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("look up a session: %w", err)
	}
	now := a.now()
	idle, age := now.Sub(fromMillis(lastSeen)), now.Sub(fromMillis(created))
	if idle >= a.cfg.SessionIdle || age >= a.cfg.SessionMax {
		if err := a.endSession(ctx, s.idHash); err != nil {
			return s, false, err
		}
		return s, false, nil
	}
	if idle >= touchEvery {
		if _, err := a.db.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE id_hash = ?`, millis(now), s.idHash); err != nil {
			// The request may go on: the session only looks idler than it is.
			a.logger.Warn("console: recording a session's last request", "user", s.user, "err", err)
		}
	}
	return s, true, nil
}

// endSession deletes a session; one already gone is no error.
func (a *Auth) endSession(ctx context.Context, idHash []byte) error {
	if _, err := a.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("end a session: %w", err)
	}
	return nil
}

// setCookie hands the browser the session id. HttpOnly keeps it from
// scripts, SameSite=Strict from other sites' requests; it lasts as long
// as a session can, so a restarted browser stays logged in (the gateway
// still ends it after SessionIdle).
func (a *Auth) setCookie(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: id, Path: "/",
		MaxAge:   int(a.cfg.SessionMax / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

// clearCookie tells the browser to drop the session cookie.
func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

// sessionCookie is the request's session id, or "".
func sessionCookie(r *http.Request) string {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return ""
	}
	return c.Value
}
