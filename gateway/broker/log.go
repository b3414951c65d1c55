package broker

import (
	"context"
	"log/slog"

	mqtt "github.com/mochi-mqtt/server/v2"
)

// mochiHandler passes mochi's log into the gateway's at the levels an
// operator wants: mochi logs its start, stop and every listener at info,
// and every connection that ends with an error (a refused login, a
// device that went away) as a warning without a message. The broker logs
// refusals and denials itself, once a minute each.
type mochiHandler struct{ h slog.Handler }

// demoted are mochi's warnings about single clients, which happen all
// the time on a network of devices.
var demoted = map[string]bool{
	"":                               true, // a connection ended with an error
	"error processing packet":        true, // a client's protocol error; carries the whole packet
	mqtt.ErrMinimumKeepalive.Error(): true, // a device's choice, said on every connect
}

func (m *mochiHandler) Enabled(ctx context.Context, l slog.Level) bool {
	if l < slog.LevelWarn {
		l = slog.LevelDebug
	}
	return m.h.Enabled(ctx, l)
}

func (m *mochiHandler) Handle(ctx context.Context, r slog.Record) error {
	switch {
	case r.Level < slog.LevelWarn:
		r.Level = slog.LevelDebug
	case r.Level == slog.LevelWarn && demoted[r.Message]:
		r.Level = slog.LevelDebug
		if r.Message == "" {
			r.Message = "MQTT connection ended"
		}
	}
	if !m.h.Enabled(ctx, r.Level) {
		return nil
	}
	return m.h.Handle(ctx, r)
}

func (m *mochiHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &mochiHandler{h: m.h.WithAttrs(as)}
}

func (m *mochiHandler) WithGroup(name string) slog.Handler {
	return &mochiHandler{h: m.h.WithGroup(name)}
}
