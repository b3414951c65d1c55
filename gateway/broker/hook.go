package broker

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"net"
	"net/netip"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// hook is where mochi asks the broker who may connect and what they may
// do. mochi denies everything no hook allows.
type hook struct {
	mqtt.HookBase
	b *Broker
}

func (h *hook) ID() string { return "shouwang" }

func (h *hook) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish,
		mqtt.OnSessionEstablished, mqtt.OnDisconnect:
		return true
	}
	return false
}

var errTooManyClients = errors.New("max_clients reached")

// OnConnect refuses a client over max_clients before authenticating it,
// with the CONNACK code for it (server unavailable), which a hook's false
// from OnConnectAuthenticate could not give.
func (h *hook) OnConnect(cl *mqtt.Client, _ packets.Packet) error {
	b := h.b
	if b.cfg.MaxClients == 0 || cl.Net.Listener == listenerInternal || b.publicClients.Load() < int64(b.cfg.MaxClients) {
		return nil
	}
	if b.limiter.allow("max_clients", b.now()) {
		b.logger.Warn("MQTT connect refused: max_clients reached", "max_clients", b.cfg.MaxClients, "client", cl.ID, "remote", cl.Net.Remote)
	}
	_ = b.server.SendConnack(cl, packets.ErrServerUnavailable, false, nil)
	return errTooManyClients
}

// OnConnectAuthenticate checks the credentials, and the will's topic
// against the ACL (mochi publishes a will without asking).
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	b := h.b
	user := string(pk.Connect.Username)
	refuse := func(reason string) bool {
		b.authFailures.Add(1)
		host, _, _ := net.SplitHostPort(cl.Net.Remote)
		if b.limiter.allow("auth\x00"+user+"\x00"+reason+"\x00"+host, b.now()) {
			b.logger.Warn("MQTT connect refused", "reason", reason, "user", user, "client", cl.ID,
				"remote", cl.Net.Remote, "listener", cl.Net.Listener)
		}
		return false
	}
	switch {
	case user == "":
		if !b.opts.AnonymousLoopback || !isLoopback(cl.Net.Remote) {
			return refuse("no username (anonymous clients are refused)")
		}
	case user == internalUser:
		if cl.Net.Listener != listenerInternal {
			return refuse("the gateway's internal user, which connects only on the internal listener")
		}
		if subtle.ConstantTimeCompare(pk.Connect.Password, []byte(b.internalPass.Reveal())) != 1 {
			return refuse("wrong password")
		}
	default:
		switch ok, known := b.users.check(user, pk.Connect.Password); {
		case !known:
			return refuse("unknown user (not in the users file)")
		case !ok:
			return refuse("wrong password")
		}
	}
	if pk.Connect.WillFlag && !h.allowed(cl, pk.Connect.WillTopic, true) {
		return refuse("the will's topic is not allowed by the ACL")
	}
	return true
}

// OnACLCheck answers for subscriptions (filters), for each message
// delivered (topic names, checked like filters) and, for MQTT 5 clients,
// for publishes: mochi then drops QoS 0 and acknowledges QoS 1/2 with
// "not authorized" (0x87). For MQTT 3 clients mochi would disconnect on a
// denied QoS 1/2 publish, and the client would send it again on
// reconnect, forever; OnPublish handles those instead.
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if write && cl.Properties.ProtocolVersion < 5 {
		return true
	}
	return h.allowed(cl, topic, write)
}

// OnPublish drops an MQTT 3 client's publish the ACL denies, and still
// acknowledges it, as Mosquitto does: MQTT 3 has no way to say no.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Properties.ProtocolVersion >= 5 || h.allowed(cl, pk.TopicName, true) {
		return pk, nil
	}
	return pk, packets.CodeSuccessIgnore
}

func (h *hook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	if c, ok := cl.Net.Conn.(*trackedConn); ok {
		c.established.Store(true)
		if cl.Net.Listener != listenerInternal {
			c.counted.Store(true)
			h.b.publicClients.Add(1)
		}
	}
}

func (h *hook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	if c, ok := cl.Net.Conn.(*trackedConn); ok && c.counted.CompareAndSwap(true, false) {
		h.b.publicClients.Add(-1)
	}
}

// allowed applies the ACL, logging and counting a denial.
func (h *hook) allowed(cl *mqtt.Client, topic string, write bool) bool {
	b := h.b
	user := cl.Properties.Username
	if len(user) == 0 {
		// Only an anonymous loopback client gets past authentication.
		return b.opts.AnonymousLoopback
	}
	if cl.Net.Listener == listenerInternal && bytes.Equal(user, []byte(internalUser)) {
		return true
	}
	if b.permits(user, cl.ID, topic, write) {
		return true
	}
	action := "subscribe"
	if write {
		action = "publish"
		b.deniedPub.Add(1)
	} else {
		b.deniedSub.Add(1)
	}
	if b.limiter.allow("acl\x00"+cl.ID+"\x00"+action+"\x00"+topic, b.now()) {
		b.logger.Warn("MQTT "+action+" denied by the broker ACL", "user", string(user), "client", cl.ID, "topic", topic)
	}
	return false
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}
