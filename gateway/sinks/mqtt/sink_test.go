package mqtt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// The sink against an in-process fake broker, for what a real one cannot
// be made to do on cue: never acknowledge, drop the connection after so
// many messages, never answer CONNECT. sink_mosquitto_test.go runs it
// against Mosquitto.

var t0 = time.Date(2025, 11, 24, 12, 0, 0, 123_456_789, time.UTC)

var testDevices = map[string]shouwang.Device{
	"gas-1202": {ID: "gas-1202", Type: "gas", Location: shouwang.Location{
		Community: "阳光花园", Building: "3号楼", Unit: "2", Floor: 12, Room: "1202", Grid: "GX-03"}},
	"smoke-b1": {ID: "smoke-b1", Type: "smoke", Location: shouwang.Location{
		// A slash and wildcards, which must not reach a topic as such.
		Community: "阳光花园", Building: "C/地下+#车库", Floor: -1, Room: "storage\nroom"}},
}

func testBatch() shouwang.Batch {
	return shouwang.Batch{
		Readings: []shouwang.Reading{
			{Device: "gas-1202", Point: "gas", Value: 12.5, Unit: "%LEL", Time: t0},
			{Device: "smoke-b1", Point: "smoke_density", Value: 0.02, Unit: "dB/m", Quality: shouwang.Stale, Time: t0.Add(time.Millisecond)},
		},
		Events: []shouwang.Event{{Device: "gas-1202", Kind: "gas_alarm", Severity: shouwang.Alarm, Message: "燃气浓度超限", Time: t0,
			Attrs: map[string]string{"threshold": "25%LEL"}}},
	}
}

// fakeBroker speaks just enough MQTT 3.1.1: CONNACK, PUBACK (as behave
// says), PINGRESP.
type fakeBroker struct {
	addr string
	ln   net.Listener
	wg   sync.WaitGroup

	mu        sync.Mutex
	behave    behaviour
	connects  []*packets.ConnectPacket
	published int // PUBLISH packets read, over all connections
	conns     []net.Conn
}

type behaviour struct {
	noConnack bool // read CONNECT, answer nothing
	silent    bool // never PUBACK
	closeAt   int  // close the connection after acknowledging this many (0: never)
}

func newFakeBroker(t *testing.T, b behaviour) *fakeBroker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeBroker{addr: ln.Addr().String(), ln: ln, behave: b}
	f.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns = append(f.conns, c)
			f.mu.Unlock()
			f.wg.Go(func() { f.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f
}

func (f *fakeBroker) serve(c net.Conn) {
	defer c.Close()
	acked := 0
	for {
		p, err := packets.ReadPacket(c)
		if err != nil {
			return
		}
		f.mu.Lock()
		b := f.behave
		var reply packets.ControlPacket
		switch p := p.(type) {
		case *packets.ConnectPacket:
			f.connects = append(f.connects, p)
			if !b.noConnack {
				reply = packets.NewControlPacket(packets.Connack)
			}
		case *packets.PublishPacket:
			f.published++
			if !b.silent && p.Qos > 0 {
				ack := packets.NewControlPacket(packets.Puback).(*packets.PubackPacket)
				ack.MessageID = p.MessageID
				reply = ack
			}
		case *packets.PingreqPacket:
			reply = packets.NewControlPacket(packets.Pingresp)
		case *packets.DisconnectPacket:
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
		if reply != nil {
			if err := reply.Write(c); err != nil {
				return
			}
			if _, ok := reply.(*packets.PubackPacket); ok {
				if acked++; b.closeAt > 0 && acked == b.closeAt {
					return
				}
			}
		}
	}
}

func (f *fakeBroker) set(b behaviour) {
	f.mu.Lock()
	f.behave = b
	f.mu.Unlock()
}

func (f *fakeBroker) counts() (connects, published int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.connects), f.published
}

func fakeConfig(f *fakeBroker) Config {
	c := DefaultConfig()
	c.URL = "tcp://" + f.addr
	c.Username, c.Password = "gateway", "pw-s3cret"
	c.Timeout = 300 * time.Millisecond
	return c
}

// mustSink builds a sink the way the gateway does, closed at cleanup.
func mustSink(tb testing.TB, c Config) *Sink {
	tb.Helper()
	s, err := c.NewSink(shouwang.SinkEnv{Name: "district", Gateway: "sunshine", Devices: testDevices})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s.(*Sink)
}

// asWriteError checks what every failed Write returns: a retryable
// *WriteError that never shows the password.
func asWriteError(t *testing.T, err error, password string) *shouwang.WriteError {
	t.Helper()
	var we *shouwang.WriteError
	if !errors.As(err, &we) {
		t.Fatalf("error %v (%T) is not a *shouwang.WriteError", err, err)
	}
	if we.Permanent || we.RetryAfter != 0 {
		t.Errorf("Permanent %v RetryAfter %v, want a plain retryable error", we.Permanent, we.RetryAfter)
	}
	if password != "" && strings.Contains(fmt.Sprintf("%v %+v", err, err), password) {
		t.Errorf("error shows the password: %v", err)
	}
	return we
}

func TestConnectsOnFirstWriteWithPersistentSession(t *testing.T) {
	leakcheck.Check(t)
	f := newFakeBroker(t, behaviour{})
	s := mustSink(t, fakeConfig(f))
	if err := s.Write(t.Context(), shouwang.Batch{}); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.counts(); n != 0 {
		t.Fatalf("%d connections before anything was written", n)
	}
	for range 2 {
		if err := s.Write(t.Context(), testBatch()); err != nil {
			t.Fatal(err)
		}
	}
	connects, published := f.counts()
	if connects != 1 || published != 6 {
		t.Errorf("%d connections, %d messages; want 1 and 6", connects, published)
	}
	cp := f.connects[0]
	if cp.CleanSession || cp.ClientIdentifier != "shouwang-sunshine-district" || cp.ProtocolVersion != 4 ||
		cp.Username != "gateway" || string(cp.Password) != "pw-s3cret" {
		t.Errorf("CONNECT clean=%v id=%q version=%d user=%q", cp.CleanSession, cp.ClientIdentifier, cp.ProtocolVersion, cp.Username)
	}
}

func TestNoAcknowledgement(t *testing.T) {
	leakcheck.Check(t)
	f := newFakeBroker(t, behaviour{silent: true})
	c := fakeConfig(f)
	s := mustSink(t, c)
	start := time.Now()
	err := s.Write(t.Context(), testBatch())
	elapsed := time.Since(start)
	t.Log(err)
	asWriteError(t, err, "pw-s3cret")
	for _, want := range []string{"mqtt uplink to tcp://" + f.addr, "0 of 3 messages acknowledged", "no acknowledgement from the broker within 300ms"} {
		if !strings.Contains(fmt.Sprint(err), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if elapsed < c.Timeout || elapsed > c.Timeout+2*time.Second {
		t.Errorf("Write returned after %v with a %v timeout", elapsed, c.Timeout)
	}
	// The stalled connection is dropped: the next Write opens a new one.
	f.set(behaviour{})
	if err := s.Write(t.Context(), testBatch()); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.counts(); n != 2 {
		t.Errorf("%d connections, want 2 (the stalled one dropped)", n)
	}
}

func TestConnectionLostMidBatch(t *testing.T) {
	leakcheck.Check(t)
	f := newFakeBroker(t, behaviour{closeAt: 40})
	c := fakeConfig(f)
	c.Timeout = time.Second
	c.MaxInflight = 10
	s := mustSink(t, c)
	var b shouwang.Batch
	for i := range 100 {
		b.Readings = append(b.Readings, shouwang.Reading{Device: "gas-1202", Point: "gas", Value: float64(i), Time: t0})
	}
	start := time.Now()
	err := s.Write(t.Context(), b)
	t.Logf("after %v: %v", time.Since(start), err)
	asWriteError(t, err, "")
	// The fake wrote 40 PUBACKs and closed; the reset can discard some
	// before paho reads them.
	acked := s.Acknowledged()
	if want := fmt.Sprintf("%d of 100 messages acknowledged", acked); acked > 40 || !strings.Contains(fmt.Sprint(err), want) {
		t.Errorf("Acknowledged() = %d (want at most 40); error %q does not say %q", acked, err, want)
	}
	if !strings.Contains(fmt.Sprint(err), "connection lost") {
		t.Errorf("error %q does not say the connection was lost", err)
	}
	// Usually at once; a Publish that paho was taking just as the
	// connection failed holds the Write up to paho's write timeout.
	if elapsed := time.Since(start); elapsed > c.Timeout+time.Second {
		t.Errorf("Write took %v to see the connection go", elapsed)
	}
	f.set(behaviour{})
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.counts(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestWriteContextEnded(t *testing.T) {
	leakcheck.Check(t)
	f := newFakeBroker(t, behaviour{silent: true})
	c := fakeConfig(f)
	c.Timeout = 10 * time.Second
	s := mustSink(t, c)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		// Cancel once the messages are out and waiting for PUBACK.
		for _, n := f.counts(); n < 3; _, n = f.counts() {
			time.Sleep(time.Millisecond) // polling the fake's counter: nothing to be told by
		}
		cancel()
	}()
	err := s.Write(ctx, testBatch())
	asWriteError(t, err, "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not wrap context.Canceled", err)
	}
}

func TestCloseEndsAWriteThatWaits(t *testing.T) {
	leakcheck.Check(t)
	f := newFakeBroker(t, behaviour{noConnack: true})
	c := fakeConfig(f)
	c.Timeout = time.Second
	s := mustSink(t, c)
	errc := make(chan error, 1)
	go func() { errc <- s.Write(context.Background(), testBatch()) }()
	for n, _ := f.counts(); n == 0; n, _ = f.counts() {
		time.Sleep(time.Millisecond) // polling the fake's counter: nothing to be told by
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err := <-errc
	t.Logf("Close took %v; Write: %v", time.Since(start), err)
	if !errors.Is(err, errClosed) {
		t.Errorf("Write during Close: %v, want errClosed", err)
	}
	// Close waited for the CONNECT paho had under way, so nothing is left
	// running (leakcheck), and took no longer than the timeout for it.
	if elapsed := time.Since(start); elapsed > c.Timeout+time.Second {
		t.Errorf("Close took %v", elapsed)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	err = s.Write(t.Context(), testBatch())
	if asWriteError(t, err, ""); !errors.Is(err, errClosed) {
		t.Errorf("Write after Close: %v", err)
	}
}

func TestWriteUnreachable(t *testing.T) {
	leakcheck.Check(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c := DefaultConfig()
	c.URL = "tcp://" + addr
	s := mustSink(t, c)
	err = s.Write(t.Context(), testBatch())
	t.Log(err)
	asWriteError(t, err, "")
	if !strings.Contains(fmt.Sprint(err), "cannot connect to the broker") || !strings.Contains(fmt.Sprint(err), "connection refused") {
		t.Errorf("error %q", err)
	}
	if !errors.Is(err, packets.ErrorNetworkError) {
		t.Errorf("error does not wrap paho's network error: %v", err)
	}
}

// uplink reads the sink's two metrics the way Prometheus scrapes them,
// as the series labelled with the sink's name.
func uplink(t *testing.T, s *Sink) (messages, connected float64) {
	t.Helper()
	return testenv.MetricValue(t, s, "shouwang_uplink_messages_total", "sink=district"),
		testenv.MetricValue(t, s, "shouwang_uplink_connected", "sink=district")
}

func TestMetrics(t *testing.T) {
	leakcheck.Check(t)
	f := newFakeBroker(t, behaviour{})
	s := mustSink(t, fakeConfig(f))
	want := func(messages, connected float64) {
		t.Helper()
		if m, c := uplink(t, s); m != messages || c != connected {
			t.Errorf("metrics: messages %v connected %v, want messages %v connected %v", m, c, messages, connected)
		}
	}
	want(0, 0)
	if err := s.Write(t.Context(), testBatch()); err != nil {
		t.Fatal(err)
	}
	want(3, 1)
	s.Close()
	want(3, 0)
}

func TestQoS0(t *testing.T) {
	leakcheck.Check(t)
	f := newFakeBroker(t, behaviour{silent: true}) // nothing to acknowledge at QoS 0
	c := fakeConfig(f)
	c.QoS = 0
	s := mustSink(t, c)
	if err := s.Write(t.Context(), testBatch()); err != nil {
		t.Fatal(err)
	}
	if got := s.Acknowledged(); got != 3 {
		t.Errorf("Acknowledged() = %d, want 3 (sent, at QoS 0)", got)
	}
}
