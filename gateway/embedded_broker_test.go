package gateway

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/shouwang-iot/shouwang/gateway/broker"
	"github.com/shouwang-iot/shouwang/gateway/store"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// wirelessOnEmbedded is a community whose two wireless gas alarms publish
// to the gateway's own broker, each under its own name, read by an mqtt
// driver that names no broker.
const wirelessOnEmbedded = `
gateway: {name: gw}
sites:
  - {id: s, name: 小区, grid: G1, buildings: [{id: "1", units: 1, floors: 6}]}
devices:
  - {id: gas-a, profile: gas-detector-wireless-json, driver: wireless, address: GD-A, location: {building: "1", unit: 1, floor: 2, room: "201"}}
  - {id: gas-b, profile: gas-detector-wireless-json, driver: wireless, address: GD-B, location: {building: "1", unit: 1, floor: 3, room: "301"}}
drivers:
  - name: wireless
    type: mqtt
    subscriptions:
      - topic: community/{community}/building/{building}/+/{device}/state
rules:
  - {id: gas, type: threshold, point: gas, levels: [{name: alarm, above: 50, severity: alarm}]}
notify:
  mqtt:
    - {name: duty-room, topic_prefix: shouwang/gw}
broker:
  listen: 127.0.0.1:%d
  acl:
    - users: ["*"]
      publish: ["community/+/building/+/+/%%u/#"]
    - users: [duty-room]
      subscribe: ["shouwang/#"]
`

// TestEmbeddedBrokerDevices runs the gateway on its embedded broker: a
// device with its own credentials reaches the history, a wrong password is
// refused, a device cannot publish under another's name, and the duty
// room's screen gets the alarm from the same broker.
func TestEmbeddedBrokerDevices(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	for user, pw := range map[string]string{"GD-A": "pw-a", "GD-B": "pw-b", "duty-room": "pw-room"} {
		if _, err := broker.AddUser(filepath.Join(dir, broker.UsersFileName), user, pw); err != nil {
			t.Fatal(err)
		}
	}
	port := testenv.FreePort(t)
	plan, err := LoadBytes("embedded.yaml", fmt.Appendf(nil, wirelessOnEmbedded, port), func(c *Config) {
		c.Gateway.DataDir, c.Gateway.HTTP.Listen = dir, "127.0.0.1:0"
	})
	if err != nil {
		t.Fatal(err)
	}
	if !plan.EmbeddedBroker {
		t.Fatal("a driver with no broker did not ask for the embedded one")
	}
	base := make(chan string, 1)
	g := New(plan, Options{Listening: func(a net.Addr) { base <- "http://" + a.String() }})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	url := <-base
	testenv.CheckFor(t, 10*time.Second, "readiness (the driver subscribed)", func() bool { code, _ := get(t, url+"/readyz"); return code == 200 })

	addr := fmt.Sprintf("tcp://127.0.0.1:%d", port)
	if _, err := connect(addr, "GD-A", "wrong"); err == nil || !strings.Contains(err.Error(), "not Authorized") {
		t.Fatalf("a wrong password: %v, want refused", err)
	}
	a, err := connect(addr, "GD-A", "pw-a")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Disconnect(100)
	b, err := connect(addr, "GD-B", "pw-b")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Disconnect(100)

	room, err := connect(addr, "duty-room", "pw-room")
	if err != nil {
		t.Fatal(err)
	}
	defer room.Disconnect(100)
	raised := make(chan string, 10)
	if tok := room.Subscribe("shouwang/gw/alarms/#", 1, func(_ paho.Client, m paho.Message) { raised <- m.Topic() }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("the duty room's subscription: %v", tok.Error())
	}

	// B publishes under A's name first, then under its own: once its own
	// reading is in, the other one would have been too.
	for _, m := range []struct {
		c          paho.Client
		device     string
		lel, floor int
	}{{b, "GD-A", 99, 2}, {a, "GD-A", 7, 2}, {b, "GD-B", 8, 3}, {b, "GD-B", 60, 3}} {
		topic := fmt.Sprintf("community/s/building/1/gas/%s/state", m.device)
		if tok := m.c.Publish(topic, 1, false, fmt.Sprintf(`{"lel":%d}`, m.lel)); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	var got []float64
	testenv.CheckFor(t, 10*time.Second, "both devices' own readings", func() bool {
		rs, err := g.store.Readings(context.Background(), store.Query{Devices: []string{"gas-a", "gas-b"}, Points: []string{"gas"}})
		got = got[:0]
		for _, r := range rs {
			got = append(got, r.Value)
		}
		return err == nil && len(rs) >= 3
	})
	if len(got) != 3 || got[0]+got[1]+got[2] != 75 {
		t.Fatalf("gas readings %v, want 7 (A's), 8 and 60 (B's) only: B may not publish as A", got)
	}
	select {
	case topic := <-raised:
		if !strings.HasSuffix(topic, "/raised") {
			t.Errorf("first alarm message on %s, want .../raised", topic)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the duty room heard of no alarm on the embedded broker")
	}
	_, metrics := get(t, url+"/metrics")
	for _, m := range []string{`shouwang_broker_acl_denied_total{action="publish"} 1`, "shouwang_broker_auth_failures_total 1", `shouwang_mqtt_connected{driver="wireless"} 1`} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s in:\n%s", m, grepLines(metrics, "shouwang_broker", "shouwang_mqtt_connected"))
		}
	}
}

// grepLines keeps the lines of text holding any of subs.
func grepLines(text string, subs ...string) string {
	var out []string
	for line := range strings.Lines(text) {
		for _, s := range subs {
			if strings.Contains(line, s) && !strings.HasPrefix(line, "#") {
				out = append(out, line)
				break
			}
		}
	}
	return strings.Join(out, "")
}

func connect(addr, user, password string) (paho.Client, error) {
	c := paho.NewClient(paho.NewClientOptions().AddBroker(addr).SetClientID(user).SetUsername(user).SetPassword(password).
		SetProtocolVersion(4)) // paho would try 3.1 after a refusal, and count twice
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect timed out")
	}
	return c, tok.Error()
}
