package alarms

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/auth"
	"github.com/shouwang-iot/shouwang/gateway/internal/apijson"
	"github.com/shouwang-iot/shouwang/rules"
)

// streamBuffer is how many messages a board may fall behind before it is
// cut off; it reconnects and starts again from a snapshot.
const streamBuffer = 64

// pingEvery keeps proxies and the browser from closing an idle stream,
// and lets the board tell a dead connection from a quiet night.
const pingEvery = 15 * time.Second

// stream is the live board, as server-sent events: first a snapshot of
// every open alarm, then each transition as it is announced. It
// subscribes before taking the snapshot, so nothing falls between the
// two; the board keeps, per alarm, the message with the highest seq. A
// board that reconnects (EventSource does by itself) gets a new snapshot,
// which is how it catches up on whatever it missed. At every ping it asks
// whether the login it came with still holds (auth.Still): a logout, a
// password change or a removed user ends the stream.
func (d *Desk) stream(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead { // writes to a HEAD never fail: it would stream forever
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		apijson.Error(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	feed, stop := d.Subscribe(streamBuffer)
	defer stop()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx in front must not hold events back
	w.WriteHeader(http.StatusOK)
	snap := d.board(func(rules.Alarm, shouwang.Device) bool { return true })
	if writeEvent(w, "snapshot", "", map[string]any{"alarms": snap}) != nil {
		return
	}
	fl.Flush()
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case m, ok := <-feed:
			if !ok {
				return // cut off for falling behind: the board reconnects
			}
			if writeEvent(w, "transition", fmt.Sprintf("%d-%d", m.AlarmID, m.Seq), m) != nil {
				return
			}
		case <-ping.C:
			if !auth.Still(r.Context()) {
				return
			}
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
		fl.Flush()
	}
}

// writeEvent writes one server-sent event; JSON holds no newline, so the
// data is one line.
func writeEvent(w io.Writer, event, id string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if id != "" {
		_, err = fmt.Fprintf(w, "event: %s\nid: %s\ndata: %s\n\n", event, id, body)
	} else {
		_, err = fmt.Fprintf(w, "retry: 2000\nevent: %s\ndata: %s\n\n", event, body)
	}
	return err
}
