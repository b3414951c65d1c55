package testenv

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// VictoriaMetrics is a running single-node VictoriaMetrics, the stand-in
// for the InfluxDB v2 write API: POST URL+"/api/v2/write?org=o&bucket=b&precision=ms".
type VictoriaMetrics struct {
	URL string // "http://127.0.0.1:port"

	dir     string
	data    string
	addr    string
	logPath string
	proc    *process
	client  *http.Client
}

// StartVictoriaMetrics starts VictoriaMetrics with
// -dedup.minScrapeInterval=1ms (a sample written twice is stored once),
// -search.latencyOffset=0s (fresh samples are readable at once after a
// force_flush) and -retentionPeriod=100y (a test may write fixed, old
// timestamps; the default month of retention drops them without a word).
// Timestamps more than ~2 days in the future are dropped too. It is ready
// when /health answers and /flags shows this instance's data path.
func StartVictoriaMetrics(tb testing.TB) *VictoriaMetrics {
	tb.Helper()
	Require(tb, "victoria-metrics")
	dir := tempDir(tb)
	v := &VictoriaMetrics{
		dir:     dir,
		data:    filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, "victoria-metrics.log"),
		client:  &http.Client{Timeout: 10 * time.Second},
	}
	logOnFailure(tb, "victoria-metrics", v.logPath)
	stopOnCleanup(tb, &v.proc)
	for attempt := 1; ; attempt++ {
		v.addr = fmt.Sprintf("127.0.0.1:%d", FreePort(tb))
		v.URL = "http://" + v.addr
		err := v.start(tb)
		if err == nil {
			return v
		}
		if attempt < 3 && v.proc != nil && (v.proc.addrInUse() || errors.Is(err, errNotOurs)) {
			_ = v.proc.stop(syscall.SIGKILL)
			appendLog(v.logPath, "port taken, retrying on a new port")
			continue
		}
		tb.Fatalf("testenv: victoria-metrics: %v (log: %s)", err, v.logPath)
	}
}

var errNotOurs = errors.New("another server answers on this port")

// start runs VictoriaMetrics on v.addr and waits until it is ready.
func (v *VictoriaMetrics) start(tb testing.TB) error {
	tb.Helper()
	cmd := exec.Command(mustLookPath(tb, "victoria-metrics"),
		"-storageDataPath="+v.data,
		"-httpListenAddr="+v.addr,
		"-dedup.minScrapeInterval=1ms",
		"-search.latencyOffset=0s",
		"-retentionPeriod=100y",
	)
	cmd.Dir = v.dir
	p, err := startProcess("victoria-metrics", cmd, v.logPath)
	if err != nil {
		return err
	}
	v.proc = p
	probe := &http.Client{Timeout: time.Second}
	err = checkFor(startTimeout, 10*time.Millisecond, func() error {
		if err := p.exitedErr(); err != nil {
			return err
		}
		body, err := get(probe, v.URL+"/health")
		if err != nil {
			return err
		}
		if strings.TrimSpace(body) != "OK" {
			return fmt.Errorf("/health: %q", body)
		}
		return nil
	})
	if err != nil {
		return err
	}
	flags, err := get(probe, v.URL+"/flags")
	if err != nil {
		return err
	}
	if !strings.Contains(flags, fmt.Sprintf("-storageDataPath=%q", v.data)) {
		return errNotOurs
	}
	return nil
}

// get fetches u and returns its body; a status other than 200 is an error.
func get(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// Stop sends SIGTERM and waits until VictoriaMetrics has exited: the store
// is down and its port refuses connections. Stopping a stopped store does
// nothing.
func (v *VictoriaMetrics) Stop(tb testing.TB) {
	tb.Helper()
	if err := v.proc.stop(syscall.SIGTERM); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
}

// Restart starts VictoriaMetrics again on the same port and data directory
// and waits until it is ready. A running store is stopped first.
func (v *VictoriaMetrics) Restart(tb testing.TB) {
	tb.Helper()
	v.Stop(tb)
	appendLog(v.logPath, "restart")
	if err := v.start(tb); err != nil {
		tb.Fatalf("testenv: restart victoria-metrics: %v", err)
	}
}

// Sample is one stored value.
type Sample struct {
	Metric    map[string]string // labels, with the name under "__name__"
	Timestamp int64             // milliseconds since the Unix epoch
	Value     float64
}

// String formats a sample like `name{a="1"} 1.5 @1700000000000`.
func (s Sample) String() string {
	return fmt.Sprintf("%s %v @%d", seriesKey(s.Metric), s.Value, s.Timestamp)
}

// seriesKey formats labels as name{k="v",...} with the keys sorted.
func seriesKey(m map[string]string) string {
	var b strings.Builder
	b.WriteString(m["__name__"])
	b.WriteByte('{')
	sep := ""
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k == "__name__" {
			continue
		}
		fmt.Fprintf(&b, "%s%s=%q", sep, k, m[k])
		sep = ","
	}
	b.WriteByte('}')
	return b.String()
}

// Export returns every sample whose series matches selector (for example
// `{__name__=~"gas_.*"}`), over all time, after /internal/force_flush. The
// samples are sorted by series, then by timestamp. Floats keep about 12
// significant digits: compare them with a tolerance.
func (v *VictoriaMetrics) Export(tb testing.TB, selector string) []Sample {
	tb.Helper()
	s, err := v.export(selector)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return s
}

func (v *VictoriaMetrics) export(selector string) ([]Sample, error) {
	if _, err := get(v.client, v.URL+"/internal/force_flush"); err != nil {
		return nil, fmt.Errorf("force_flush: %w", err)
	}
	q := url.Values{
		"match[]": {selector},
		"start":   {"0"},
		"end":     {strconv.FormatInt(time.Now().Add(24*time.Hour).Unix(), 10)},
	}
	resp, err := v.client.Get(v.URL + "/api/v1/export?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", selector, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("export %s: %s: %s", selector, resp.Status, strings.TrimSpace(string(b)))
	}
	var out []Sample
	dec := json.NewDecoder(resp.Body)
	for {
		var line struct {
			Metric     map[string]string `json:"metric"`
			Values     []float64         `json:"values"`
			Timestamps []int64           `json:"timestamps"`
		}
		if err := dec.Decode(&line); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("export %s: decode: %w", selector, err)
		}
		if len(line.Values) != len(line.Timestamps) {
			return nil, fmt.Errorf("export %s: %d values but %d timestamps", selector, len(line.Values), len(line.Timestamps))
		}
		for i, val := range line.Values {
			out = append(out, Sample{Metric: line.Metric, Timestamp: line.Timestamps[i], Value: val})
		}
	}
	slices.SortStableFunc(out, func(a, b Sample) int {
		if c := strings.Compare(seriesKey(a.Metric), seriesKey(b.Metric)); c != 0 {
			return c
		}
		return cmp.Compare(a.Timestamp, b.Timestamp)
	})
	return out, nil
}

// WaitSamples polls (force_flush, export, check, 100 ms) until at least n
// samples match selector, and returns them; after timeout it fails the test
// with what it saw.
func (v *VictoriaMetrics) WaitSamples(tb testing.TB, selector string, n int, timeout time.Duration) []Sample {
	tb.Helper()
	var got []Sample
	err := checkFor(timeout, 100*time.Millisecond, func() error {
		s, err := v.export(selector)
		if err != nil {
			return err
		}
		got = s
		if len(s) < n {
			return fmt.Errorf("%d samples match", len(s))
		}
		return nil
	})
	if err != nil {
		var b strings.Builder
		for _, s := range got {
			fmt.Fprintf(&b, "\n\t%v", s)
		}
		tb.Fatalf("testenv: want at least %d samples matching %s: %v; saw %d:%s", n, selector, err, len(got), b.String())
	}
	return got
}
