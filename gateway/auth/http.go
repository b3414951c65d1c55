package auth

import (
	"net/http"

	"github.com/shouwang-iot/shouwang/gateway/internal/apijson"
)

// Handler serves the console's login and its journal, at their full
// paths: POST, GET and DELETE /api/v1/session, and GET /api/v1/audit for
// admins.
func (a *Auth) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/session", a.login)
	mux.HandleFunc("GET /api/v1/session", a.current)
	mux.HandleFunc("DELETE /api/v1/session", a.logout)
	mux.Handle("GET /api/v1/audit", a.Guard(http.HandlerFunc(a.serveAudit), func(*http.Request) Perm { return PermAdmin }))
	return mux
}

// internalError answers 500 without the details, which go to the log.
func (a *Auth) internalError(w http.ResponseWriter, doing string, err error) {
	a.logger.Error("console: "+doing, "err", err)
	apijson.Error(w, http.StatusInternalServerError, "internal error")
}

// statusRecorder notes the status a handler answers, for the journal. It
// passes Flush on, so an event stream behind Guard still streams.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 && code >= 200 { // 1xx are interim answers
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (s *statusRecorder) Flush() {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// status is what was answered: 200 if the handler wrote nothing.
func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}
