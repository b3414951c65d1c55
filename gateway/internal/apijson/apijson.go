// Package apijson writes the API's answers the one way every endpoint
// does: a JSON value, or {"error": "..."} that says what is wrong and what
// would be valid. Answers are not cached: they are live state.
package apijson

import (
	"encoding/json"
	"net/http"
)

// Write answers code with v as JSON.
func Write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// Error answers code with {"error": msg}.
func Error(w http.ResponseWriter, code int, msg string) {
	Write(w, code, struct {
		Error string `json:"error"`
	}{msg})
}
