package testenv

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Mosquitto is a running Mosquitto 2 broker with persistence on.
type Mosquitto struct {
	Addr     string // "127.0.0.1:port", plain TCP, password required
	TLSAddr  string // "127.0.0.1:port", TLS, same password file
	CAFile   string // CA that signed the server certificate (SAN DNS:localhost, IP:127.0.0.1) and the client certificate
	CertFile string // client certificate; the broker does not require one
	KeyFile  string // client key (PKCS#8 PEM)
	User     string
	Password string

	dir     string
	conf    string
	logPath string
	proc    *process
}

// StartMosquitto starts a broker that requires User/Password on both
// listeners, keeps its persistence database in the temp dir and saves it
// every second (autosave_interval 1) and at a clean stop. It runs with
// "user root" so that, started as root, it does not drop to the mosquitto
// user and lose access to its files. It is ready when an MQTT CONNECT with
// the password is accepted on both listeners, which also proves the port is
// this broker's and not another's.
//
// It queues without limit for an offline persistent session
// (max_queued_messages 0; the default 1000 drops the rest of a long
// outage) and keeps up to 1000 QoS 1/2 messages in flight per client
// (max_inflight_messages; the default 20 caps a client that acknowledges
// only after an fsync at 20 messages per fsync).
func StartMosquitto(tb testing.TB) *Mosquitto {
	tb.Helper()
	Require(tb, "mosquitto", "mosquitto_passwd")
	dir := tempDir(tb)
	m := &Mosquitto{
		User:     "gateway",
		Password: rand.Text(),
		dir:      dir,
		conf:     filepath.Join(dir, "mosquitto.conf"),
		logPath:  filepath.Join(dir, "mosquitto.log"),
	}
	files := WriteTLSFiles(tb, dir)
	m.CAFile, m.CertFile, m.KeyFile = files.CA, files.ClientCert, files.ClientKey

	passwd := filepath.Join(dir, "passwd")
	out, err := exec.Command(mustLookPath(tb, "mosquitto_passwd"), "-c", "-b", passwd, m.User, m.Password).CombinedOutput()
	if err != nil {
		tb.Fatalf("testenv: mosquitto_passwd: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		tb.Fatalf("testenv: %v", err)
	}

	logOnFailure(tb, "mosquitto", m.logPath)
	stopOnCleanup(tb, &m.proc)
	for attempt := 1; ; attempt++ {
		m.Addr = fmt.Sprintf("127.0.0.1:%d", FreePort(tb))
		m.TLSAddr = fmt.Sprintf("127.0.0.1:%d", FreePort(tb))
		conf := fmt.Sprintf(`# written by internal/testenv
per_listener_settings false
allow_anonymous false
password_file %s
user root
persistence true
persistence_location %s/
autosave_interval 1
max_queued_messages 0
max_inflight_messages 1000
log_dest stderr
log_timestamp_format %%H:%%M:%%S
listener %s 127.0.0.1
listener %s 127.0.0.1
cafile %s
certfile %s
keyfile %s
`, passwd, data, port(m.Addr), port(m.TLSAddr), files.CA, files.ServerCert, files.ServerKey)
		if err := os.WriteFile(m.conf, []byte(conf), 0o644); err != nil {
			tb.Fatalf("testenv: %v", err)
		}
		err := m.start(tb)
		if err == nil {
			return m
		}
		if attempt < 3 && m.proc != nil && m.proc.addrInUse() {
			_ = m.proc.stop(syscall.SIGKILL)
			appendLog(m.logPath, "port taken, retrying on new ports")
			continue
		}
		tb.Fatalf("testenv: mosquitto: %v (log: %s)", err, m.logPath)
	}
}

// start runs the broker with the current config and waits until it is ready.
func (m *Mosquitto) start(tb testing.TB) error {
	tb.Helper()
	cmd := exec.Command(mustLookPath(tb, "mosquitto"), "-c", m.conf)
	cmd.Dir = m.dir
	p, err := startProcess("mosquitto", cmd, m.logPath)
	if err != nil {
		return err
	}
	m.proc = p
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(m.CAFile)
	if err != nil {
		return err
	}
	pool.AppendCertsFromPEM(ca)
	return checkFor(startTimeout, 10*time.Millisecond, func() error {
		if err := p.exitedErr(); err != nil {
			return err
		}
		if err := m.probe(m.Addr, nil); err != nil {
			return err
		}
		return m.probe(m.TLSAddr, &tls.Config{RootCAs: pool})
	})
}

// probe connects to addr (with TLS if cfg is set), logs in with an MQTT 3.1.1
// CONNECT, expects CONNACK "accepted" and disconnects.
func (m *Mosquitto) probe(addr string, cfg *tls.Config) error {
	d := &net.Dialer{Timeout: time.Second}
	var conn net.Conn
	var err error
	if cfg != nil {
		conn, err = tls.DialWithDialer(d, "tcp", addr, cfg)
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))

	str := func(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }
	var body []byte
	body = append(body, str("MQTT")...)
	body = append(body, 4, 0xC2, 0, 10) // level 3.1.1; user, password, clean session; keepalive 10 s
	body = append(body, str("")...)     // empty client id: the broker assigns one
	body = append(body, str(m.User)...)
	body = append(body, str(m.Password)...)
	pkt := []byte{0x10}
	for n := len(body); ; { // remaining length, MQTT varint
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		pkt = append(pkt, b)
		if n == 0 {
			break
		}
	}
	if _, err := conn.Write(append(pkt, body...)); err != nil {
		return err
	}
	var ack [4]byte
	if _, err := io.ReadFull(conn, ack[:]); err != nil {
		return fmt.Errorf("read CONNACK from %s: %w", addr, err)
	}
	if ack[0] != 0x20 || ack[1] != 2 {
		return fmt.Errorf("%s: not an MQTT CONNACK: % x", addr, ack)
	}
	if ack[3] != 0 {
		return fmt.Errorf("%s: CONNACK return code %d (another broker on this port?)", addr, ack[3])
	}
	_, _ = conn.Write([]byte{0xE0, 0}) // DISCONNECT
	return nil
}

// Stop sends SIGTERM and waits: the broker saves its persistence database
// and exits. Stopping a stopped broker does nothing.
func (m *Mosquitto) Stop(tb testing.TB) {
	tb.Helper()
	if err := m.proc.stop(syscall.SIGTERM); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
}

// Kill sends SIGKILL and waits: whatever was not autosaved is lost.
func (m *Mosquitto) Kill(tb testing.TB) {
	tb.Helper()
	if err := m.proc.stop(syscall.SIGKILL); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
}

// Restart starts the broker again with the same ports, password and
// persistence directory, and waits until it is ready. A running broker is
// stopped first with SIGTERM.
func (m *Mosquitto) Restart(tb testing.TB) {
	tb.Helper()
	m.Stop(tb)
	appendLog(m.logPath, "restart")
	if err := m.start(tb); err != nil {
		tb.Fatalf("testenv: restart mosquitto: %v", err)
	}
}

// port returns the port of a "host:port" address.
func port(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		panic(errors.New("testenv: bad address " + addr))
	}
	return p
}
