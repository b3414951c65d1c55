package auth

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-iot/shouwang/gateway/internal/apijson"
)

// Entry is one line of the audit journal.
type Entry struct {
	Time time.Time `json:"time"` // zero: now
	User string    `json:"user"`
	// Action is "METHOD path" for a request through Guard, or a word such
	// as "login", "login failed", "logout".
	Action string `json:"action"`
	Status int    `json:"status"` // the HTTP status answered; 0 for what did not come over HTTP
	Remote string `json:"remote"` // the client's address, host:port
	Detail string `json:"detail,omitempty"`
}

// Audit writes e to the journal.
func (a *Auth) Audit(ctx context.Context, e Entry) error {
	if e.Time.IsZero() {
		e.Time = a.now()
	}
	if _, err := a.db.ExecContext(ctx, `INSERT INTO audit (time, user, action, status, remote, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		millis(e.Time), e.User, e.Action, e.Status, e.Remote, e.Detail); err != nil {
		return fmt.Errorf("audit journal: %s by %q: %w", e.Action, e.User, err)
	}
	return nil
}

// journalOrLog writes e, logging a failure: what was done stays done, and
// its answer stands.
func (a *Auth) journalOrLog(ctx context.Context, e Entry) {
	if err := a.Audit(ctx, e); err != nil {
		a.logger.Error("console: the audit journal missed an entry", "user", e.User, "action", e.Action, "status", e.Status, "remote", e.Remote, "err", err)
	}
}

// journal writes a request Guard let through (or refused after the
// login). The request's context may be cancelled by now (the client went
// away), which must not lose the entry.
func (a *Auth) journal(r *http.Request, user string, status int, detail string) {
	a.journalOrLog(context.WithoutCancel(r.Context()), Entry{
		User: user, Action: r.Method + " " + r.URL.Path, Status: status, Remote: r.RemoteAddr, Detail: detail,
	})
}

// Audit query limits.
const (
	defaultAuditLimit = 1000
	maxAuditLimit     = 10000
)

// auditParams are the query parameters GET /api/v1/audit takes.
var auditParams = []string{"from", "to", "user", "limit"}

// auditQuery is a parsed GET /api/v1/audit.
type auditQuery struct {
	from, to time.Time // from inclusive, to exclusive; zero: unbounded
	user     string
	limit    int
}

// parseAuditQuery reads the query, naming the parameter that is wrong.
func parseAuditQuery(q map[string][]string) (aq auditQuery, err error) {
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(auditParams, name) {
			return aq, fmt.Errorf("unknown parameter %q (valid: %s)", name, strings.Join(auditParams, ", "))
		}
		if n := len(q[name]); n > 1 {
			return aq, fmt.Errorf("%s is given %d times (want it once)", name, n)
		}
	}
	get := func(name string) string {
		if v := q[name]; len(v) == 1 {
			return v[0]
		}
		return ""
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &aq.from}, {"to", &aq.to}} {
		v := get(p.name)
		if v == "" {
			continue
		}
		if *p.t, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return aq, fmt.Errorf("%s %q is not a time (want RFC 3339, e.g. 2026-11-24T08:00:00+08:00)", p.name, v)
		}
	}
	if !aq.from.IsZero() && !aq.to.IsZero() && !aq.from.Before(aq.to) {
		return aq, fmt.Errorf("from (%s) is not before to (%s)", get("from"), get("to"))
	}
	aq.user = get("user")
	aq.limit = defaultAuditLimit
	if v := get("limit"); v != "" {
		if aq.limit, err = strconv.Atoi(v); err != nil || aq.limit < 1 || aq.limit > maxAuditLimit {
			return aq, fmt.Errorf("limit %q is not a number from 1 to %d", v, maxAuditLimit)
		}
	}
	return aq, nil
}

// entries reads the journal, newest first.
func (a *Auth) entries(ctx context.Context, q auditQuery) ([]Entry, error) {
	where, args := []string{"1"}, []any{}
	if !q.from.IsZero() {
		where, args = append(where, "time >= ?"), append(args, millis(q.from))
	}
	if !q.to.IsZero() {
		where, args = append(where, "time < ?"), append(args, millis(q.to))
	}
	if q.user != "" {
		where, args = append(where, "user = ?"), append(args, q.user)
	}
	rows, err := a.db.QueryContext(ctx, `SELECT time, user, action, status, remote, detail FROM audit
		WHERE `+strings.Join(where, " AND ")+` ORDER BY time DESC, rowid DESC LIMIT ?`, append(args, q.limit)...)
	if err != nil {
		return nil, fmt.Errorf("read the audit journal: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var e Entry
		var t int64
		if err := rows.Scan(&t, &e.User, &e.Action, &e.Status, &e.Remote, &e.Detail); err != nil {
			return nil, fmt.Errorf("read the audit journal: %w", err)
		}
		e.Time = fromMillis(t)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the audit journal: %w", err)
	}
	return out, nil
}

// serveAudit is GET /api/v1/audit, behind Guard for admins.
func (a *Auth) serveAudit(w http.ResponseWriter, r *http.Request) {
	q, err := parseAuditQuery(r.URL.Query())
	if err != nil {
		apijson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	es, err := a.entries(r.Context(), q)
	if err != nil {
		a.internalError(w, "reading the audit journal", err)
		return
	}
	apijson.Write(w, http.StatusOK, map[string]any{"entries": es})
}
