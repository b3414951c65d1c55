package influxdb

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"github.com/shouwang-iot/shouwang"
)

const testToken = "s3cret-t0ken"

// fakeStore is an in-process stand-in for InfluxDB's write endpoint: it
// records every request (body decompressed) and answers with respond.
type fakeStore struct {
	URL string

	mu      sync.Mutex
	reqs    []fakeRequest
	respond http.HandlerFunc
}

type fakeRequest struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         string // decompressed when Content-Encoding is gzip
	BodyErr      error
}

func newFakeStore(t *testing.T, respond http.HandlerFunc) *fakeStore {
	t.Helper()
	f := &fakeStore{respond: respond}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *fakeStore) serve(w http.ResponseWriter, r *http.Request) {
	req := fakeRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			req.BodyErr = err
			body = strings.NewReader("")
		} else {
			body = zr
		}
	}
	b, err := io.ReadAll(body)
	if err != nil && req.BodyErr == nil {
		req.BodyErr = err
	}
	req.Body = string(b)
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	respond := f.respond
	f.mu.Unlock()
	if respond == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	respond(w, r)
}

func (f *fakeStore) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.reqs...)
}

func testConfig(url string) Config {
	c := DefaultConfig()
	c.URL = url
	c.Token = testToken
	c.Org = "shouwang"
	c.Bucket = "community"
	return c
}

// mustSink builds a sink from c the way the gateway does.
func mustSink(tb testing.TB, c Config) *Sink {
	tb.Helper()
	s, err := c.NewSink(shouwang.SinkEnv{Name: "tsdb", Devices: testDevices})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s.(*Sink)
}

func testBatch() shouwang.Batch {
	return shouwang.Batch{
		Readings: []shouwang.Reading{
			{Device: "gas-1202", Point: "gas", Value: 12.5, Unit: "%LEL", Time: t0},
			{Device: "smoke-b1", Point: "smoke_density", Value: 0.02, Unit: "dB/m", Time: t0.Add(time.Millisecond)},
		},
		Events: []shouwang.Event{{Device: "gas-1202", Kind: "gas_alarm", Severity: shouwang.Alarm, Message: "gas", Time: t0}},
	}
}

func encoded(b shouwang.Batch) string {
	e := encoder{devices: testDevices}
	e.encode(b)
	return string(e.buf)
}

func TestWriteRequest(t *testing.T) {
	for _, gz := range []bool{true, false} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			f := newFakeStore(t, nil)
			c := testConfig(f.URL + "/influx") // a path prefix, as behind a proxy
			c.Gzip = gz
			s := mustSink(t, c)
			if err := s.Write(t.Context(), testBatch()); err != nil {
				t.Fatal(err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost || r.Path != "/influx/api/v2/write" {
				t.Errorf("%s %s, want POST /influx/api/v2/write", r.Method, r.Path)
			}
			wantQuery := url.Values{"org": {"shouwang"}, "bucket": {"community"}, "precision": {"ms"}}
			if r.Query.Encode() != wantQuery.Encode() {
				t.Errorf("query %s, want %s", r.Query.Encode(), wantQuery.Encode())
			}
			if got := r.Header.Get("Authorization"); got != "Token "+testToken {
				t.Errorf("Authorization %q", got)
			}
			if got, want := r.Header.Get("Content-Encoding"), map[bool]string{true: "gzip"}[gz]; got != want {
				t.Errorf("Content-Encoding %q, want %q", got, want)
			}
			if !strings.Contains(r.Header.Get("User-Agent"), "shouwang") {
				t.Errorf("User-Agent %q", r.Header.Get("User-Agent"))
			}
			if r.BodyErr != nil {
				t.Fatal(r.BodyErr)
			}
			if want := encoded(testBatch()); r.Body != want {
				t.Errorf("body\n%s\nwant\n%s", r.Body, want)
			}
		})
	}
}

func TestWriteNoToken(t *testing.T) {
	f := newFakeStore(t, nil)
	c := testConfig(f.URL)
	c.Token = ""
	if err := mustSink(t, c).Write(t.Context(), testBatch()); err != nil {
		t.Fatal(err)
	}
	if h, ok := f.requests()[0].Header["Authorization"]; ok {
		t.Errorf("Authorization %q sent without a token", h)
	}
}

func TestWriteErrors(t *testing.T) {
	now := time.Date(2025, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		permanent  bool
		retryAfter time.Duration
		wantMsg    []string
	}{
		{name: "204", status: 204},
		{name: "400 json", status: 400, header: map[string]string{"Content-Type": "application/json"},
			body:      `{"code":"invalid","message":"unable to parse 'gas,device=x value=': missing field value"}`,
			permanent: true, wantMsg: []string{"store rejected the batch", "HTTP 400", "invalid: unable to parse 'gas,device=x value=': missing field value"}},
		{name: "400 json that does not decode", status: 400, header: map[string]string{"Content-Type": "application/json"},
			body: `<html>oops`, permanent: true, wantMsg: []string{"HTTP 400", "unreadable error body"}},
		{name: "413 text", status: 413, body: "request entity too large\n", permanent: true,
			wantMsg: []string{"HTTP 413 Request Entity Too Large: request entity too large"}},
		{name: "422 json", status: 422, header: map[string]string{"Content-Type": "application/json; charset=utf-8"},
			body: `{"code":"unprocessable entity","message":"failed to parse line protocol: errors encountered on line(s): line 2: time outside range"}`, permanent: true,
			wantMsg: []string{"HTTP 422", "time outside range"}},
		{name: "429 with Retry-After seconds", status: 429, header: map[string]string{"Retry-After": "7"},
			retryAfter: 7 * time.Second, wantMsg: []string{"HTTP 429"}},
		{name: "429 with Retry-After date", status: 429, header: map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)},
			retryAfter: 90 * time.Second},
		{name: "429 with Retry-After garbage", status: 429, header: map[string]string{"Retry-After": "soon"}},
		{name: "503 without Retry-After", status: 503, wantMsg: []string{"HTTP 503 Service Unavailable"}},
		{name: "503 with Retry-After", status: 503, header: map[string]string{"Retry-After": "2"}, retryAfter: 2 * time.Second},
		{name: "500 json", status: 500, header: map[string]string{"Content-Type": "application/json"},
			body: `{"code":"internal error","message":"engine: disk full"}`, wantMsg: []string{"internal error: engine: disk full"}},
		{name: "401 bad token", status: 401, header: map[string]string{"Content-Type": "application/json"},
			body: `{"code":"unauthorized","message":"unauthorized access"}`, wantMsg: []string{"HTTP 401", "unauthorized access", "check the sink's token", `bucket "community" of org "shouwang"`}},
		{name: "403", status: 403, wantMsg: []string{"HTTP 403", "check the sink's token"}},
		{name: "404 no bucket", status: 404, header: map[string]string{"Content-Type": "application/json"},
			body: `{"code":"not found","message":"bucket \"community\" not found"}`, wantMsg: []string{"HTTP 404", `org "shouwang" and bucket "community" exist`}},
		{name: "502 long html from a proxy is cut", status: 502, body: strings.Repeat("<p>upstream error</p>\n", 100),
			wantMsg: []string{"HTTP 502 Bad Gateway: <p>upstream error</p> <p>", "…"}},
		{name: "307 not followed", status: 307, header: map[string]string{"Location": "/elsewhere"}, wantMsg: []string{"HTTP 307"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeStore(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			s := mustSink(t, testConfig(f.URL))
			s.now = func() time.Time { return now }
			err := s.Write(t.Context(), testBatch())
			if n := len(f.requests()); n != 1 {
				t.Errorf("%d requests, want exactly 1 (no retries in the sink or the client)", n)
			}
			if tc.status < 300 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			t.Log(err)
			we := asWriteError(t, err)
			if we.Permanent != tc.permanent || we.RetryAfter != tc.retryAfter {
				t.Errorf("Permanent %v RetryAfter %v, want %v %v", we.Permanent, we.RetryAfter, tc.permanent, tc.retryAfter)
			}
			for _, want := range append(tc.wantMsg, "influxdb write to "+f.URL) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			var he *influxhttp.Error
			if !errors.As(err, &he) || he.StatusCode != tc.status {
				t.Errorf("error does not unwrap to the client's *http.Error with status %d: %#v", tc.status, he)
			}
		})
	}
}

// asWriteError checks what every failed Write returns: a *WriteError that
// never shows the token.
func asWriteError(t *testing.T, err error) *shouwang.WriteError {
	t.Helper()
	var we *shouwang.WriteError
	if !errors.As(err, &we) {
		t.Fatalf("error %v (%T) is not a *shouwang.WriteError", err, err)
	}
	if strings.Contains(err.Error(), testToken) || strings.Contains(fmt.Sprintf("%+v", err), testToken) {
		t.Errorf("error shows the token: %v", err)
	}
	return we
}

func TestWriteTimeout(t *testing.T) {
	release := make(chan struct{})
	f := newFakeStore(t, func(w http.ResponseWriter, r *http.Request) {
		select { // hang until the client gives up, or the test ends
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	c := testConfig(f.URL)
	c.Timeout = 200 * time.Millisecond
	s := mustSink(t, c)
	start := time.Now()
	err := s.Write(t.Context(), testBatch())
	elapsed := time.Since(start)
	t.Log(err)
	we := asWriteError(t, err)
	if we.Permanent || we.RetryAfter != 0 {
		t.Errorf("timeout: Permanent %v RetryAfter %v, want retryable", we.Permanent, we.RetryAfter)
	}
	if !strings.Contains(err.Error(), "timed out (timeout 200ms)") || !strings.Contains(err.Error(), f.URL) {
		t.Errorf("error %q", err)
	}
	if elapsed < c.Timeout || elapsed > c.Timeout+2*time.Second {
		t.Errorf("Write returned after %v with a %v timeout", elapsed, c.Timeout)
	}
}

func TestWriteContextEnded(t *testing.T) {
	f := newFakeStore(t, nil)
	s := mustSink(t, testConfig(f.URL))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Write(ctx, testBatch())
	if we := asWriteError(t, err); we.Permanent {
		t.Error("cancelled write is permanent")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not wrap context.Canceled", err)
	}
}

func TestWriteConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	s := mustSink(t, testConfig(addr))
	err = s.Write(t.Context(), testBatch())
	t.Log(err)
	we := asWriteError(t, err)
	if we.Permanent || we.RetryAfter != 0 {
		t.Errorf("Permanent %v RetryAfter %v, want retryable", we.Permanent, we.RetryAfter)
	}
	if !strings.Contains(err.Error(), "influxdb write to "+addr) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %q", err)
	}
	var ne *net.OpError
	if !errors.As(err, &ne) {
		t.Errorf("error does not unwrap to *net.OpError: %v", err)
	}
}

func TestWriteSkipsWhatCannotBeWritten(t *testing.T) {
	f := newFakeStore(t, nil)
	s := mustSink(t, testConfig(f.URL))
	nan := shouwang.Batch{Readings: []shouwang.Reading{
		{Device: "gas-1202", Point: "gas", Value: math.NaN(), Time: t0},
		{Device: "gas-1202", Point: "gas", Value: math.Inf(1), Time: t0},
	}}
	if err := s.Write(t.Context(), nan); err != nil {
		t.Fatal(err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests for a batch with nothing writable", n)
	}
	mixed := testBatch()
	mixed.Readings = append(mixed.Readings, nan.Readings[0])
	if err := s.Write(t.Context(), mixed); err != nil {
		t.Fatal(err)
	}
	if got := s.Skipped(); got != 3 {
		t.Errorf("Skipped() = %d, want 3", got)
	}
	reqs := f.requests()
	if len(reqs) != 1 || reqs[0].Body != encoded(testBatch()) {
		t.Errorf("requests %+v, want one with the writable lines", reqs)
	}
	if err := s.Write(t.Context(), shouwang.Batch{}); err != nil || len(f.requests()) != 1 {
		t.Errorf("empty batch: err %v, %d requests", err, len(f.requests()))
	}
}

func TestWriteConcurrent(t *testing.T) {
	f := newFakeStore(t, nil)
	s := mustSink(t, testConfig(f.URL))
	var wg sync.WaitGroup
	batches := make([]shouwang.Batch, 8)
	for i := range batches {
		batches[i] = shouwang.Batch{Readings: []shouwang.Reading{{Device: fmt.Sprintf("d%d", i), Point: "p", Value: float64(i), Time: t0}}}
		wg.Go(func() {
			if err := s.Write(t.Context(), batches[i]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := map[string]bool{}
	for _, r := range f.requests() {
		got[r.Body] = true
	}
	for _, b := range batches {
		if !got[encoded(b)] {
			t.Errorf("no request carried %q", encoded(b))
		}
	}
}

func TestClose(t *testing.T) {
	f := newFakeStore(t, nil)
	s := mustSink(t, testConfig(f.URL))
	if err := s.Write(t.Context(), testBatch()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	err := s.Write(t.Context(), testBatch())
	if we := asWriteError(t, err); we.Permanent || !errors.Is(err, errClosed) {
		t.Errorf("Write after Close: %v", err)
	}
}

func BenchmarkWrite(b *testing.B) {
	batch, devices := benchBatch(5000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	for _, gz := range []bool{false, true} {
		b.Run(fmt.Sprintf("gzip=%v", gz), func(b *testing.B) {
			c := testConfig(srv.URL)
			c.Gzip = gz
			si, err := c.NewSink(shouwang.SinkEnv{Devices: devices})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { si.Close() })
			b.ReportAllocs()
			for b.Loop() {
				if err := si.Write(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/5000, "ns/reading")
		})
	}
}
