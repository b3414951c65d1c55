// Package testenv starts real servers for tests: a Mosquitto broker, a
// VictoriaMetrics store, socat pty pairs and pymodbus Modbus peers.
//
// Every server runs as a child process bound to 127.0.0.1 on a port found
// at run time, keeps its files in tb.TempDir(), and is stopped by its own
// process id (and waited for) in tb.Cleanup. Readiness is polled with a
// deadline. The server's log goes to a file in the temp dir and is printed
// with tb.Log when the test fails.
//
// A missing server binary skips the test, or fails it when CI=true (see
// Require); scripts/install-test-deps.sh installs them all.
//
// The values returned by the starters are not safe for concurrent use:
// call their methods from the test goroutine.
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// startTimeout bounds how long a server may take to become ready.
	startTimeout = 15 * time.Second
	// stopTimeout bounds how long a server may take to exit after a signal
	// before it is killed.
	stopTimeout = 15 * time.Second
	// logTail is how much of a server's log is printed on failure.
	logTail = 32 << 10
)

// Require reports a missing server binary: under CI=true it fails the test
// (tb.Fatalf), otherwise it skips it (tb.Skipf). A name without a slash is
// looked up in PATH and then in /usr/sbin and /sbin (mosquitto lives in
// /usr/sbin, which a non-root PATH often lacks). Every starter calls it.
func Require(tb testing.TB, binaries ...string) {
	tb.Helper()
	var missing []string
	for _, b := range binaries {
		if _, err := lookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		notInstalled(tb, strings.Join(missing, ", "))
	}
}

// notInstalled skips the test, or fails it under CI=true.
func notInstalled(tb testing.TB, what string) {
	tb.Helper()
	const format = "testenv: %s not installed (run scripts/install-test-deps.sh)"
	if os.Getenv("CI") == "true" {
		tb.Fatalf(format, what)
	}
	tb.Skipf(format, what)
}

// lookPath finds a binary in PATH, then in the sbin directories.
func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil || strings.Contains(name, "/") {
		return p, err
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if p, err2 := exec.LookPath(filepath.Join(dir, name)); err2 == nil {
			return p, nil
		}
	}
	return "", err
}

// mustLookPath is lookPath for a binary Require has already checked.
func mustLookPath(tb testing.TB, name string) string {
	tb.Helper()
	p, err := lookPath(name)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return p
}

// FreePort returns a free TCP port on 127.0.0.1.
//
// The port is picked at random below the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by default), not
// by binding port 0: a port the kernel handed out for :0 and that was then
// released is soon handed out again as the source port of some outgoing
// connection, and the server meant to listen on it fails with "address
// already in use" (seen here with parallel tests). Below the range only
// listeners on fixed ports compete, and no port is given twice to one test
// binary. Another process can still take the port before the caller binds
// it; the starters retry on "address already in use".
func FreePort(tb testing.TB) int {
	tb.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	if lo := ephemeralLow(); lo > minPort+1000 {
		for range 200 {
			p := minPort + rand.IntN(lo-minPort)
			if portsGiven[p] {
				continue
			}
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				continue
			}
			l.Close()
			portsGiven[p] = true
			return p
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testenv: find a free port: %v", err)
	}
	defer l.Close()
	p := l.Addr().(*net.TCPAddr).Port
	portsGiven[p] = true
	return p
}

// minPort is the lowest port FreePort picks.
const minPort = 10000

var (
	portMu     sync.Mutex
	portsGiven = map[int]bool{} // ports FreePort has returned in this process
)

// ephemeralLow returns the first port of the kernel's ephemeral range, or
// 0 if it is unknown (not Linux).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0
	}
	lo, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return lo
}

// errExited stops checkFor at once: the server died, waiting is useless.
var errExited = errors.New("process exited")

// checkFor calls check every interval until it returns nil, returns an
// error wrapping errExited, or timeout passes. It returns the last error.
func checkFor(timeout, interval time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil || errors.Is(err, errExited) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", timeout, err)
		}
		time.Sleep(interval)
	}
}

// process is one run of a server binary.
type process struct {
	name    string // for messages: "mosquitto", "victoria-metrics", ...
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed once cmd.Wait has returned
	waitErr error         // cmd.Wait's result, set before done is closed
}

// startProcess starts cmd with its stderr (and its stdout, unless the caller
// set one) appended to logPath. The process gets SIGTERM if the test binary
// dies without running its cleanups (Linux).
func startProcess(name string, cmd *exec.Cmd, logPath string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", name, err)
	}
	defer logFile.Close() // the child has its own copy
	cmd.Stderr = logFile
	if cmd.Stdout == nil {
		cmd.Stdout = logFile
	}
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	// This goroutine ends when the process exits; every owner of a process
	// registers a cleanup that makes it exit and waits for done.
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitedErr returns an error wrapping errExited if the process has exited.
func (p *process) exitedErr() error {
	if !p.exited() {
		return nil
	}
	return fmt.Errorf("%s (pid %d) %w: %v", p.name, p.cmd.Process.Pid, errExited, p.waitErr)
}

// stop sends sig and waits for the process to exit; after stopTimeout it
// kills it, waits, and returns an error. Stopping an exited process is a
// no-op.
func (p *process) stop(sig syscall.Signal) error {
	if p.exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s (pid %d): %w", p.name, p.cmd.Process.Pid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s (pid %d) ignored %v for %v and was killed", p.name, p.cmd.Process.Pid, sig, stopTimeout)
	}
}

// logContains reports whether the log mentions s (case-insensitive).
func (p *process) logContains(s string) bool {
	b, _ := os.ReadFile(p.logPath)
	return bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(s)))
}

// addrInUse reports whether the process failed because its port was taken.
func (p *process) addrInUse() bool {
	return p.logContains("address already in use")
}

// logOnFailure registers a cleanup that prints the tail of the log at path
// if the test failed. Register it before the cleanup that stops the server
// (cleanups run last-registered first), so the log is complete.
func logOnFailure(tb testing.TB, name, path string) {
	tb.Cleanup(func() {
		if !tb.Failed() {
			return
		}
		b, err := os.ReadFile(path)
		if err != nil {
			tb.Logf("testenv: %s log: %v", name, err)
			return
		}
		if len(b) > logTail {
			b = append([]byte("[...]\n"), b[len(b)-logTail:]...)
		}
		tb.Logf("testenv: %s log (%s):\n%s", name, path, b)
	})
}

// stopOnCleanup registers a cleanup that stops whatever process *pp points
// to when the test ends (Restart replaces it).
func stopOnCleanup(tb testing.TB, pp **process) {
	tb.Cleanup(func() {
		if p := *pp; p != nil {
			if err := p.stop(syscall.SIGTERM); err != nil {
				tb.Errorf("testenv: %v", err)
			}
		}
	})
}

// appendLog writes a marker line to a server's log (e.g. before a restart).
func appendLog(path, line string) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "--- testenv %s: %s ---\n", time.Now().Format("15:04:05.000"), line)
}

// tempDir returns tb.TempDir(), or, if its path holds characters that the
// servers' config syntaxes treat specially (a subtest named "a,b" gives a
// comma, which socat reads as an option separator), a plain temp dir that
// is removed when the test ends.
func tempDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	plain := func(r rune) bool {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("/._-", r)
	}
	if !strings.ContainsFunc(dir, func(r rune) bool { return !plain(r) }) {
		return dir
	}
	dir, err := os.MkdirTemp("", "testenv-")
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// CheckFor polls cond every few milliseconds until it holds, and fails the
// test naming what it waited for if timeout passes first. It is for state
// a test cannot be told about (a counter, a queue's depth); anything that
// can signal should be waited on directly.
func CheckFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
