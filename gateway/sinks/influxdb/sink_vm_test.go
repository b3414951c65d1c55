package influxdb

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// The sink against a real VictoriaMetrics, the stand-in for the InfluxDB
// v2 write API. VictoriaMetrics accepts anything (bad lines get 204), so
// these tests check what lands in the store; the error mapping is tested
// against the fake in sink_test.go and the encoder on its own.

var vmDevices = map[string]shouwang.Device{
	"gas-1202": {ID: "gas-1202", Type: "gas", Location: shouwang.Location{
		Community: "阳光花园", Building: "3号楼", Unit: "2单元", Floor: 12, Room: "1202", Grid: "网格7"}},
	"co-0301": {ID: "co-0301", Type: "co", Location: shouwang.Location{
		Community: "阳光花园", Building: "1号楼", Floor: 3, Room: "0301"}},
	"smoke-b1": {ID: "smoke-b1", Type: "smoke", Location: shouwang.Location{
		// Characters line protocol must escape, end to end.
		Community: "阳光花园", Building: `C:\ 地下 ,车库=B1`, Floor: -1, Room: "storage\nroom"}},
}

// vmBatch is readings of two points from three located devices and one
// unknown one, and events; base carries sub-millisecond digits the ms
// precision cuts off.
func vmBatch(base time.Time) shouwang.Batch {
	var b shouwang.Batch
	devs := []string{"gas-1202", "co-0301", "smoke-b1", "ghost"}
	pts := []struct{ name, unit string }{{"gas", "%LEL"}, {"co", "ppm"}}
	for i := range 5 {
		for d, dev := range devs {
			for p, pt := range pts {
				b.Readings = append(b.Readings, shouwang.Reading{
					Device: dev, Point: pt.name, Unit: pt.unit,
					Value:   float64(i*100+d*10+p) + 0.123456789012 + float64(d)*1e-7,
					Quality: shouwang.Quality((i + d) % 3),
					Time:    base.Add(time.Duration(i)*time.Second + time.Duration(d)*time.Millisecond),
				})
			}
		}
	}
	b.Events = []shouwang.Event{
		{Device: "gas-1202", Kind: "gas_alarm", Severity: shouwang.Alarm, Message: "燃气浓度超限", Time: base.Add(1500 * time.Millisecond),
			Attrs: map[string]string{"threshold": "25%LEL"}},
		{Device: "smoke-b1", Kind: "fault", Severity: shouwang.Fault, Message: `sensor "dirty"`, Time: base.Add(2500 * time.Millisecond)},
		{Device: "ghost", Kind: "offline", Severity: shouwang.Warning, Time: base.Add(3500 * time.Millisecond)},
	}
	return b
}

// wantSample is a sample the store must hold, keyed like testenv.Sample.
type wantSample struct {
	labels map[string]string
	ts     int64
	value  float64
}

func (w wantSample) key() string { return sampleKey(w.labels, w.ts) }

func sampleKey(labels map[string]string, ts int64) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		fmt.Fprintf(&b, "%s=%q,", k, labels[k])
	}
	return b.String() + "@" + strconv.FormatInt(ts, 10)
}

// locationLabels are the labels the store keeps for a device's location:
// the tags, unescaped, with the encoder's documented replacements.
func locationLabels(device string) map[string]string {
	l := map[string]string{"device": device}
	d, ok := vmDevices[device]
	if !ok {
		return l
	}
	add := func(k, v string) {
		if v != "" {
			l[k] = strings.ReplaceAll(v, "\n", `\n`)
		}
	}
	add("community", d.Location.Community)
	add("building", d.Location.Building)
	add("unit", d.Location.Unit)
	add("room", d.Location.Room)
	add("grid", d.Location.Grid)
	add("type", d.Type)
	if d.Location.Floor != 0 {
		l["floor"] = strconv.Itoa(d.Location.Floor)
	}
	return l
}

// wantSamples is what vmBatch must become: <point>_value and
// <point>_quality per reading, event_severity per event.
func wantSamples(b shouwang.Batch) []wantSample {
	var out []wantSample
	for _, r := range b.Readings {
		for field, v := range map[string]float64{"value": r.Value, "quality": float64(r.Quality)} {
			l := locationLabels(r.Device)
			l["__name__"] = r.Point + "_" + field
			l["uom"] = r.Unit
			out = append(out, wantSample{l, r.Time.UnixMilli(), v})
		}
	}
	for _, e := range b.Events {
		l := locationLabels(e.Device)
		delete(l, "type")
		l["__name__"] = "event_severity"
		l["kind"] = e.Kind
		l["severity"] = e.Severity.String()
		out = append(out, wantSample{l, e.Time.UnixMilli(), float64(e.Severity)})
	}
	return out
}

const vmSelector = `{__name__=~"(gas|co)_(value|quality)|event_severity|marker_value"}`

// checkStored fails unless the store holds each wanted sample exactly
// once, and nothing else but markers.
func checkStored(t *testing.T, got []testenv.Sample, want []wantSample) {
	t.Helper()
	seen := map[string]int{}
	for _, s := range got {
		if strings.HasPrefix(s.Metric["__name__"], "marker_") {
			continue
		}
		// VictoriaMetrics versions differ on whether the bucket becomes a
		// "db" label; it is not ours to check.
		delete(s.Metric, "db")
		seen[sampleKey(s.Metric, s.Timestamp)]++
	}
	wantKeys := map[string]bool{}
	for _, w := range want {
		k := w.key()
		wantKeys[k] = true
		if n := seen[k]; n != 1 {
			t.Errorf("%s stored %d times, want once", k, n)
			continue
		}
		for _, s := range got {
			if sampleKey(s.Metric, s.Timestamp) == k && !closeEnough(s.Value, w.value) {
				t.Errorf("%s = %v, want %v", k, s.Value, w.value)
			}
		}
	}
	for k := range seen {
		if !wantKeys[k] {
			t.Errorf("unexpected sample %s", k)
		}
	}
}

func closeEnough(got, want float64) bool {
	if want == 0 {
		return got == 0
	}
	return math.Abs(got-want) <= 1e-9*math.Abs(want)
}

// countingProxy sits between the sink and the store and counts the lines
// the sink sent, so "exactly once" is checked on the wire too: the store's
// dedup would hide a duplicate.
type countingProxy struct {
	URL   string
	mu    sync.Mutex
	lines int
	reqs  int
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	p := &countingProxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		body := raw
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err == nil {
				body, err = io.ReadAll(zr)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		p.mu.Lock()
		p.reqs++
		p.lines += bytes.Count(body, []byte("\n")) + 1
		p.mu.Unlock()
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(raw))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *countingProxy) counts() (reqs, lines int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reqs, p.lines
}

func vmSink(t *testing.T, url string) *Sink {
	t.Helper()
	c := testConfig(url)
	s, err := c.NewSink(shouwang.SinkEnv{Name: "vm", Devices: vmDevices})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.(*Sink)
}

func marker(ts time.Time, v float64) shouwang.Reading {
	return shouwang.Reading{Device: "marker", Point: "marker", Value: v, Time: ts}
}

func TestVictoriaMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts VictoriaMetrics")
	}
	vm := testenv.StartVictoriaMetrics(t)
	proxy := newCountingProxy(t, vm.URL)
	s := vmSink(t, proxy.URL)
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Second).Add(123_456_789) // sub-ms digits
	batch := vmBatch(base)
	want := wantSamples(batch)
	lines := batch.Len()

	t.Run("every point read back", func(t *testing.T) {
		if err := s.Write(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
		got := vm.WaitSamples(t, vmSelector, len(want), 15*time.Second)
		checkStored(t, got, want)
	})

	t.Run("same batch twice is stored once", func(t *testing.T) {
		// The second write carries a marker; once the marker is readable
		// the whole request has been ingested.
		again := batch
		again.Readings = append(slices.Clip(batch.Readings), marker(base, 1))
		if err := s.Write(t.Context(), again); err != nil {
			t.Fatal(err)
		}
		vm.WaitSamples(t, `{__name__="marker_value"}`, 1, 15*time.Second)
		checkStored(t, vm.Export(t, vmSelector), want)
		// On the wire: one request per Write, each line sent once per
		// Write (the client neither retried nor split nor merged).
		if reqs, n := proxy.counts(); reqs != 2 || n != 2*lines+1 {
			t.Errorf("proxy saw %d requests, %d lines; want 2 requests, %d lines", reqs, n, 2*lines+1)
		}
	})

	t.Run("store down then back", func(t *testing.T) {
		direct := vmSink(t, vm.URL) // not through the proxy: see the real refusal
		vm.Stop(t)
		later := shouwang.Batch{Readings: []shouwang.Reading{marker(base.Add(time.Second), 2)}}
		err := direct.Write(t.Context(), later)
		t.Log(err)
		if we := asWriteError(t, err); we.Permanent {
			t.Errorf("store down: permanent error %v", err)
		}
		vm.Restart(t)
		if err := direct.Write(t.Context(), later); err != nil {
			t.Fatalf("after restart: %v", err)
		}
		got := vm.WaitSamples(t, `{__name__="marker_value"}`, 2, 15*time.Second)
		if len(got) != 2 || got[1].Timestamp != base.Add(time.Second).UnixMilli() || got[1].Value != 2 {
			t.Errorf("markers %v", got)
		}
		// What was stored before the restart is still there, once.
		checkStored(t, vm.Export(t, vmSelector), want)
	})
}
