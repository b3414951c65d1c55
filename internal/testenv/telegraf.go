package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TelegrafVersion is the Telegraf the side-by-side benchmarks compare
// with: the version the module proxy serves.
const TelegrafVersion = "v1.37.2"

// telegrafTags builds a Telegraf with only the plugins the benchmarks
// configure (a full build takes minutes and ~250 MB).
const telegrafTags = "custom,inputs.mqtt_consumer,outputs.influxdb_v2,parsers.json_v2"

// TelegrafBinary returns the path of a Telegraf TelegrafVersion built with
// inputs.mqtt_consumer, outputs.influxdb_v2 and parsers.json_v2 only. It
// takes $SHOUWANG_TELEGRAF when set; otherwise it keeps the binary in the
// user's cache directory (~/.cache/shouwang-bench/telegraf-v1.37.2/), and
// installs it there with `go install` from the module proxy when missing
// (about 30 s the first time). The binary is never put in the repository.
//
// An error says why there is none (no go command, no proxy): Telegraf is
// only compared with, so callers log it and go on without it.
func TelegrafBinary(tb testing.TB) (string, error) {
	tb.Helper()
	if p := os.Getenv("SHOUWANG_TELEGRAF"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("SHOUWANG_TELEGRAF: %w", err)
		}
		return p, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for telegraf: %w", err)
	}
	dir := filepath.Join(cache, "shouwang-bench", "telegraf-"+TelegrafVersion)
	bin := filepath.Join(dir, "telegraf")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	// Install into a directory of our own and rename it into place, so a
	// concurrent install or an interrupted one never leaves half a binary.
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	tb.Logf("testenv: installing telegraf %s (%s) into %s; about 30 s the first time", TelegrafVersion, telegrafTags, dir)
	start := time.Now()
	cmd := exec.Command(gobin, "install", "-tags", telegrafTags, "github.com/influxdata/telegraf/cmd/telegraf@"+TelegrafVersion)
	cmd.Dir = tmp // outside any module: @version installs ignore go.mod anyway
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOWORK=off", "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install telegraf@%s: %v\n%s", TelegrafVersion, err, lastBytes(out, 2000))
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(bin); statErr != nil { // not another install's
			return "", err
		}
	}
	tb.Logf("testenv: telegraf installed in %s", time.Since(start).Round(time.Second))
	return bin, nil
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// Telegraf is a running Telegraf agent.
type Telegraf struct {
	Pid     int
	Config  string // the config file
	logPath string
	proc    *process
}

// StartTelegraf writes config (TOML) to a temp dir and runs the Telegraf
// at bin with it, logging to a file that is printed when the test fails.
// It returns once the process has started: whether its inputs are ready
// is for the caller to see in what they deliver (Telegraf has no endpoint
// that says so). It is stopped with SIGTERM when the test ends.
func StartTelegraf(tb testing.TB, bin, config string) *Telegraf {
	tb.Helper()
	dir := tempDir(tb)
	t := &Telegraf{Config: filepath.Join(dir, "telegraf.conf"), logPath: filepath.Join(dir, "telegraf.log")}
	if err := os.WriteFile(t.Config, []byte(config), 0o600); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	logOnFailure(tb, "telegraf", t.logPath)
	stopOnCleanup(tb, &t.proc)
	cmd := exec.Command(bin, "--config", t.Config)
	cmd.Dir = dir
	p, err := startProcess("telegraf", cmd, t.logPath)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	t.proc, t.Pid = p, cmd.Process.Pid
	return t
}

// Err returns an error if Telegraf has exited, with the end of its log.
func (t *Telegraf) Err() error {
	err := t.proc.exitedErr()
	if err == nil {
		return nil
	}
	b, _ := os.ReadFile(t.logPath)
	return fmt.Errorf("%w\n%s", err, lastBytes(b, 2000))
}

// LogContains reports whether Telegraf's log mentions s (case-insensitive).
func (t *Telegraf) LogContains(s string) bool { return t.proc.logContains(s) }

// Stop sends SIGTERM and waits until Telegraf has exited. Stopping a
// stopped Telegraf does nothing.
func (t *Telegraf) Stop(tb testing.TB) {
	tb.Helper()
	if err := t.proc.stop(syscall.SIGTERM); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
}
