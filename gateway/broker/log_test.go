package broker

import (
	"log/slog"
	"strings"
	"testing"

	mqtt "github.com/mochi-mqtt/server/v2"
)

func TestMochiLogLevels(t *testing.T) {
	var buf syncBuffer
	log := slog.New(&mochiHandler{h: slog.NewTextHandler(&buf, nil)}) // the gateway at info
	log.Info("attached listener")                                     // mochi's chatter: debug
	log.Warn("", "error", "EOF")                                      // a connection ended: debug
	log.Warn(mqtt.ErrMinimumKeepalive.Error())
	log.Warn("client store quota reached", "client", "c1") // messages dropped: stays a warning
	log.Error("publish packet error")
	got := buf.String()
	if strings.Contains(got, "attached") || strings.Contains(got, "EOF") || strings.Contains(got, "keepalive") {
		t.Errorf("chatter passed at info:\n%s", got)
	}
	if !strings.Contains(got, "level=WARN msg=\"client store quota reached\"") || !strings.Contains(got, "level=ERROR") {
		t.Errorf("warnings lost:\n%s", got)
	}

	var debug syncBuffer
	log = slog.New(&mochiHandler{h: slog.NewTextHandler(&debug, &slog.HandlerOptions{Level: slog.LevelDebug})}).With("component", "broker")
	log.Warn("", "error", "EOF")
	if got := debug.String(); !strings.Contains(got, `level=DEBUG msg="MQTT connection ended" component=broker error=EOF`) {
		t.Errorf("at debug:\n%s", got)
	}
}
