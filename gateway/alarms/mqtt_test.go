package alarms

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/internal/testenv"
	"github.com/shouwang-iot/shouwang/mock"
	"github.com/shouwang-iot/shouwang/rules"
)

const prefix = "shouwang/test"

// received is one message a test subscriber got.
type received struct {
	topic    string
	retained bool
	body     []byte
}

// subscribe connects a subscriber with a persistent session to the
// broker's plain listener and returns what arrives on prefix/#.
func subscribe(t *testing.T, mq *testenv.Mosquitto, clientID string) <-chan received {
	t.Helper()
	ch := make(chan received, 1000)
	opts := paho.NewClientOptions().AddBroker("tcp://" + mq.Addr).SetClientID(clientID).
		SetUsername(mq.User).SetPassword(mq.Password).SetCleanSession(false).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetMaxReconnectInterval(time.Second).SetResumeSubs(true).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			ch <- received{m.Topic(), m.Retained(), m.Payload()}
		})
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	if tok := c.Subscribe(prefix+"/#", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return ch
}

// next returns the next message on topic, skipping others; it fails the
// test when none comes within 30 s (a broker restart takes a few).
func next(t *testing.T, ch <-chan received, topic string) received {
	t.Helper()
	rs := upTo(t, ch, topic)
	return rs[len(rs)-1]
}

// upTo returns every message that arrives up to and including the next
// one on topic, as next waits for it.
func upTo(t *testing.T, ch <-chan received, topic string) []received {
	t.Helper()
	var rs []received
	deadline := time.After(30 * time.Second)
	for {
		select {
		case r := <-ch:
			rs = append(rs, r)
			if r.topic == topic {
				return rs
			}
		case <-deadline:
			t.Fatalf("nothing on %s within 30s", topic)
		}
	}
}

func mqttNotifier(t *testing.T, mq *testenv.Mosquitto) *MQTT {
	t.Helper()
	c := DefaultMQTTConfig()
	c.Name, c.URL, c.ClientID, c.TopicPrefix = "room", "ssl://"+mq.TLSAddr, "gw-room", prefix
	c.Username, c.Password, c.CA = mq.User, shouwang.Secret(mq.Password), mq.CAFile
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	n, err := NewMQTT(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func decode[T any](t *testing.T, r received) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("%s: %v: %s", r.topic, err, r.body)
	}
	return v
}

// TestMQTTLifecycle works a gas alarm from raised to closed against a real
// Mosquitto (TLS, password): one event per transition with the full
// location and the links, and a retained device state that a console
// subscribing late still gets. The broker restarts in the middle; the
// acknowledgement made while it was down arrives after.
func TestMQTTLifecycle(t *testing.T) {
	leakcheck.Check(t)
	mq := testenv.StartMosquitto(t)
	sub := subscribe(t, mq, "console")
	fx := openDesk(t, t.TempDir(), mock.NewClock(t0))
	fx.desk.AddNotifier("room", Route{}, mqttNotifier(t, mq))
	ctx := context.Background()
	if err := fx.desk.StartNotifiers(ctx); err != nil {
		t.Fatal(err)
	}
	defer fx.desk.StopNotifiers(ctx)

	fx.gas(t, 0, 12)
	raised := decode[Message](t, next(t, sub, prefix+"/alarms/1/raised"))
	if raised.Severity != shouwang.Warning || raised.Location.Building != "3号楼" || raised.Location.Room != "1202" ||
		raised.Value != 12 || raised.Links["acknowledge"] != "/api/v1/alarms/1/acknowledge" || raised.DeviceName != "1202 厨房燃气" {
		t.Fatalf("raised message: %+v", raised)
	}
	fx.gas(t, time.Second, 30)
	if up := decode[Message](t, next(t, sub, prefix+"/alarms/1/updated")); up.Severity != shouwang.Alarm {
		t.Fatalf("updated message: %+v", up)
	}
	// The state topic follows; the last one published says alarm.
	var state DeviceAlarmState
	for state.Severity != "alarm" {
		state = decode[DeviceAlarmState](t, next(t, sub, prefix+"/devices/gas-1202/alarm"))
	}
	if len(state.Alarms) != 1 || state.Alarms[0].AlarmID != 1 {
		t.Fatalf("device state: %+v", state)
	}

	mq.Stop(t)
	if _, err := fx.desk.Act(ctx, 1, rules.ActionAcknowledge, "王警官", "on my way", time.Time{}); err != nil {
		t.Fatal(err)
	}
	mq.Restart(t)
	if ack := decode[Message](t, next(t, sub, prefix+"/alarms/1/acknowledged")); ack.Operator != "王警官" || ack.State != rules.StateAcknowledged {
		t.Fatalf("acknowledged message: %+v", ack)
	}

	fx.gas(t, 2*time.Second, 0) // returns to normal; latched, so it needs a reset
	for _, step := range []rules.Action{rules.ActionReset, rules.ActionDispatch, rules.ActionResolve, rules.ActionClose} {
		if _, err := fx.desk.Act(ctx, 1, step, "王警官", "valve closed", time.Time{}); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	next(t, sub, prefix+"/alarms/1/closed")
	for state.Severity != "normal" { // the state follows the event
		state = decode[DeviceAlarmState](t, next(t, sub, prefix+"/devices/gas-1202/alarm"))
	}

	late := subscribe(t, mq, "late-console")
	if r := next(t, late, prefix+"/devices/gas-1202/alarm"); !r.retained || decode[DeviceAlarmState](t, r).Severity != "normal" {
		t.Fatalf("a late subscriber gets %s (retained %v), want the retained normal state", r.body, r.retained)
	}
}

// TestMQTTDeliversAfterRestart: transitions committed while the broker is
// down and the gateway then stops are sent by the next gateway, from the
// journal; a message is not sent twice once the broker acknowledged it.
func TestMQTTDeliversAfterRestart(t *testing.T) {
	leakcheck.Check(t)
	mq := testenv.StartMosquitto(t)
	sub := subscribe(t, mq, "console")
	dir := t.TempDir()
	c := mock.NewClock(t0)
	ctx := context.Background()

	fx := openDesk(t, dir, c)
	fx.desk.AddNotifier("room", Route{}, mqttNotifier(t, mq))
	if err := fx.desk.StartNotifiers(ctx); err != nil {
		t.Fatal(err)
	}
	fx.gas(t, 0, 30)
	next(t, sub, prefix+"/alarms/1/raised")
	// The raise is delivered once the broker acknowledged it and the
	// device's state after it, and the outlet has recorded that; until
	// then a stop makes the next gateway send it again, as it should.
	testenv.CheckFor(t, 10*time.Second, "the raise's delivery to be recorded", func() bool {
		var id int64
		err := fx.desk.journal.db.QueryRow(`SELECT feed_id FROM notify_cursors WHERE name = 'room'`).Scan(&id)
		return err == nil && id >= 1
	})
	mq.Stop(t)
	if _, err := fx.desk.Act(ctx, 1, rules.ActionAcknowledge, "李警官", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	stopCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	fx.desk.StopNotifiers(stopCtx) // cannot deliver: the broker is down
	cancel()
	fx.close()

	mq.Restart(t)
	fx = openDesk(t, dir, c)
	fx.desk.AddNotifier("room", Route{}, mqttNotifier(t, mq))
	if err := fx.desk.StartNotifiers(ctx); err != nil {
		t.Fatal(err)
	}
	defer fx.desk.StopNotifiers(ctx)
	// Everything after the raise arrives, and the raise, delivered before
	// the restart, is not sent again: it would come first, before the
	// acknowledgement, in commit order.
	after := upTo(t, sub, prefix+"/alarms/1/acknowledged")
	if ack := decode[Message](t, after[len(after)-1]); ack.Operator != "李警官" {
		t.Fatalf("acknowledged message: %+v", ack)
	}
	if _, err := fx.desk.Act(ctx, 1, rules.ActionDispatch, "李警官", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range append(after, upTo(t, sub, prefix+"/alarms/1/dispatched")...) {
		if strings.HasSuffix(r.topic, "/raised") {
			t.Fatalf("the raise was sent again after the restart")
		}
	}
}
