package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// run runs a client binary and returns its standard output.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mustLookPath(t, name), args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

func TestMosquitto(t *testing.T) {
	t.Parallel()
	Require(t, "mosquitto_pub", "mosquitto_sub")
	start := time.Now()
	m := StartMosquitto(t)
	t.Logf("mosquitto ready in %v", time.Since(start))

	// conn returns the client flags for a listener and a password.
	conn := func(tls bool, password string) []string {
		if tls {
			return []string{"-h", "127.0.0.1", "-p", port(m.TLSAddr), "-u", m.User, "-P", password, "--cafile", m.CAFile}
		}
		return []string{"-h", "127.0.0.1", "-p", port(m.Addr), "-u", m.User, "-P", password}
	}
	plain, tlsArgs := conn(false, m.Password), conn(true, m.Password)
	withCert := slices.Concat(tlsArgs, []string{"--cert", m.CertFile, "--key", m.KeyFile})
	pub := func(conn []string, topic, msg string) {
		t.Helper()
		run(t, "mosquitto_pub", slices.Concat(conn, []string{"-q", "1", "-r", "-t", topic, "-m", msg})...)
	}
	sub := func(conn []string, topic string) string {
		t.Helper()
		return strings.TrimSpace(run(t, "mosquitto_sub", slices.Concat(conn, []string{"-q", "1", "-C", "1", "-W", "5", "-t", topic})...))
	}

	// Retained messages make publish-then-subscribe free of races.
	pub(plain, "site/plain", "from plain")
	pub(tlsArgs, "site/tls", "from tls")
	pub(withCert, "site/cert", "from client cert")
	for _, c := range []struct {
		name  string
		conn  []string
		topic string
		want  string
	}{
		{"tls reads plain", tlsArgs, "site/plain", "from plain"},
		{"plain reads tls", plain, "site/tls", "from tls"},
		{"cert reads cert", withCert, "site/cert", "from client cert"},
	} {
		if got := sub(c.conn, c.topic); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}

	// A wrong password is refused on both listeners.
	for _, tls := range []bool{false, true} {
		cmd := exec.Command(mustLookPath(t, "mosquitto_pub"), slices.Concat(conn(tls, "wrong"), []string{"-t", "x", "-m", "y"})...)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("publish with a wrong password succeeded: %s", out)
		}
	}

	start = time.Now()
	m.Restart(t)
	t.Logf("mosquitto restarted (SIGTERM, start, ready) in %v", time.Since(start))
	if got := sub(plain, "site/plain"); got != "from plain" {
		t.Errorf("after Restart: got %q, want the retained message", got)
	}

	// After a SIGKILL only what autosave wrote survives: wait until the
	// database holds the new message (autosave_interval 1), then kill.
	pub(plain, "site/killed", "saved by autosave")
	db := filepath.Join(m.dir, "data", "mosquitto.db")
	err := checkFor(5*time.Second, 50*time.Millisecond, func() error {
		b, err := os.ReadFile(db)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "saved by autosave") {
			return errors.New("not saved yet")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("autosave: %v", err)
	}
	m.Kill(t)
	if _, err := net.Dial("tcp", m.Addr); err == nil {
		t.Errorf("broker still accepts connections after Kill")
	}
	m.Restart(t)
	if got := sub(tlsArgs, "site/killed"); got != "saved by autosave" {
		t.Errorf("after Kill and Restart: got %q, want the autosaved message", got)
	}
}

func TestVictoriaMetrics(t *testing.T) {
	t.Parallel()
	start := time.Now()
	v := StartVictoriaMetrics(t)
	t.Logf("victoria-metrics ready in %v", time.Since(start))

	now := time.Now().UnixMilli()
	body := fmt.Sprintf("gas,device=d1,site=a ppm=12.5 %d\ngas,device=d2,site=a ppm=3 %d\ngas,device=d1,site=a ppm=99 1000\nsmoke,device=s1 level=1 %d\n", now, now, now)
	resp, err := http.Post(v.URL+"/api/v2/write?org=o&bucket=b&precision=ms", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("write: %s", resp.Status)
	}

	start = time.Now()
	got := v.WaitSamples(t, `{__name__=~"gas_.*"}`, 3, 10*time.Second)
	t.Logf("written samples readable after %v", time.Since(start))
	want := []string{
		fmt.Sprintf(`gas_ppm{device="d1",site="a"} 99 @1000`),
		fmt.Sprintf(`gas_ppm{device="d1",site="a"} 12.5 @%d`, now),
		fmt.Sprintf(`gas_ppm{device="d2",site="a"} 3 @%d`, now),
	}
	check := func(when string, got []Sample) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: got %v, want %v", when, got, want)
		}
		for i := range got {
			if got[i].String() != want[i] {
				t.Errorf("%s: sample %d = %v, want %s", when, i, got[i], want[i])
			}
		}
	}
	check("export", got)
	if s := v.Export(t, `{__name__="smoke_level"}`); len(s) != 1 || s[0].Value != 1 {
		t.Errorf("smoke_level: got %v", s)
	}

	v.Stop(t)
	_, err = http.Get(v.URL + "/health")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("after Stop: GET /health: %v, want connection refused", err)
	}

	start = time.Now()
	v.Restart(t)
	t.Logf("victoria-metrics restarted in %v", time.Since(start))
	check("export after Restart", v.Export(t, `{__name__=~"gas_.*"}`))
}

// mbap builds a Modbus TCP "read holding registers" request.
func mbap(tid uint16, unit byte, addr, count uint16) []byte {
	return []byte{byte(tid >> 8), byte(tid), 0, 0, 0, 6, unit, 3, byte(addr >> 8), byte(addr), byte(count >> 8), byte(count)}
}

// readReply reads one Modbus TCP reply, or fails with a timeout error.
func readReply(conn net.Conn, wait time.Duration) ([]byte, error) {
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	head := make([]byte, 7)
	if _, err := io.ReadFull(conn, head); err != nil {
		return nil, err
	}
	n := int(head[4])<<8 | int(head[5])
	rest := make([]byte, n-1)
	if _, err := io.ReadFull(conn, rest); err != nil {
		return nil, err
	}
	return append(head, rest...), nil
}

func TestModbusTCP(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := StartModbusTCP(t,
		ModbusSlave{ID: 1, Holding: []uint16{100, 200, 0xBEEF}, Coils: []bool{true}},
		ModbusSlave{ID: 2, Holding: []uint16{7}},
	)
	t.Logf("pymodbus TCP ready in %v", time.Since(start))
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	for _, c := range []struct {
		name  string
		req   []byte
		reply string
	}{
		{"unit 1", mbap(1, 1, 0, 3), "00 01 00 00 00 09 01 03 06 00 64 00 c8 be ef"},
		{"unit 1 offset", mbap(2, 1, 2, 1), "00 02 00 00 00 05 01 03 02 be ef"},
		{"unit 2", mbap(3, 2, 0, 1), "00 03 00 00 00 05 02 03 02 00 07"},
		{"past the end", mbap(4, 2, 0, 2), "00 04 00 00 00 03 02 83 02"},
	} {
		if _, err := conn.Write(c.req); err != nil {
			t.Fatal(err)
		}
		got, err := readReply(conn, 2*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if fmt.Sprintf("% x", got) != c.reply {
			t.Errorf("%s: got % x, want %s", c.name, got, c.reply)
		}
	}
	if got := s.Requests(t); got[1] != 2 || got[2] != 2 || len(got) != 2 {
		t.Errorf("Requests = %v, want map[1:2 2:2]", got)
	}

	// Unit 3 does not exist: no reply.
	conn.Write(mbap(5, 3, 0, 1))
	if got, err := readReply(conn, 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("unknown unit: got % x, %v; want no reply", got, err)
	}

	s.KillSlave(t, 2)
	conn.Write(mbap(6, 2, 0, 1))
	if got, err := readReply(conn, 500*time.Millisecond); !isTimeout(err) {
		t.Fatalf("killed unit: got % x, %v; want no reply", got, err)
	}
	conn.Write(mbap(7, 1, 0, 1))
	if got, err := readReply(conn, 2*time.Second); err != nil || got[0] != 0 || got[1] != 7 {
		t.Fatalf("unit 1 beside a killed unit: got % x, %v", got, err)
	}

	// The first request after the revival is answered: the script keeps
	// killed units in the list each connection checks frames against.
	s.ReviveSlave(t, 2)
	conn.Write(mbap(8, 2, 0, 1))
	got, err := readReply(conn, 2*time.Second)
	if err != nil || fmt.Sprintf("% x", got) != "00 08 00 00 00 05 02 03 02 00 07" {
		t.Fatalf("revived unit: got % x, %v", got, err)
	}
	if got := s.Requests(t); got[1] != 3 || got[2] != 3 {
		t.Errorf("Requests = %v, want map[1:3 2:3] (no count for the killed or unknown unit)", got)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// openTTY opens a pty end for reading and writing without making it the
// controlling terminal.
func openTTY(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// readN reads exactly n bytes or fails with the deadline's error.
func readN(f *os.File, n int, wait time.Duration) ([]byte, error) {
	if err := f.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return nil, err
	}
	b := make([]byte, n)
	k, err := io.ReadFull(f, b)
	return b[:k], err
}

func TestModbusRTU(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := StartModbusRTU(t, 9600,
		ModbusSlave{ID: 1, Holding: []uint16{0x1234, 0x5678}},
		ModbusSlave{ID: 5, Input: []uint16{42}},
	)
	t.Logf("socat + pymodbus RTU ready in %v", time.Since(start))
	if s.Addr != "" || s.Port == "" {
		t.Fatalf("Addr %q, Port %q", s.Addr, s.Port)
	}
	port := openTTY(t, s.Port)

	ask := func(req []byte, n int, wait time.Duration) ([]byte, error) {
		t.Helper()
		if _, err := port.Write(req); err != nil {
			t.Fatal(err)
		}
		return readN(port, n, wait)
	}
	got, err := ask(RTUFrame(1, 3, 0, 0, 0, 2), 9, 2*time.Second)
	if want := RTUFrame(1, 3, 4, 0x12, 0x34, 0x56, 0x78); err != nil || string(got) != string(want) {
		t.Fatalf("read holding: got % x, %v; want % x", got, err, want)
	}
	got, err = ask(RTUFrame(5, 4, 0, 0, 0, 1), 7, 2*time.Second)
	if want := RTUFrame(5, 4, 2, 0, 42); err != nil || string(got) != string(want) {
		t.Fatalf("read input: got % x, %v; want % x", got, err, want)
	}

	s.KillSlave(t, 1)
	if got, err := ask(RTUFrame(1, 3, 0, 0, 0, 2), 1, 500*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("killed unit: got % x, %v; want no reply", got, err)
	}
	s.ReviveSlave(t, 1)
	got, err = ask(RTUFrame(1, 3, 0, 1, 0, 1), 7, 2*time.Second)
	if want := RTUFrame(1, 3, 2, 0x56, 0x78); err != nil || string(got) != string(want) {
		t.Fatalf("revived unit: got % x, %v; want % x", got, err, want)
	}
	if got := s.Requests(t); got[1] != 2 || got[5] != 1 {
		t.Errorf("Requests = %v, want map[1:2 5:1]", got)
	}

	s.Pty.Unplug(t)
	if _, err := os.Lstat(s.Port); err == nil {
		t.Errorf("%s still exists after Unplug", s.Port)
	}
}

// TestModbusRTUOverTCPRestart: a restarted RTU-over-TCP peer is one again,
// on the same address, with its initial data.
func TestModbusRTUOverTCPRestart(t *testing.T) {
	t.Parallel()
	s := StartModbusRTUOverTCP(t, ModbusSlave{ID: 3, Holding: []uint16{0xCAFE}})
	ask := func() {
		t.Helper()
		conn, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write(RTUFrame(3, 3, 0, 0, 0, 1)); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		got := make([]byte, 7)
		_, err = io.ReadFull(conn, got)
		if want := RTUFrame(3, 3, 2, 0xCA, 0xFE); err != nil || string(got) != string(want) {
			t.Fatalf("read holding over RTU framing: got % x, %v; want % x", got, err, want)
		}
	}
	ask()
	addr := s.Addr
	if s = s.Restart(t); s.Addr != addr {
		t.Fatalf("restarted on %s, want %s", s.Addr, addr)
	}
	ask()
}

func TestPtyPair(t *testing.T) {
	t.Parallel()
	start := time.Now()
	p := StartPtyPair(t)
	t.Logf("socat pty pair ready in %v", time.Since(start))
	a, b := openTTY(t, p.A), openTTY(t, p.B)

	// Bytes a tty would mangle if it were not raw: CR, NL, ^C, ^D, ^S, DEL.
	msg := []byte("hello\r\n\x03\x04\x13\x7f\x00\xff")
	for _, dir := range []struct {
		name     string
		from, to *os.File
	}{{"A to B", a, b}, {"B to A", b, a}} {
		if _, err := dir.from.Write(msg); err != nil {
			t.Fatal(err)
		}
		got, err := readN(dir.to, len(msg), 2*time.Second)
		if err != nil || string(got) != string(msg) {
			t.Errorf("%s: got %q, %v; want %q", dir.name, got, err, msg)
		}
	}

	p.Unplug(t)
	for _, l := range []string{p.A, p.B} {
		if _, err := os.Lstat(l); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after Unplug: %v, want it gone", l, err)
		}
	}
	// An open end now fails: what a driver sees when the adapter is pulled.
	_, err := readN(a, 1, time.Second)
	t.Logf("read from an unplugged pty: %v", err)
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read from an unplugged pty: %v, want an error at once", err)
	}
}

// fakeTB records how Require ended the test.
type fakeTB struct {
	testing.TB
	ended string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.ended = "fatal: " + fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.ended = "skip: " + fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestRequire(t *testing.T) {
	for _, c := range []struct {
		ci, want string
	}{{"", "skip: "}, {"false", "skip: "}, {"true", "fatal: "}} {
		t.Setenv("CI", c.ci)
		f := &fakeTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			Require(f, "sh", "no-such-server-binary")
		}()
		<-done
		if !strings.HasPrefix(f.ended, c.want) || !strings.Contains(f.ended, "no-such-server-binary") || strings.Contains(f.ended, "sh,") {
			t.Errorf("CI=%q: Require ended with %q, want %q...", c.ci, f.ended, c.want)
		}
	}
}

func TestLookPathSbin(t *testing.T) {
	if _, err := os.Stat("/usr/sbin/mosquitto"); err != nil {
		t.Skip("no /usr/sbin/mosquitto")
	}
	t.Setenv("PATH", "/usr/bin:/bin") // a non-root PATH
	if p, err := lookPath("mosquitto"); err != nil || p != "/usr/sbin/mosquitto" {
		t.Errorf("lookPath(mosquitto) = %q, %v; want /usr/sbin/mosquitto", p, err)
	}
}

func TestFreePort(t *testing.T) {
	t.Parallel()
	lo := ephemeralLow()
	seen := map[int]bool{}
	// Another test binary running beside this one may bind a port between
	// FreePort's probe and the Listen below (the race the starters retry
	// on; seen once in CI), so one unbindable port in 50 is tolerated. A
	// FreePort that handed out taken ports would fail nearly every time.
	var unbindable []string
	for range 50 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("FreePort gave %d twice", p)
		}
		seen[p] = true
		if lo > minPort+1000 && (p < minPort || p >= lo) {
			t.Errorf("FreePort gave %d, want it in [%d, %d), below the ephemeral range", p, minPort, lo)
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			unbindable = append(unbindable, err.Error())
			continue
		}
		l.Close()
	}
	if len(unbindable) > 1 {
		t.Fatalf("%d of 50 ports FreePort gave cannot be bound: %v", len(unbindable), unbindable)
	}
}
