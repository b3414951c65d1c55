package broker

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

func TestAuthentication(t *testing.T) {
	b := mustStart(t, Options{}, nil, "dev-1", "right")
	url := b.url(listenerTCP)
	mustConnect(t, client{url: url, id: "c1", user: "dev-1", pass: "right"})
	refused(t, client{url: url, id: "c2", user: "dev-1", pass: "wrong"}, "wrong password")
	refused(t, client{url: url, id: "c3", user: "nobody", pass: "right"}, "unknown user")
	refused(t, client{url: url, id: "c4"}, "anonymous without AnonymousLoopback")
	if n := testenv.MetricValue(t, b.Broker, "shouwang_broker_auth_failures_total"); n != 3 {
		t.Errorf("auth failures %v, want 3", n)
	}
	for _, reason := range []string{"wrong password", "unknown user", "no username"} {
		if !strings.Contains(b.log.String(), "reason=\""+reason) {
			t.Errorf("log does not give the reason %q:\n%s", reason, b.log)
		}
	}
	// The same refusal again is counted but not logged again within the minute.
	refused(t, client{url: url, id: "c2", user: "dev-1", pass: "wrong"}, "wrong password")
	if n := b.log.count("wrong password"); n != 1 {
		t.Errorf("refusal logged %d times, want once a minute", n)
	}
	if n := testenv.MetricValue(t, b.Broker, "shouwang_broker_auth_failures_total"); n != 4 {
		t.Errorf("auth failures %v, want 4", n)
	}
	eventually(t, "the gauge to count the one client", func() bool {
		return testenv.MetricValue(t, b.Broker, "shouwang_broker_clients") == 1
	})
}

func TestAnonymousLoopback(t *testing.T) {
	b := mustStart(t, Options{AnonymousLoopback: true}, func(c *Config) { c.ACL = nil })
	url := b.url(listenerTCP)
	anon := mustConnect(t, client{url: url, id: "anon"})
	// With no ACL at all, an anonymous loopback client still may do anything.
	if qos, _ := subscribe(t, anon, "#"); qos != 1 {
		t.Fatalf("anonymous subscribe to # granted %#x", qos)
	}
	_, ch := subscribe(t, anon, "any/topic")
	publish(t, anon, "any/topic", 1)
	if got := next(t, ch); got != "any/topic" {
		t.Errorf("got %s", got)
	}
	if !isLoopback("127.0.0.1:5") || !isLoopback("[::1]:5") || !isLoopback("[::ffff:127.0.0.1]:5") ||
		isLoopback("192.168.1.20:5") || isLoopback("garbage") {
		t.Error("isLoopback is wrong")
	}
}

// An anonymous client from another address is refused even with
// AnonymousLoopback; this needs an address of this machine that is not
// loopback.
func TestAnonymousNotLoopback(t *testing.T) {
	ip := nonLoopbackIP(t)
	b := mustStart(t, Options{AnonymousLoopback: true}, func(c *Config) { c.Listen = net.JoinHostPort(ip, "0") })
	url := b.url(listenerTCP)
	refused(t, client{url: url, id: "anon"}, "anonymous from "+ip)
	if n := testenv.MetricValue(t, b.Broker, "shouwang_broker_auth_failures_total"); n != 1 {
		t.Errorf("auth failures %v, want 1", n)
	}
}

func nonLoopbackIP(t *testing.T) string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			if ln, err := net.Listen("tcp", net.JoinHostPort(n.IP.String(), "0")); err == nil {
				ln.Close()
				return n.IP.String()
			}
		}
	}
	t.Skip("this machine has no IPv4 address but loopback")
	return ""
}

// Users added to the file while the broker runs can connect at once, and
// removed ones no longer can: the file is read again when it changes.
func TestUsersFileReload(t *testing.T) {
	b := mustStart(t, Options{}, nil, "dev-1", "one")
	url := b.url(listenerTCP)
	refused(t, client{url: url, id: "c2", user: "dev-2", pass: "two"}, "before add")
	if _, err := AddUser(b.users, "dev-2", "two"); err != nil {
		t.Fatal(err)
	}
	mustConnect(t, client{url: url, id: "c2", user: "dev-2", pass: "two"})
	mustConnect(t, client{url: url, id: "c1", user: "dev-1", pass: "one"}) // cached now
	if err := RemoveUser(b.users, "dev-1"); err != nil {
		t.Fatal(err)
	}
	refused(t, client{url: url, id: "c1b", user: "dev-1", pass: "one"}, "after remove (the cached check must go)")
	// A new password replaces the old one, cached or not.
	if _, err := AddUser(b.users, "dev-2", "new"); err != nil {
		t.Fatal(err)
	}
	refused(t, client{url: url, id: "c2b", user: "dev-2", pass: "two"}, "old password")
	mustConnect(t, client{url: url, id: "c2c", user: "dev-2", pass: "new"})
}

// A users file broken while the broker runs keeps the users read before.
func TestUsersFileBroken(t *testing.T) {
	b := mustStart(t, Options{}, nil, "dev-1", "one")
	url := b.url(listenerTCP)
	prependLine(t, b.users, "this is not a user")
	mustConnect(t, client{url: url, id: "c1", user: "dev-1", pass: "one"})
	if !strings.Contains(b.log.String(), "users file not reloaded") || !strings.Contains(b.log.String(), ":1: no ':'") {
		t.Errorf("log:\n%s", b.log)
	}
}

func TestUsersFileMissingAndMalformedAtStart(t *testing.T) {
	b := mustStart(t, Options{}, nil) // no users file: starts, refuses everyone
	refused(t, client{url: b.url(listenerTCP), id: "c", user: "dev-1", pass: "x"}, "no users file")
	if !strings.Contains(b.log.String(), "users file not found") {
		t.Errorf("log:\n%s", b.log)
	}

	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.UsersFile = b.users
	writeUsers(t, cfg.UsersFile, "dev-1", "x")
	prependLine(t, cfg.UsersFile, "oops")
	b2, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if err := b2.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "broker: users_file: "+cfg.UsersFile+":1:") {
		t.Errorf("Start with a malformed users file: %v", err)
	}
}

func TestInternalUser(t *testing.T) {
	b := mustStart(t, Options{}, func(c *Config) { c.ACL = nil }, "dev-1", "one")
	url, user, pass := b.Internal()
	if !strings.HasPrefix(url, "tcp://127.0.0.1:") || pass == "" || user != internalUser {
		t.Fatalf("Internal() = %s, %s, %q", url, user, pass)
	}
	if pass.String() != "[redacted]" {
		t.Error("the password is not a shouwang.Secret")
	}
	gw := mustConnect(t, client{url: url, id: "gw", user: user, pass: pass.Reveal()})
	// With no ACL, the internal user still does anything; a device does nothing.
	_, ch := subscribe(t, gw, "#")
	publish(t, gw, "shouwang/sunshine/alarms/1/opened", 1)
	if got := next(t, ch); got != "shouwang/sunshine/alarms/1/opened" {
		t.Errorf("got %s", got)
	}
	dev := mustConnect(t, client{url: url, id: "dev", user: "dev-1", pass: "one"}) // devices may use the internal listener
	if qos, _ := subscribe(t, dev, "x"); qos != 0x80 {
		t.Errorf("device without ACL entries subscribed: %#x", qos)
	}
	refused(t, client{url: b.url(listenerTCP), id: "gw2", user: user, pass: pass.Reveal()}, "internal user on the public listener")
	refused(t, client{url: url, id: "gw3", user: user, pass: "guess"}, "internal user, wrong password")
	other := mustStart(t, Options{}, nil)
	if _, _, p := other.Internal(); p == pass {
		t.Error("two brokers share the internal password")
	}
}

func TestMaxClients(t *testing.T) {
	b := mustStart(t, Options{}, func(c *Config) { c.MaxClients = 1 }, "dev-1", "one")
	url := b.url(listenerTCP)
	mustConnect(t, client{url: url, id: "c1", user: "dev-1", pass: "one"})
	eventually(t, "the first client to count", func() bool { return b.publicClients.Load() == 1 })
	_, err := connect(t, client{url: url, id: "c2", user: "dev-1", pass: "one"})
	if err == nil || !strings.Contains(err.Error(), "server Unavailable") {
		t.Errorf("second client: %v, want server unavailable", err)
	}
	// The gateway's own clients do not count.
	iurl, user, pass := b.Internal()
	mustConnect(t, client{url: iurl, id: "gw", user: user, pass: pass.Reveal()})
}

func TestStartPortTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := DefaultConfig()
	cfg.Listen = taken.Addr().String()
	cfg.UsersFile = t.TempDir() + "/broker-users"
	b, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot listen on "+cfg.Listen+" (broker.listen)") ||
		!strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Start on a taken port: %v", err)
	}
	// Nothing was left open: once the port is free, Start works.
	taken.Close()
	if err := b.Start(context.Background()); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// A socket that never sends CONNECT holds neither Close nor a goroutine.
func TestCloseWithSilentSocket(t *testing.T) {
	b := mustStart(t, Options{}, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(b.url(listenerTCP), "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	eventually(t, "the broker to accept", func() bool {
		b.conns.mu.Lock()
		defer b.conns.mu.Unlock()
		return len(b.conns.conns) == 1
	})
	done := make(chan error)
	go func() { done <- b.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(connectTimeout / 2):
		t.Fatal("Close waits for a client that never sent CONNECT")
	}
}

func TestCloseWithoutStart(t *testing.T) {
	cfg := DefaultConfig()
	cfg.UsersFile = "/nonexistent/broker-users"
	b, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err == nil {
		t.Error("Start after Close succeeded")
	}
	if _, err := New(Config{}, Options{}); err == nil || !strings.Contains(err.Error(), "invalid configuration") {
		t.Errorf("New with an invalid config: %v", err)
	}
}

// TestDevicesWaitUntilOpen: after Start only the gateway's own clients
// are served; a device that connects waits for its CONNACK until
// OpenToDevices, and is served then.
func TestDevicesWaitUntilOpen(t *testing.T) {
	leakcheck.Check(t)
	cfg := DefaultConfig()
	cfg.Listen = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfg.UsersFile = t.TempDir() + "/broker-users"
	b, err := New(cfg, Options{AnonymousLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", cfg.Listen)
	if err != nil {
		t.Fatalf("the public port is not bound after Start: %v", err)
	}
	defer conn.Close()
	// CONNECT, MQTT 3.1.1, clean session, client id "d".
	if _, err := conn.Write([]byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 30, 0, 1, 'd'}); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := conn.Read(make([]byte, 4)); err == nil {
		t.Fatalf("a device was answered (%d bytes) before OpenToDevices", n)
	}
	if err := b.OpenToDevices(); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	ack := make([]byte, 4)
	if _, err := io.ReadFull(conn, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		t.Fatalf("CONNACK after OpenToDevices: % X, %v", ack, err)
	}
}
