package main

// What the MQTT ingest benchmark and the MQTT kill -9 test share: a
// gateway config with an mqtt driver, and a stream of numbered QoS 1
// readings published as wireless gas detectors publish them.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/shouwang-iot/shouwang/gateway"
)

// mqttGateway is a gateway with one mqtt driver ("wireless") reading
// `devices` gas detectors (profile gas-detector-wireless-json, ids and
// addresses d0000, d0001, ...) from bench/{device}/state, with the
// profile's threshold rules on gas, and an InfluxDB sink into vmURL.
type mqttGateway struct {
	dataDir  string
	broker   string // tcp://host:port, or ssl://host:port with ca
	ca       string
	user     string
	password string // written to a file next to the config, read with ${file:...}
	clientID string
	vmURL    string
	devices  int
}

// write writes the config (and the password file) into dir, checks it
// with the real loader, and returns the config file's path.
func (g mqttGateway) write(tb testing.TB, dir string) string {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(dir, "mqtt-password"), []byte(g.password), 0o600); err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `gateway:
  name: mqtt-bench
  data_dir: %s
  profile_rules: true   # the profile's gas-wireless-levels threshold rule on every reading
  http: {listen: "127.0.0.1:0"}
  log: {level: info, format: json}
  shutdown_timeout: 30s
sites:
  - id: s
    buildings: [{id: "1", units: 4, floors: 30}]
devices:
`, g.dataDir)
	for i := range g.devices {
		id := benchDevice(i)
		fmt.Fprintf(&b, "  - {id: %s, profile: gas-detector-wireless-json, driver: wireless, address: %s, location: {building: \"1\", unit: %d, floor: %d, room: %q}}\n",
			id, id, i%4+1, i/4%30+1, strconv.Itoa(i))
	}
	fmt.Fprintf(&b, `drivers:
  - name: wireless
    type: mqtt
    broker: %s
    username: %s
    password: ${file:mqtt-password}
    client_id: %s
`, g.broker, g.user, g.clientID)
	if g.ca != "" {
		fmt.Fprintf(&b, "    ca: %s\n", g.ca)
	}
	b.WriteString(`    subscriptions: [{topic: "bench/{device}/state", qos: 1}]
` + vmSink(g.vmURL))
	cfg := writeConfig(tb, dir, b.String())
	tb.Setenv("SHOUWANG_E2E_TOKEN", e2eToken) // for the loader here; startGateway sets it for the child
	if _, err := gateway.Load(cfg); err != nil {
		var list interface{ Unwrap() []error }
		if errors.As(err, &list) {
			err = errors.Join(list.Unwrap()...)
		}
		tb.Fatalf("the generated config does not load:\n%v", err)
	}
	return cfg
}

func benchDevice(i int) string { return fmt.Sprintf("d%04d", i) }

// readingStream is `total` QoS 1 messages {"ts":...,"lel":...,"bat":97},
// message i from device i mod devices on bench/<device>/state with ts
// base+i (ms): every (device, ts) is unique, so the store can be counted
// exactly. It is published by `clients` paho clients, message i by client
// i mod clients, each keeping up to `window` publishes unacknowledged.
type readingStream struct {
	broker         string // tcp://host:port
	user, password string
	clientPrefix   string
	devices        int
	total          int
	clients        int
	window         int
	base           int64 // ms
	// If resume is set, no message from hold on is published before it
	// is closed.
	hold   int
	resume chan struct{}

	acked atomic.Int64 // messages the broker has acknowledged
}

// lel is message i's gas reading: 0 to 19.9 %LEL, below the profile's
// first level, so the rules evaluate every reading and raise nothing.
func lel(i int) float64 { return float64(i%200) / 10 }

// message is message i's topic and payload.
func (s *readingStream) message(i int) (string, []byte) {
	p := make([]byte, 0, 48)
	p = append(p, `{"ts":`...)
	p = strconv.AppendInt(p, s.base+int64(i), 10)
	p = append(p, `,"lel":`...)
	p = strconv.AppendFloat(p, lel(i), 'f', -1, 64)
	p = append(p, `,"bat":97}`...)
	return "bench/" + benchDevice(i%s.devices) + "/state", p
}

// connect connects the publishing clients (clean sessions).
func (s *readingStream) connect(tb testing.TB) []paho.Client {
	tb.Helper()
	cs := make([]paho.Client, s.clients)
	for k := range cs {
		opts := paho.NewClientOptions().AddBroker(s.broker).SetClientID(fmt.Sprintf("%s-%d", s.clientPrefix, k)).
			SetUsername(s.user).SetPassword(s.password).SetCleanSession(true).SetAutoReconnect(false).
			SetWriteTimeout(30 * time.Second)
		c := paho.NewClient(opts)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			tb.Fatalf("publisher %d: connect to %s: %v", k, s.broker, tok.Error())
		}
		tb.Cleanup(func() { c.Disconnect(100) })
		cs[k] = c
	}
	return cs
}

// publish publishes the stream on cs and returns once the broker has
// acknowledged every message, or with the first error.
func (s *readingStream) publish(ctx context.Context, cs []paho.Client) error {
	var wg sync.WaitGroup
	errs := make([]error, len(cs))
	for k, c := range cs {
		wg.Go(func() { errs[k] = s.publishFrom(ctx, c, k, len(cs)) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *readingStream) publishFrom(ctx context.Context, c paho.Client, first, step int) error {
	pending := make([]paho.Token, 0, s.window)
	// settle waits for the oldest n publishes; they complete in order.
	settle := func(n int) error {
		for _, tok := range pending[:n] {
			select {
			case <-tok.Done():
			case <-ctx.Done():
				return ctx.Err()
			}
			if err := tok.Error(); err != nil {
				return err
			}
		}
		s.acked.Add(int64(n))
		pending = append(pending[:0], pending[n:]...)
		return nil
	}
	for i := first; i < s.total; i += step {
		if s.resume != nil && i >= s.hold {
			select {
			case <-s.resume:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		topic, payload := s.message(i)
		pending = append(pending, c.Publish(topic, 1, false, payload))
		if len(pending) == s.window {
			if err := settle(s.window / 2); err != nil {
				return fmt.Errorf("message %d: %w", i, err)
			}
		}
	}
	return settle(len(pending))
}

// waitMetric polls the gateway's /metrics until name reaches want, and
// fails after timeout with what it saw.
func (p *gatewayProc) waitMetric(tb testing.TB, name string, want float64, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := p.metric(tb, name)
		if got >= want {
			return
		}
		select {
		case <-p.done:
			tb.Fatalf("gateway exited waiting for %s >= %v: %v", name, want, p.err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s is %v after %s, want %v", name, got, timeout, want)
		}
	}
}

// metricSeries reads every series of one metric from the gateway's
// /metrics, by its labels ("" for none), e.g. {`{follower="history"}`: 3.5}.
func (p *gatewayProc) metricSeries(tb testing.TB, name string) map[string]float64 {
	tb.Helper()
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		i := strings.LastIndexByte(rest, ' ')
		v, _ := strconv.ParseFloat(rest[i+1:], 64)
		out[strings.TrimSpace(rest[:i])] = v
	}
	return out
}

// rusageSelf is this process's user+system CPU time.
func rusageSelf(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// listenerPid finds the process listening on addr ("127.0.0.1:port") from
// /proc/net/tcp and the processes' fds; 0 if it cannot tell. It lets the
// benchmark say what the broker and the store cost, which testenv does
// not expose.
func listenerPid(addr string) int {
	_, portStr, _ := strings.Cut(addr, ":")
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return 0
	}
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0
	}
	inode := ""
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 9 && f[3] == "0A" && strings.HasSuffix(f[1], fmt.Sprintf(":%04X", port)) {
			inode = f[9]
			break
		}
	}
	if inode == "" {
		return 0
	}
	procs, _ := os.ReadDir("/proc")
	want := "socket:[" + inode + "]"
	for _, pd := range procs {
		pid, err := strconv.Atoi(pd.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", pd.Name(), "fd"))
		for _, fd := range fds {
			if l, _ := os.Readlink(filepath.Join("/proc", pd.Name(), "fd", fd.Name())); l == want {
				return pid
			}
		}
	}
	return 0
}
