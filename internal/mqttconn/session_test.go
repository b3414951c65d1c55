package mqttconn

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// TestSessionAcksOnlyWhatTheCallerAcks: a message the caller did not
// acknowledge stays in the broker's session and comes again on the next
// Connect; the one it acknowledged does not.
func TestSessionAcksOnlyWhatTheCallerAcks(t *testing.T) {
	leakcheck.Check(t)
	mq := testenv.StartMosquitto(t)
	got := make(chan paho.Message, 10)
	connected := make(chan bool, 10)
	s := &Session{
		Broker: &Broker{URL: "tcp://" + mq.Addr, ClientID: "session-ack", Username: mq.User,
			Password: shouwang.Secret(mq.Password)},
		Filters:        map[string]byte{"sensors/+/state": 1},
		ConnectTimeout: 10 * time.Second, KeepAlive: 30 * time.Second,
		Receive:   func(m paho.Message) { got <- m },
		Connected: func(up bool) { connected <- up },
	}
	client, err := s.Connect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if up := <-connected; !up {
		t.Fatal("Connected(false) before the subscriptions were granted")
	}
	pub := publisher(t, mq)
	for _, payload := range []string{"1", "2"} {
		if tok := pub.Publish("sensors/a/state", 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	first, second := receive(t, got), receive(t, got)
	if string(first.Payload()) != "1" || string(second.Payload()) != "2" {
		t.Fatalf("received %q then %q, want 1 then 2", first.Payload(), second.Payload())
	}
	first.Ack()
	client.Disconnect(250)

	client, err = s.Connect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(250)
	again := receive(t, got)
	if string(again.Payload()) != "2" || !again.Duplicate() {
		t.Fatalf("after reconnecting received %q (dup %v), want 2 again, not the acknowledged 1", again.Payload(), again.Duplicate())
	}
	again.Ack()
}

// TestSessionRefusedSubscription: a filter the broker refuses (0x80)
// fails Connect with an error naming it, and leaves nothing running.
// testenv's Mosquitto has no ACL, so an in-process broker refuses it.
func TestSessionRefusedSubscription(t *testing.T) {
	leakcheck.Check(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(&denyHook{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewNet("test", ln)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	s := &Session{
		Broker:         &Broker{URL: "tcp://" + ln.Addr().String(), ClientID: "session-refused"},
		Filters:        map[string]byte{"allowed/#": 1, "denied/#": 1},
		ConnectTimeout: 10 * time.Second, KeepAlive: 30 * time.Second,
		Receive:   func(paho.Message) {},
		Connected: func(bool) { t.Error("Connected called although a subscription was refused") },
	}
	client, err := s.Connect(t.Context())
	if err == nil || !strings.Contains(err.Error(), "refused the subscription to denied/#") || strings.Contains(err.Error(), "allowed/#") {
		t.Fatalf("Connect = %v, want the refusal of denied/# alone", err)
	}
	if client != nil {
		t.Error("a failed Connect returned a client")
	}
}

// denyHook lets every client in and refuses subscriptions under denied/.
type denyHook struct{ mochi.HookBase }

func (*denyHook) ID() string { return "deny" }
func (*denyHook) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}
func (*denyHook) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }
func (*denyHook) OnACLCheck(_ *mochi.Client, topic string, _ bool) bool {
	return !strings.HasPrefix(topic, "denied/")
}

// TestSessionConnectCancelled: a broker that accepts the connection and
// never answers holds Connect; cancelling its ctx ends it, and nothing is
// left running.
func TestSessionConnectCancelled(t *testing.T) {
	leakcheck.Check(t)
	addr, accepted := testenv.SilentServer(t)
	s := &Session{
		Broker:         &Broker{URL: "tcp://" + addr, ClientID: "session-silent"},
		Filters:        map[string]byte{"sensors/#": 1},
		ConnectTimeout: 10 * time.Second, KeepAlive: 30 * time.Second,
		Receive: func(paho.Message) {},
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := s.Connect(ctx)
		done <- err
	}()
	<-accepted
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Connect after its ctx was cancelled: %v, want context.Canceled", err)
	}
}

func receive(t *testing.T, got <-chan paho.Message) paho.Message {
	t.Helper()
	select {
	case m := <-got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
		return nil
	}
}

// publisher is a device's client on mq's plain listener.
func publisher(t *testing.T, mq *testenv.Mosquitto) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + mq.Addr).SetClientID("session-device").
		SetUsername(mq.User).SetPassword(mq.Password))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}
