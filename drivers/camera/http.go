package camera

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/camera/report"
)

// handler takes POST /events/{camera}: the event document alone, or in
// a multipart body with its images.
func (d *Driver) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /events/{camera}", d.post)
	return mux
}

func (d *Driver) post(w http.ResponseWriter, r *http.Request) {
	cam := d.cams[r.PathValue("camera")]
	if cam == nil {
		d.refuse("unknown_camera", "camera event for an unknown camera", "camera", r.PathValue("camera"), "from", r.RemoteAddr)
		http.Error(w, "no camera has this address on the driver", http.StatusNotFound)
		return
	}
	if !authorized(r, cam.token) {
		d.refuse("unauthorized", "camera event refused: wrong or missing token", "camera", cam.dev.ID, "from", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Basic realm="shouwang camera events"`)
		http.Error(w, "the camera's token is wrong or missing (Authorization: Bearer <token>, basic auth, or ?token=)", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(d.cfg.MaxBody)))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			d.refuse("too_large", "camera event too large", "camera", cam.dev.ID, "max_body", d.cfg.MaxBody)
			http.Error(w, "the body is larger than max_body ("+d.cfg.MaxBody.String()+")", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	publish := func(b shouwang.Batch) error { return d.pub.Publish(r.Context(), b) }
	res, err := d.take(cam, r.Header.Get("Content-Type"), body, publish)
	switch {
	case errors.Is(err, report.ErrNotThrow):
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ignored":"not a throw event"}` + "\n"))
		return
	case isDecodeError(err):
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		http.Error(w, "the event is not stored yet; send it again", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}

// authorized checks the camera's token as a bearer token, a basic-auth
// password or a token query parameter, in constant time.
func authorized(r *http.Request, token string) bool {
	got := r.URL.Query().Get("token")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		got = strings.TrimPrefix(h, "Bearer ")
	} else if _, pass, ok := r.BasicAuth(); ok {
		got = pass
	}
	return token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}
