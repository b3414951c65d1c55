package broker

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// aclConfig: every device publishes under its own id and reads its own
// commands; the console reads everything and sends commands.
func aclConfig(c *Config) {
	c.ACL = []ACLEntry{
		{Users: []string{"*"}, Publish: []string{"community/+/building/+/+/%u/#"}, Subscribe: []string{"commands/%u/#", "clients/%c/#"}},
		{Users: []string{"console"}, Publish: []string{"commands/#"}, Subscribe: []string{"community/#"}},
	}
}

func TestACLPublish(t *testing.T) {
	b := mustStart(t, Options{}, aclConfig, "dev-1", "one", "console", "c")
	url := b.url(listenerTCP)
	console := mustConnect(t, client{url: url, id: "console", user: "console", pass: "c"})
	_, seen := subscribe(t, console, "community/#")
	dev := mustConnect(t, client{url: url, id: "dev-1-cid", user: "dev-1", pass: "one"})

	// MQTT 3.1.1 cannot say no to a publish: the broker acknowledges a
	// denied QoS 1 message and drops it, and the device stays connected.
	publish(t, dev, "community/sun/building/3/12/dev-2/gas", 1) // another device's id
	publish(t, dev, "community/sun/building/3/12/dev-2/gas", 0)
	publish(t, dev, "commands/dev-1/reset", 1) // only the console sends commands
	publish(t, dev, "community/sun/building/3/12/dev-1/gas", 1)
	// Messages from one client reach a subscriber in order: had any denied
	// one gone through, it would come first.
	if got := next(t, seen); got != "community/sun/building/3/12/dev-1/gas" {
		t.Fatalf("the console received %s, which the ACL denies", got)
	}
	if !dev.IsConnectionOpen() {
		t.Error("the device was disconnected for a denied publish")
	}
	if n := testenv.MetricValue(t, b.Broker, "shouwang_broker_acl_denied_total", "action=publish"); n != 3 {
		t.Errorf("publish denials %v, want 3", n)
	}
	if n := testenv.MetricValue(t, b.Broker, "shouwang_broker_messages_received_total"); n != 4 {
		t.Errorf("messages received %v, want 4", n)
	}
	if n := b.log.count("publish denied"); n != 2 {
		t.Errorf("denials logged %d times, want 2 (one per client and topic a minute):\n%s", n, b.log)
	}
	// The limiter lets the same denial through again after a minute.
	b.limiter.mu.Lock()
	for k, at := range b.limiter.last {
		b.limiter.last[k] = at.Add(-time.Minute)
	}
	b.limiter.mu.Unlock()
	publish(t, dev, "commands/dev-1/reset", 1)
	eventually(t, "the denial to be logged again", func() bool { return b.log.count("publish denied") == 3 })
}

func TestACLSubscribe(t *testing.T) {
	b := mustStart(t, Options{}, aclConfig, "dev-1", "one", "console", "c")
	url := b.url(listenerTCP)
	dev := mustConnect(t, client{url: url, id: "cid-9", user: "dev-1", pass: "one"})
	for filter, want := range map[string]byte{
		"commands/dev-1/#":          1,
		"commands/dev-1/reset":      1,
		"clients/cid-9/#":           1, // %c
		"$share/g/commands/dev-1/#": 1,
		"commands/dev-2/#":          0x80,
		"commands/+/reset":          0x80, // would cover other devices' commands
		"commands/#":                0x80,
		"#":                         0x80,
		"clients/cid-8/#":           0x80,
		"community/#":               0x80,
	} {
		if got, _ := subscribe(t, dev, filter); got != want {
			t.Errorf("subscribe %s: granted %#x, want %#x", filter, got, want)
		}
	}
	if n := testenv.MetricValue(t, b.Broker, "shouwang_broker_acl_denied_total", "action=subscribe"); n != 6 {
		t.Errorf("subscribe denials %v, want 6", n)
	}
	// The device gets its own commands.
	_, cmds := subscribe(t, dev, "commands/dev-1/+")
	console := mustConnect(t, client{url: url, id: "console", user: "console", pass: "c"})
	publish(t, console, "commands/dev-1/reset", 1)
	if got := next(t, cmds); got != "commands/dev-1/reset" {
		t.Errorf("got %s", got)
	}
}

// A will is published without the ACL being asked, so a will topic the
// ACL denies refuses the connection.
func TestACLWill(t *testing.T) {
	b := mustStart(t, Options{}, aclConfig, "dev-1", "one")
	url := b.url(listenerTCP)
	refused(t, client{url: url, id: "c1", user: "dev-1", pass: "one", will: "commands/all/reset"}, "will outside the ACL")
	mustConnect(t, client{url: url, id: "c2", user: "dev-1", pass: "one", will: "community/s/building/1/1/dev-1/status"})
}

// MQTT 5 can say no: a denied QoS 1 publish gets PUBACK "not authorized"
// (0x87) and the connection stays. paho.mqtt.golang speaks only 3.1.1, so
// this test speaks MQTT 5 with mochi's packet codec.
func TestACLPublishMQTT5(t *testing.T) {
	b := mustStart(t, Options{}, aclConfig, "dev-1", "one")
	c := dialV5(t, strings.TrimPrefix(b.url(listenerTCP), "tcp://"))
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, Connect: packets.ConnectParams{
		ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 30, ClientIdentifier: "v5",
		UsernameFlag: true, Username: []byte("dev-1"), PasswordFlag: true, Password: []byte("one")}})
	if ack := c.read(); ack.FixedHeader.Type != packets.Connack || ack.ReasonCode != 0 {
		t.Fatalf("CONNACK %+v", ack)
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 7,
		TopicName: "community/s/building/1/1/dev-2/gas", Payload: []byte("x")})
	ack := c.read()
	if ack.FixedHeader.Type != packets.Puback || ack.PacketID != 7 || ack.ReasonCode != packets.ErrNotAuthorized.Code {
		t.Fatalf("PUBACK for a denied publish: type %d id %d reason %#x", ack.FixedHeader.Type, ack.PacketID, ack.ReasonCode)
	}
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 8,
		TopicName: "community/s/building/1/1/dev-1/gas", Payload: []byte("x")})
	if ack := c.read(); ack.PacketID != 8 || ack.ReasonCode != 0 {
		t.Fatalf("PUBACK for an allowed publish: id %d reason %#x", ack.PacketID, ack.ReasonCode)
	}
	if n := testenv.MetricValue(t, b.Broker, "shouwang_broker_acl_denied_total", "action=publish"); n != 1 {
		t.Errorf("publish denials %v, want 1", n)
	}
	// A topic alias would be resolved after the ACL check: the broker
	// takes none.
	c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, PacketID: 9,
		TopicName: "community/s/building/1/1/dev-1/gas", Payload: []byte("x"),
		Properties: packets.Properties{TopicAliasFlag: true, TopicAlias: 1}})
	if pk := c.read(); pk.FixedHeader.Type != packets.Disconnect || pk.ReasonCode != packets.ErrTopicAliasInvalid.Code {
		t.Errorf("a publish with a topic alias got packet type %d reason %#x, want DISCONNECT 0x94", pk.FixedHeader.Type, pk.ReasonCode)
	}
}

type v5Client struct {
	tb   testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dialV5(tb testing.TB, addr string) *v5Client {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(wait))
	return &v5Client{tb: tb, conn: conn, r: bufio.NewReader(conn)}
}

func (c *v5Client) send(pk packets.Packet) {
	pk.ProtocolVersion = 5
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	}
	if err == nil {
		_, err = c.conn.Write(buf.Bytes())
	}
	if err != nil {
		c.tb.Fatal(err)
	}
}

func (c *v5Client) read() packets.Packet {
	hb, err := c.r.ReadByte()
	if err != nil {
		c.tb.Fatal(err)
	}
	pk := packets.Packet{ProtocolVersion: 5}
	if err := pk.FixedHeader.Decode(hb); err != nil {
		c.tb.Fatal(err)
	}
	n, _, err := packets.DecodeLength(c.r)
	if err != nil {
		c.tb.Fatal(err)
	}
	pk.FixedHeader.Remaining = n
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		c.tb.Fatal(err)
	}
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	default:
		c.tb.Fatalf("unexpected packet type %d", pk.FixedHeader.Type)
	}
	if err != nil {
		c.tb.Fatal(err)
	}
	return pk
}
