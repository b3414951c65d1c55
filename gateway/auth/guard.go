package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-iot/shouwang/gateway/internal/apijson"
)

// Messages a client sees; the same for an unknown user and a wrong
// password, so they do not tell which names exist.
const (
	msgWrongPassword = "wrong user name or password"
	msgNoLogin       = "not logged in (log in with POST /api/v1/session, or use basic auth)"
	msgSessionGone   = "the session has ended (logged out, expired, or the password changed): log in again"
	msgCSRF          = "CSRF token missing or wrong (send the session's csrf value in the X-CSRF-Token header)"
)

// caller is who a request comes from, and their session if they came
// with the cookie rather than basic auth.
type caller struct {
	Who
	session   *session
	sessionID string // the cookie's, to look the session up again
}

// Guard serves next to logged-in users whose role has the permission
// need(r) names (nil need asks for PermRead, which every role has). It
// answers 401 to a request without a session or basic credentials (with
// no WWW-Authenticate challenge), 429 to basic auth from a locked-out
// address, and 403 to a role without the permission. A request that comes
// with the cookie and may change something (not GET, HEAD or OPTIONS)
// must carry the session's CSRF token in X-CSRF-Token and, if it has an
// Origin header, come from this host. next finds the user with From.
//
// Every request other than GET and HEAD that got past the login is
// written to the audit journal with the status it was answered: a failed
// journal write is logged and does not change the answer.
func (a *Auth) Guard(next http.Handler, need func(*http.Request) Perm) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := a.authenticate(w, r)
		if !ok {
			return
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			a.authorize(w, r, c, next, need)
			return
		}
		rec := &statusRecorder{ResponseWriter: w}
		var detail string
		defer func() {
			// A handler that panics may have done what it was asked:
			// journal it before the panic goes on to net/http.
			if v := recover(); v != nil {
				a.journal(r, c.User, http.StatusInternalServerError, "the handler failed: "+fmt.Sprint(v))
				panic(v)
			}
			a.journal(r, c.User, rec.status(), detail)
		}()
		detail = a.authorize(rec, r, c, next, need)
	})
}

// authorize serves next if c may make request r, and otherwise answers
// 403 and returns why, for the journal.
func (a *Auth) authorize(w http.ResponseWriter, r *http.Request, c caller, next http.Handler, need func(*http.Request) Perm) (refused string) {
	if msg := forged(r, c.session); msg != "" {
		apijson.Error(w, http.StatusForbidden, msg)
		return msg
	}
	p := PermRead
	if need != nil {
		p = need(r)
	}
	if !c.Role.Can(p) {
		msg := fmt.Sprintf("this needs the %q permission, which role %q of user %q does not have (it has: %s)",
			p, c.Role, c.User, permList(c.Role))
		apijson.Error(w, http.StatusForbidden, msg)
		return msg
	}
	ctx := context.WithValue(WithWho(r.Context(), c.Who), stillKey{}, func(ctx context.Context) bool { return a.still(ctx, c) })
	next.ServeHTTP(w, r.WithContext(ctx))
	return ""
}

type stillKey struct{}

// Still says whether the login a request came with still holds: the
// session not ended, expired or cut by a password change, the basic-auth
// user not removed. A handler that goes on for long (the live board's
// stream) asks now and then. Outside Guard it is true.
func Still(ctx context.Context) bool {
	f, ok := ctx.Value(stillKey{}).(func(context.Context) bool)
	return !ok || f(ctx)
}

func (a *Auth) still(ctx context.Context, c caller) bool {
	if c.session != nil {
		_, found, err := a.session(ctx, c.sessionID)
		return err == nil && found
	}
	acc, found, err := a.lookup(ctx, c.User)
	return err == nil && found && acc.role == c.Role
}

func permList(r Role) string {
	var s []string
	for _, p := range r.Perms() {
		s = append(s, string(p))
	}
	if len(s) == 0 {
		return "nothing"
	}
	return strings.Join(s, ", ")
}

// mayChange says whether a method may change something, and so needs the
// CSRF token when it comes with the cookie.
func mayChange(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// forged returns why r, which came with session s's cookie (nil for
// basic auth), may not be from the console's own page, or "". A request
// that may change something must carry the session's CSRF token, which
// another site's page cannot read, and must not name another Origin.
func forged(r *http.Request, s *session) string {
	if !mayChange(r.Method) {
		return ""
	}
	if msg := sameOrigin(r); msg != "" {
		return msg
	}
	if s == nil {
		// Basic credentials: a browser sends them by itself only after a
		// challenge, which Guard never makes (or from a user:pw@ URL,
		// which the Origin check above covers).
		return ""
	}
	if got := r.Header.Get("X-CSRF-Token"); subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
		return msgCSRF
	}
	return ""
}

// sameOrigin returns why r's Origin header, if it has one, is not this
// host, or "". Browsers send Origin with every cross-site request that may
// change something, so this refuses them even where SameSite is not
// honoured.
func sameOrigin(r *http.Request) string {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return ""
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return fmt.Sprintf("the request comes from %q, not from this gateway (%s)", origin, r.Host)
	}
	return ""
}

// authenticate finds who r comes from: by the session cookie, else by
// basic auth. When it finds nobody it answers (401, 429 or 500) and
// returns ok false.
func (a *Auth) authenticate(w http.ResponseWriter, r *http.Request) (c caller, ok bool) {
	ctx := r.Context()
	id := sessionCookie(r)
	if id != "" {
		s, found, err := a.session(ctx, id)
		if err != nil {
			a.internalError(w, "looking up a session", err)
			return c, false
		}
		if found {
			return caller{Who: Who{User: s.user, Role: s.role}, session: &s, sessionID: id}, true
		}
	}
	user, password, basic := r.BasicAuth()
	if !basic {
		msg := msgNoLogin
		if id != "" {
			msg = msgSessionGone
			clearCookie(w, r)
		}
		apijson.Error(w, http.StatusUnauthorized, msg)
		return c, false
	}
	role, err := a.checkBasic(ctx, user, password, r.RemoteAddr)
	if err != nil {
		a.refuse(w, err)
		return c, false
	}
	return caller{Who: Who{User: user, Role: role}}, true
}

// checkBasic checks basic credentials: the user is read from the file
// every time (for a role changed or a user removed by another process),
// the password by bcrypt unless it passed a moment ago.
func (a *Auth) checkBasic(ctx context.Context, user, password, remote string) (Role, error) {
	acc, found, err := a.lookup(ctx, user)
	if err != nil {
		return "", err
	}
	now := a.now()
	k := a.basic.keyFor(user, password)
	if found && a.basic.hit(k, acc.hash, now) {
		return acc.role, nil
	}
	if err := a.checkPassword(ctx, acc, found, user, password, remote, "basic auth"); err != nil {
		return "", err
	}
	a.basic.remember(k, acc.hash, now)
	return acc.role, nil
}

// checkPassword checks password against the user's row (acc, if found)
// under the lockout, journalling a failure. An unknown user costs a
// bcrypt comparison too, so the time taken does not tell which names
// exist. It returns nil, *lockedOut, errWrongPassword or a file error.
func (a *Auth) checkPassword(ctx context.Context, acc account, found bool, user, password, remote, how string) error {
	key := lockKey{user: user, ip: remoteIP(remote)}
	if wait := a.lockout.begin(key, a.now(), a.cfg.LoginAttempts, a.cfg.Lockout); wait > 0 {
		return &lockedOut{wait: wait}
	}
	hash := []byte(acc.hash)
	if !found {
		hash = a.dummyHash()
	}
	select {
	case a.bcryptSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	wrong := a.compare(hash, []byte(password)) != nil
	<-a.bcryptSlots
	if wrong || !found {
		a.journalOrLog(context.WithoutCancel(ctx), Entry{User: clip(user), Action: "login failed", Status: http.StatusUnauthorized, Remote: remote, Detail: how})
		return errWrongPassword
	}
	a.lockout.succeed(key)
	return nil
}

// clip shortens a name someone typed to what a user name may be, for the
// journal.
func clip(name string) string {
	if r := []rune(name); len(r) > maxUserName {
		return string(r[:maxUserName]) + "…"
	}
	return name
}

type lockedOut struct{ wait time.Duration }

func (e *lockedOut) Error() string {
	return fmt.Sprintf("too many failed logins for this user from this address: try again in %d s", e.seconds())
}

// seconds is the wait rounded up, as Retry-After takes it.
func (e *lockedOut) seconds() int { return int(math.Ceil(e.wait.Seconds())) }

var errWrongPassword = errors.New(msgWrongPassword)

// refuse answers a failed password check.
func (a *Auth) refuse(w http.ResponseWriter, err error) {
	var locked *lockedOut
	switch {
	case errors.As(err, &locked):
		w.Header().Set("Retry-After", strconv.Itoa(locked.seconds()))
		apijson.Write(w, http.StatusTooManyRequests, map[string]any{"error": locked.Error(), "retry_after_s": locked.seconds()})
	case errors.Is(err, errWrongPassword):
		apijson.Error(w, http.StatusUnauthorized, msgWrongPassword)
	default:
		a.internalError(w, "checking a password", err)
	}
}
