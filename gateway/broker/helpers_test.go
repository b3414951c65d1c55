package broker

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"golang.org/x/crypto/bcrypt"
)

const wait = 10 * time.Second

// testBroker is a broker on 127.0.0.1 with a users file in a temp dir.
type testBroker struct {
	*Broker
	users string
	log   *syncBuffer
}

// mustStart starts a broker listening on a free port of 127.0.0.1, with
// users (name, password pairs) in its users file; it is closed, and its
// goroutines checked, at cleanup. configure may change the config.
func mustStart(tb testing.TB, opts Options, configure func(*Config), users ...string) *testBroker {
	tb.Helper()
	leakcheck.Check(tb)
	dir := tb.TempDir()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.UsersFile = filepath.Join(dir, "broker-users")
	cfg.ACL = []ACLEntry{{Users: []string{"*"}, Publish: []string{"#"}, Subscribe: []string{"#"}}}
	if configure != nil {
		configure(&cfg)
	}
	if len(users) > 0 {
		writeUsers(tb, cfg.UsersFile, users...)
	}
	logs := &syncBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	b, err := New(cfg, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	if err := b.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	if err := b.OpenToDevices(); err != nil {
		tb.Fatal(err)
	}
	return &testBroker{Broker: b, users: cfg.UsersFile, log: logs}
}

// writeUsers writes a users file with cheap hashes (bcrypt cost 4): the
// broker checks any cost, and cost 10 takes half a second under -race.
func writeUsers(tb testing.TB, path string, pairs ...string) {
	tb.Helper()
	var buf bytes.Buffer
	for i := 0; i+1 < len(pairs); i += 2 {
		h, err := bcrypt.GenerateFromPassword([]byte(pairs[i+1]), bcrypt.MinCost)
		if err != nil {
			tb.Fatal(err)
		}
		buf.WriteString(pairs[i] + ":" + string(h) + "\n")
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// url is the tcp:// (or ssl://) URL of one of the broker's listeners.
func (b *testBroker) url(id string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.lns {
		if l.id == id {
			if id == listenerTLS {
				return "ssl://" + l.Addr().String()
			}
			return "tcp://" + l.Addr().String()
		}
	}
	panic("no listener " + id)
}

// client says how a test client connects.
type client struct {
	url, id, user, pass string
	tls                 *tls.Config
	will                string // a will topic, if any
}

// connect connects c with paho (MQTT 3.1.1), without retries; the client
// is disconnected at cleanup.
func connect(tb testing.TB, c client) (paho.Client, error) {
	tb.Helper()
	opts := paho.NewClientOptions().AddBroker(c.url).SetClientID(c.id).SetUsername(c.user).SetPassword(c.pass).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(wait).SetCleanSession(true).
		SetProtocolVersion(4)
	if c.tls != nil {
		opts.SetTLSConfig(c.tls)
	}
	if c.will != "" {
		opts.SetWill(c.will, "gone", 1, false)
	}
	pc := paho.NewClient(opts)
	tok := pc.Connect()
	if !tok.WaitTimeout(wait) {
		return nil, errors.New("connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	tb.Cleanup(func() { pc.Disconnect(100) })
	return pc, nil
}

func mustConnect(tb testing.TB, c client) paho.Client {
	tb.Helper()
	pc, err := connect(tb, c)
	if err != nil {
		tb.Fatalf("connect %s as %q: %v", c.url, c.user, err)
	}
	return pc
}

func refused(tb testing.TB, c client, why string) {
	tb.Helper()
	if _, err := connect(tb, c); err == nil {
		tb.Fatalf("%s: connect as %q succeeded", why, c.user)
	}
}

// subscribe subscribes pc to filter and returns the granted QoS (0x80 for
// a refusal) and a channel of the topics received.
func subscribe(tb testing.TB, pc paho.Client, filter string) (byte, <-chan string) {
	tb.Helper()
	ch := make(chan string, 100)
	tok := pc.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) { ch <- m.Topic() })
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		tb.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	key := filter
	if strings.HasPrefix(key, "$share/") { // paho keys the result by the filter after the group
		key = strings.Join(strings.Split(key, "/")[2:], "/")
	}
	return tok.(*paho.SubscribeToken).Result()[key], ch
}

// publish publishes with QoS qos and waits for the broker's answer.
func publish(tb testing.TB, pc paho.Client, topic string, qos byte) {
	tb.Helper()
	tok := pc.Publish(topic, qos, false, "x")
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		tb.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func next(tb testing.TB, ch <-chan string) string {
	tb.Helper()
	select {
	case topic := <-ch:
		return topic
	case <-time.After(wait):
		tb.Fatal("no message")
		return ""
	}
}

// eventually polls cond until it holds or the wait runs out.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling a state nothing signals
	}
}

// syncBuffer is a log sink safe for the broker's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func (s *syncBuffer) count(substr string) int { return strings.Count(s.String(), substr) }
