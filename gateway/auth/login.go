package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/shouwang-iot/shouwang/gateway/internal/apijson"
)

// maxLoginBody is the most a login body may be: a name and a password
// need far less, and a body is read whole before it is parsed.
const maxLoginBody = 4 << 10

// loginBody is what POST /api/v1/session takes.
type loginBody struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// sessionBody is what POST and GET /api/v1/session answer.
type sessionBody struct {
	User string `json:"user"`
	Role Role   `json:"role"`
	CSRF string `json:"csrf"` // "" for basic auth, which needs none
	Can  []Perm `json:"can"`
}

func newSessionBody(w Who, csrf string) sessionBody {
	can := w.Role.Perms()
	if can == nil {
		can = []Perm{}
	}
	return sessionBody{User: w.User, Role: w.Role, CSRF: csrf, Can: can}
}

// decodeLogin reads a login body of at most maxLoginBody bytes: one JSON
// object with user and password and nothing else.
func decodeLogin(r io.Reader) (loginBody, error) {
	var b loginBody
	data, err := io.ReadAll(io.LimitReader(r, maxLoginBody+1))
	switch {
	case err != nil:
		return b, fmt.Errorf("reading the body: %w", err)
	case len(data) > maxLoginBody:
		return b, fmt.Errorf("the body is larger than %d bytes (want {\"user\": ..., \"password\": ...})", maxLoginBody)
	case len(bytes.TrimSpace(data)) == 0:
		return b, errors.New(`the body is empty (want {"user": ..., "password": ...})`)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, fmt.Errorf(`the body is not {"user": ..., "password": ...}: %v`, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return b, errors.New(`the body has more after its JSON object (want {"user": ..., "password": ...} alone)`)
	}
	switch {
	case b.User == "":
		return b, errors.New("user is missing or empty")
	case b.Password == "":
		return b, errors.New("password is missing or empty")
	}
	return b, nil
}

// login is POST /api/v1/session.
func (a *Auth) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// A login from another site's page would log the browser in as
	// whoever that site chose.
	if msg := sameOrigin(r); msg != "" {
		apijson.Error(w, http.StatusForbidden, msg)
		return
	}
	b, err := decodeLogin(r.Body)
	if err != nil {
		apijson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	acc, found, err := a.lookup(ctx, b.User)
	if err == nil {
		err = a.checkPassword(ctx, acc, found, b.User, b.Password, r.RemoteAddr, "")
	}
	if err != nil {
		a.refuse(w, err)
		return
	}
	id, csrf, err := a.startSession(ctx, b.User)
	if err != nil {
		a.internalError(w, "starting a session", err)
		return
	}
	if old := sessionCookie(r); old != "" {
		// The session this browser had is replaced: end it now rather
		// than leave it to expire.
		if err := a.endSession(ctx, hashID(old)); err != nil {
			a.logger.Warn("console: ending a replaced session", "user", b.User, "err", err)
		}
	}
	a.setCookie(w, r, id)
	a.journalOrLog(context.WithoutCancel(ctx), Entry{User: b.User, Action: "login", Status: http.StatusOK, Remote: r.RemoteAddr})
	apijson.Write(w, http.StatusOK, newSessionBody(Who{User: b.User, Role: acc.role}, csrf))
}

// current is GET /api/v1/session: who the caller is.
func (a *Auth) current(w http.ResponseWriter, r *http.Request) {
	c, ok := a.authenticate(w, r)
	if !ok {
		return
	}
	var csrf string
	if c.session != nil {
		csrf = c.session.csrf
	}
	apijson.Write(w, http.StatusOK, newSessionBody(c.Who, csrf))
}

// logout is DELETE /api/v1/session. It answers 204 and clears the cookie
// even when the session has already ended, so a client can always get
// back to a clean state; a live session must send its CSRF token, so
// another site cannot log the user out.
func (a *Auth) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := sessionCookie(r)
	if id != "" {
		s, found, err := a.session(ctx, id)
		if err != nil {
			a.internalError(w, "looking up a session", err)
			return
		}
		if found {
			if msg := forged(r, &s); msg != "" {
				apijson.Error(w, http.StatusForbidden, msg)
				return
			}
			if err := a.endSession(ctx, s.idHash); err != nil {
				a.internalError(w, "ending a session", err)
				return
			}
			a.journalOrLog(context.WithoutCancel(ctx), Entry{User: s.user, Action: "logout", Status: http.StatusNoContent, Remote: r.RemoteAddr})
		}
	}
	clearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}
