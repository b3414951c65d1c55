package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// PtyPair is a pair of connected pseudo-terminals made by socat: bytes
// written to A are read from B and the other way round, like two serial
// ports joined by a null-modem cable. Both are raw, without echo. Either
// end may be opened and closed any number of times.
type PtyPair struct {
	A, B string // symlinks to the /dev/pts devices

	logPath string
	proc    *process
}

// StartPtyPair starts `socat -d -d pty,raw,echo=0,link=DIR/ttyA
// pty,raw,echo=0,link=DIR/ttyB` and returns once both links exist and socat
// has entered its transfer loop.
func StartPtyPair(tb testing.TB) *PtyPair {
	tb.Helper()
	Require(tb, "socat")
	dir := tempDir(tb)
	p := &PtyPair{A: filepath.Join(dir, "ttyA"), B: filepath.Join(dir, "ttyB"), logPath: filepath.Join(dir, "socat.log")}
	logOnFailure(tb, "socat", p.logPath)
	stopOnCleanup(tb, &p.proc)
	p.start(tb)
	return p
}

// Replug starts socat again after Unplug, with the same links, as if the
// adapter were plugged back in.
func (p *PtyPair) Replug(tb testing.TB) {
	tb.Helper()
	p.start(tb)
}

func (p *PtyPair) start(tb testing.TB) {
	tb.Helper()
	const ready = "starting data transfer loop"
	loops := func() int { b, _ := os.ReadFile(p.logPath); return bytes.Count(b, []byte(ready)) }
	before := loops() // the log is appended to across replugs
	cmd := exec.Command(mustLookPath(tb, "socat"), "-d", "-d",
		"pty,raw,echo=0,link="+p.A, "pty,raw,echo=0,link="+p.B)
	proc, err := startProcess("socat", cmd, p.logPath)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	p.proc = proc
	err = checkFor(startTimeout, 5*time.Millisecond, func() error {
		if err := proc.exitedErr(); err != nil {
			return err
		}
		for _, l := range []string{p.A, p.B} {
			if _, err := os.Stat(l); err != nil {
				return err
			}
		}
		if loops() == before {
			return fmt.Errorf("socat has not started its transfer loop")
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("testenv: socat: %v (log: %s)", err, p.logPath)
	}
}

// Unplug stops socat, as if a USB serial adapter were pulled out: both
// links vanish and open descriptors on either end stop working. It sends
// SIGTERM, not SIGKILL: socat removes its links only when it can clean up,
// and a killed socat leaves links to /dev/pts numbers that get reused.
func (p *PtyPair) Unplug(tb testing.TB) {
	tb.Helper()
	if err := p.proc.stop(syscall.SIGTERM); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	for _, l := range []string{p.A, p.B} {
		if _, err := os.Lstat(l); err == nil {
			tb.Fatalf("testenv: socat exited but left %s behind", l)
		}
	}
}
