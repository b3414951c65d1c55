// Package influxdb is the sink that writes readings and events to a
// time-series store over the InfluxDB v2 write API (InfluxDB 2.x/3.x,
// VictoriaMetrics, anything taking POST /api/v2/write).
//
// The sink does not buffer, batch or retry: each Write is one HTTP request
// carrying the whole batch, and its error tells the outbox what to do next
// (see Write). It uses influxdb-client-go's blocking write API, which in
// the way it is used here sends exactly one request per call.
package influxdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"github.com/shouwang-iot/shouwang"
)

// Sink writes batches to one bucket. It is safe for concurrent use.
type Sink struct {
	url     string // for error messages; holds no secret (see Validate)
	org     string
	bucket  string
	timeout time.Duration
	logger  *slog.Logger
	now     func() time.Time // for HTTP-date Retry-After

	transport *http.Transport
	client    influxdb2.Client
	writer    api.WriteAPIBlocking

	mu  sync.Mutex // guards enc
	enc encoder

	skipped atomic.Uint64
	closed  atomic.Bool
}

func newSink(c Config, env shouwang.SinkEnv) *Sink {
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// Our own transport and client, so Timeout can be below a second (the
	// library's own option counts whole seconds) and Close can drop idle
	// connections (the library only does that for a client it made).
	transport := http.DefaultTransport.(*http.Transport).Clone()
	opts := influxdb2.DefaultOptions().
		SetHTTPClient(&http.Client{Transport: transport, Timeout: c.Timeout}).
		SetPrecision(time.Millisecond).
		SetUseGZip(c.Gzip).
		SetApplicationName("shouwang").
		// The blocking API never retries (it calls the write service's
		// WriteBatch directly, not HandleWrite); set to 0 all the same so
		// nothing in the library retries behind the outbox's back.
		SetMaxRetries(0)
	client := influxdb2.NewClientWithOptions(c.URL, c.Token.Reveal(), opts)
	return &Sink{
		url:       c.URL,
		org:       c.Org,
		bucket:    c.Bucket,
		timeout:   c.Timeout,
		logger:    logger.With("sink", env.Name),
		now:       time.Now,
		transport: transport,
		client:    client,
		writer:    client.WriteAPIBlocking(c.Org, c.Bucket),
		enc:       encoder{devices: env.Devices},
	}
}

var errClosed = errors.New("sink is closed")

// maxKeptBuffer is the largest encoding buffer kept between writes: about
// 24,000 readings.
const maxKeptBuffer = 4 << 20

// Write sends the batch as one request. Readings and events the store
// cannot take (NaN or infinite values, impossible timestamps) are left out
// and counted in Skipped; a batch with nothing left is not sent.
//
// Every error is a *shouwang.WriteError wrapping the cause:
//   - Permanent for 400, 413 and 422: the store refused the batch itself,
//     and the error carries the store's own message;
//   - retryable for 429 and 5xx, with RetryAfter from the response's
//     Retry-After header (seconds or HTTP date) when there is one;
//   - retryable for 401, 403 and 404, which mean a wrong token, org or
//     bucket: the batch is good and must not be quarantined;
//   - retryable for network errors, timeouts, ctx ending, and any other
//     status.
func (s *Sink) Write(ctx context.Context, b shouwang.Batch) error {
	if s.closed.Load() {
		return &shouwang.WriteError{Err: fmt.Errorf("influxdb write to %s: %w", s.url, errClosed)}
	}
	if b.Len() == 0 {
		return nil
	}
	s.mu.Lock()
	lines, skipped := s.enc.encode(b)
	// A copy: the client reads the body past the lock, and its gzip
	// goroutine may still be reading it after WriteRecord returns.
	body := string(s.enc.buf)
	if cap(s.enc.buf) > maxKeptBuffer {
		s.enc.buf = nil // one huge batch should not pin its buffer forever
	}
	s.mu.Unlock()
	if skipped > 0 {
		total := s.skipped.Add(uint64(skipped))
		s.logger.Warn("influxdb: skipped readings or events the store cannot take (NaN/Inf value, empty or '#' point, time outside 1677-2262)",
			"skipped", skipped, "skipped_total", total, "url", s.url)
	}
	if lines == 0 {
		return nil
	}
	if err := s.writer.WriteRecord(ctx, body); err != nil {
		return s.writeError(err)
	}
	return nil
}

// Skipped is how many readings and events Write has left out since the
// sink was built, because line protocol cannot carry them.
func (s *Sink) Skipped() uint64 { return s.skipped.Load() }

// Close drops idle connections. It is safe to call more than once; Write
// after Close fails with a retryable error.
func (s *Sink) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.client.Close()
	s.transport.CloseIdleConnections()
	return nil
}

// maxMessage bounds how much of a store's error body goes into an error.
const maxMessage = 512

// writeError turns what the client returned into a *shouwang.WriteError.
func (s *Sink) writeError(err error) error {
	var he *influxhttp.Error
	if !errors.As(err, &he) || he.StatusCode == 0 {
		// No HTTP response: connection refused, DNS, timeout, ctx ended.
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = fmt.Errorf("influxdb write to %s: timed out (timeout %v): %w", s.url, s.timeout, err)
		} else {
			err = fmt.Errorf("influxdb write to %s: %w", s.url, err)
		}
		return &shouwang.WriteError{Err: err}
	}
	code := he.StatusCode
	status := fmt.Sprintf("HTTP %d %s", code, http.StatusText(code))
	if msg := storeMessage(he); msg != "" {
		status += ": " + msg
	}
	we := &shouwang.WriteError{}
	var text string
	switch code {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		we.Permanent = true
		text = fmt.Sprintf("influxdb write to %s: store rejected the batch: %s", s.url, status)
	case http.StatusUnauthorized, http.StatusForbidden:
		text = fmt.Sprintf("influxdb write to %s: %s (check the sink's token, and that it may write to bucket %q of org %q)",
			s.url, status, s.bucket, s.org)
	case http.StatusNotFound:
		text = fmt.Sprintf("influxdb write to %s: %s (check that org %q and bucket %q exist, and that url points at the store)",
			s.url, status, s.org, s.bucket)
	default: // 429, 5xx, and anything unexpected: try again later
		we.RetryAfter = s.retryAfter(he)
		text = fmt.Sprintf("influxdb write to %s: %s", s.url, status)
		if we.RetryAfter > 0 {
			text += fmt.Sprintf(" (retry after %v)", we.RetryAfter)
		}
	}
	we.Err = &statusError{text: text, err: he}
	return we
}

// statusError says what went wrong in our words and unwraps to the
// client's *http.Error (StatusCode, Header) for callers that want them.
type statusError struct {
	text string
	err  *influxhttp.Error
}

func (e *statusError) Error() string { return e.text }
func (e *statusError) Unwrap() error { return e.err }

// storeMessage is the store's explanation, on one line and bounded, or
// "" when it gave none.
func storeMessage(he *influxhttp.Error) string {
	var msg string
	switch {
	case he.Message != "":
		msg = he.Message
		// JSON bodies give a short code ("invalid"); text bodies give the
		// HTTP status line, which the caller already prints.
		if he.Code != "" && !strings.HasPrefix(he.Code, strconv.Itoa(he.StatusCode)) {
			msg = he.Code + ": " + msg
		}
	case he.Err != nil:
		// A JSON body that did not decode.
		msg = "unreadable error body: " + he.Err.Error()
	default:
		msg = he.Header.Get("X-Influxdb-Error") // InfluxDB 1.x
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > maxMessage {
		cut := maxMessage
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// retryAfter reads Retry-After as seconds (the client has parsed that) or
// as an HTTP date; zero when absent or unreadable.
func (s *Sink) retryAfter(he *influxhttp.Error) time.Duration {
	if he.RetryAfter > 0 {
		return time.Duration(he.RetryAfter) * time.Second
	}
	if v := he.Header.Get("Retry-After"); v != "" {
		if t, err := http.ParseTime(v); err == nil {
			if d := t.Sub(s.now()); d > 0 {
				return d
			}
		}
	}
	return 0
}
