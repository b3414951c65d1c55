package alarms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/durable"
)

// WebhookConfig is one entry of the config's notify.webhooks list: an
// HTTP(S) endpoint that is POSTed every alarm message its route picks,
// signed with a shared secret.
type WebhookConfig struct {
	// Name names the webhook in logs, metrics and the dead-letter file's
	// default name.
	Name string `yaml:"name"`
	// URL is where messages are POSTed: "http(s)://host[:port][/path]".
	// It must not hold a user or password; a query is sent but never
	// shown in logs or the dead-letter file.
	URL string `yaml:"url"`
	// Secret is the HMAC-SHA256 key the receiver checks the
	// X-Shouwang-Signature header with (see VerifyWebhook); at least 16
	// bytes.
	Secret shouwang.Secret `yaml:"secret"`
	// Timeout bounds each attempt, from connecting to reading the
	// response.
	Timeout time.Duration `yaml:"timeout"`
	// Attempts is how many times a message is tried before it is set
	// aside in the dead-letter file.
	Attempts int `yaml:"attempts"`
	// Backoff is the wait after the first failed attempt; it doubles
	// after each further one, up to MaxBackoff. A Retry-After header on a
	// 429 or 503 sets the wait instead, also up to MaxBackoff.
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// DeadLetter is the JSON Lines file that messages given up on are
	// appended to. The gateway fills in
	// <data_dir>/notify/<name>.deadletter.jsonl when it is empty.
	DeadLetter string `yaml:"dead_letter"`
	// Route picks the messages this webhook carries.
	Route Route `yaml:"route"`
}

// minWebhookSecret is the shortest secret Validate accepts, in bytes.
const minWebhookSecret = 16

// DefaultWebhookConfig is the one place the webhook's defaults live.
func DefaultWebhookConfig() WebhookConfig {
	return WebhookConfig{
		Timeout:    5 * time.Second,
		Attempts:   12, // about 18 min of tries: a receiver restarting or briefly down loses nothing
		Backoff:    time.Second,
		MaxBackoff: 5 * time.Minute,
		Route:      Route{FromLevel: 1},
	}
}

// Validate reports every problem with the config as shouwang.FieldErrors,
// the route's among them. It does no I/O. It never shows the secret, nor
// a URL that may hold one (user info, query).
func (c *WebhookConfig) Validate() error {
	var fe shouwang.FieldErrors
	switch u, err := url.Parse(c.URL); {
	case c.URL == "":
		fe.Add("url", "is required (the receiver's address, e.g. https://alarms.example.org/hooks/shouwang)")
	case err != nil:
		fe.Add("url", "does not parse: %v (want http(s)://host[:port][/path])", unwrapWebhookURLError(err))
	case u.User != nil:
		fe.Add("url", "must not hold a user or password (the receiver authenticates messages by their signature; see secret)")
	case u.Fragment != "":
		fe.Add("url", "has a #fragment, which is never sent (want http(s)://host[:port][/path])")
	case u.Scheme != "http" && u.Scheme != "https":
		fe.Add("url", "scheme %q is not supported (want http:// or https://)", u.Scheme)
	case u.Host == "":
		fe.Add("url", "has no host (want http(s)://host[:port][/path])")
	}
	switch n := len(c.Secret.Reveal()); {
	case n == 0:
		fe.Add("secret", "is required (at least %d bytes shared with the receiver, e.g. the output of `openssl rand -hex 32`)", minWebhookSecret)
	case n < minWebhookSecret:
		fe.Add("secret", "is %d bytes (want at least %d, e.g. the output of `openssl rand -hex 32`)", n, minWebhookSecret)
	}
	if c.Timeout <= 0 {
		fe.Add("timeout", "is %v (want a positive duration, e.g. 5s)", c.Timeout)
	}
	if c.Attempts < 1 {
		fe.Add("attempts", "is %d (want 1 or more tries before a message is set aside, e.g. 6)", c.Attempts)
	}
	if c.Backoff <= 0 {
		fe.Add("backoff", "is %v (want a positive duration, e.g. 1s)", c.Backoff)
	}
	if c.MaxBackoff < c.Backoff || c.MaxBackoff <= 0 {
		fe.Add("max_backoff", "is %v (want a positive duration no shorter than backoff %v, e.g. 1m)", c.MaxBackoff, c.Backoff)
	}
	if c.DeadLetter != "" && strings.HasSuffix(c.DeadLetter, string(filepath.Separator)) {
		fe.Add("dead_letter", "%q names a directory (want a file path, or leave it empty for <data_dir>/notify/<name>.deadletter.jsonl)", c.DeadLetter)
	}
	c.Route.validate(&fe)
	return fe.Err()
}

func unwrapWebhookURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// WebhookOptions are the webhook's collaborators; every field may be
// left zero.
type WebhookOptions struct {
	// Client sends the requests; nil: a client of its own with the
	// config's Timeout that does not follow redirects.
	Client *http.Client
	// Now is the clock for the signature's timestamp and the dead-letter
	// time; nil: time.Now.
	Now func() time.Time
	// Sleep waits between attempts and returns ctx.Err() if ctx ends
	// first; nil: a timer.
	Sleep  func(ctx context.Context, d time.Duration) error
	Logger *slog.Logger
}

// Webhook delivers alarm messages to one HTTP endpoint. It is safe for
// concurrent use.
type Webhook struct {
	name       string
	url        string // as configured, query and all: only for requests
	shown      string // scheme://host/path: for logs, errors and the dead-letter file
	secret     []byte
	timeout    time.Duration
	attempts   int
	backoff    time.Duration
	maxBackoff time.Duration
	deadLetter string

	client *http.Client
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
	logger *slog.Logger

	dlMu   sync.Mutex // serialises appends to the dead-letter file
	closed atomic.Bool
}

var _ Notifier = (*Webhook)(nil)

// NewWebhook builds the webhook without connecting anywhere. It returns
// the config's FieldErrors if the config is invalid, and an error if
// DeadLetter is still empty (the gateway fills it in).
func NewWebhook(c WebhookConfig, opts WebhookOptions) (*Webhook, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("webhook %q: invalid configuration: %w", c.Name, err)
	}
	if c.DeadLetter == "" {
		return nil, fmt.Errorf("webhook %q: no dead_letter file (the gateway sets <data_dir>/notify/%s.deadletter.jsonl)", c.Name, c.Name)
	}
	u, _ := url.Parse(c.URL) // Validate has parsed it
	w := &Webhook{
		name:       c.Name,
		url:        c.URL,
		shown:      (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String(),
		secret:     []byte(c.Secret.Reveal()),
		timeout:    c.Timeout,
		attempts:   c.Attempts,
		backoff:    c.Backoff,
		maxBackoff: c.MaxBackoff,
		deadLetter: c.DeadLetter,
		client:     opts.Client,
		now:        opts.Now,
		sleep:      opts.Sleep,
		logger:     opts.Logger,
	}
	if w.client == nil {
		w.client = &http.Client{
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
			Timeout:   c.Timeout,
			// A redirected POST may arrive as a GET without its body and
			// still answer 200: refuse rather than count that delivered.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.sleep == nil {
		w.sleep = sleep
	}
	if w.logger == nil {
		w.logger = slog.New(slog.DiscardHandler)
	}
	w.logger = w.logger.With("webhook", c.Name, "url", w.shown)
	return w, nil
}

// The request headers; the receiver checks the last two with
// VerifyWebhook.
const (
	webhookHeaderAlarm     = "X-Shouwang-Alarm"
	webhookHeaderSeq       = "X-Shouwang-Seq"
	webhookHeaderKind      = "X-Shouwang-Kind"
	webhookHeaderTimestamp = "X-Shouwang-Timestamp"
	webhookHeaderSignature = "X-Shouwang-Signature"
	webhookSignaturePrefix = "sha256="
)

// maxWebhookDrain is the most of a response body read (and dropped), so
// that the connection can be reused without a receiver making us read
// forever.
const maxWebhookDrain = 64 << 10

// maxWebhookExcerpt is how much of an error response's body is quoted in
// the error.
const maxWebhookExcerpt = 256

var errWebhookClosed = errors.New("webhook is closed")

// Notify POSTs m (the desk has already matched it against the route).
//
// A 2xx answer delivers it. A transport error, a timeout, 408, 425, 429
// or 5xx is tried again after a wait, up to the config's Attempts in all;
// any other answer (3xx included: redirects are not followed) is final.
// When the tries run out or an answer is final, the message is appended
// to the dead-letter file and Notify returns nil: it is set aside for
// good. Notify returns an error when the dead-letter file cannot be
// written (the message should be tried again later), and ctx.Err() at
// once, writing nothing, when ctx ends.
func (w *Webhook) Notify(ctx context.Context, m Message) error {
	if w.closed.Load() {
		return fmt.Errorf("webhook %s: %w", w.name, errWebhookClosed)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("webhook %s: encoding alarm %d #%d: %w", w.name, m.AlarmID, m.Seq, err)
	}
	for attempt := 1; ; attempt++ {
		r := w.send(ctx, &m, body)
		if r.err == nil {
			if attempt > 1 {
				w.logger.Info("alarm message delivered after retries", "alarm", m.AlarmID, "seq", m.Seq, "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if r.permanent || attempt >= w.attempts {
			return w.setAside(&m, attempt, r)
		}
		wait := w.backoffAfter(attempt)
		if r.retryAfter >= 0 {
			wait = min(r.retryAfter, w.maxBackoff)
		}
		w.logger.Warn("alarm message not delivered; retrying", "alarm", m.AlarmID, "seq", m.Seq,
			"attempt", attempt, "of", w.attempts, "wait", wait, "err", r.err)
		if err := w.sleep(ctx, wait); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("webhook %s: waiting to retry: %w", w.name, err)
		}
	}
}

// backoffAfter is the wait after failed attempt n (from 1): backoff,
// doubled n-1 times, capped at maxBackoff.
func (w *Webhook) backoffAfter(n int) time.Duration {
	d := w.backoff
	for i := 1; i < n && d < w.maxBackoff; i++ {
		d *= 2
	}
	return min(d, w.maxBackoff)
}

// webhookAttempt is how one attempt went.
type webhookAttempt struct {
	status     int           // 0 when no response came
	permanent  bool          // trying again will not help
	retryAfter time.Duration // the answer's Retry-After; -1 when none
	err        error         // nil when delivered
}

// send makes one attempt.
func (w *Webhook) send(ctx context.Context, m *Message, body []byte) webhookAttempt {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return webhookAttempt{permanent: true, retryAfter: -1, err: fmt.Errorf("POST %s: %w", w.shown, unwrapWebhookURLError(err))}
	}
	// Signed afresh for each attempt, so that a retry after a long wait
	// still falls within the receiver's allowed clock skew.
	ts := strconv.FormatInt(w.now().Unix(), 10)
	h := req.Header
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("User-Agent", "shouwang-webhook")
	h.Set(webhookHeaderAlarm, strconv.FormatUint(m.AlarmID, 10))
	h.Set(webhookHeaderSeq, strconv.FormatUint(m.Seq, 10))
	h.Set(webhookHeaderKind, m.Kind.String())
	h.Set(webhookHeaderTimestamp, ts)
	h.Set(webhookHeaderSignature, webhookSignaturePrefix+hex.EncodeToString(webhookSign(w.secret, ts, body)))
	h.Set("Idempotency-Key", fmt.Sprintf("%d-%d", m.AlarmID, m.Seq))

	resp, err := w.client.Do(req)
	if err != nil {
		// The *url.Error names the full URL, query and all: keep its cause.
		cause := unwrapWebhookURLError(err)
		var ne net.Error
		if ctx.Err() == context.DeadlineExceeded || (errors.As(cause, &ne) && ne.Timeout()) {
			return webhookAttempt{retryAfter: -1, err: fmt.Errorf("POST %s: no answer within %v (timeout): %w", w.shown, w.timeout, cause)}
		}
		return webhookAttempt{retryAfter: -1, err: fmt.Errorf("POST %s: %w", w.shown, cause)}
	}
	defer resp.Body.Close()
	code := resp.StatusCode
	if code >= 200 && code <= 299 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxWebhookDrain))
		return webhookAttempt{status: code, retryAfter: -1}
	}
	excerpt := make([]byte, maxWebhookExcerpt)
	n, _ := io.ReadFull(resp.Body, excerpt)
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxWebhookDrain-int64(n)))
	text := fmt.Sprintf("POST %s: HTTP %d %s", w.shown, code, http.StatusText(code))
	if s := webhookExcerpt(excerpt[:n]); s != "" {
		text += ": " + s
	}
	r := webhookAttempt{status: code, retryAfter: -1}
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests,
		code >= 500 && code <= 599:
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			if d, ok := webhookRetryAfter(resp.Header.Get("Retry-After"), w.now()); ok {
				r.retryAfter = d
				text += fmt.Sprintf(" (retry after %v)", d)
			}
		}
	case code >= 300 && code <= 399:
		r.permanent = true
		text += " (redirects are not followed: set url to the address that answers)"
	default:
		r.permanent = true
	}
	r.err = errors.New(text)
	return r
}

// webhookExcerpt is a receiver's error body as one line of valid UTF-8; b is
// cut short when it fills the excerpt.
func webhookExcerpt(b []byte) string {
	cut := len(b) == maxWebhookExcerpt
	if cut {
		// Drop a rune the cut split.
		for k := 1; k <= utf8.UTFMax && k <= len(b); k++ {
			if utf8.RuneStart(b[len(b)-k]) {
				if !utf8.FullRune(b[len(b)-k:]) {
					b = b[:len(b)-k]
				}
				break
			}
		}
	}
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\uFFFD")), " ")
	if cut && s != "" {
		s += "…"
	}
	return s
}

// webhookRetryAfter reads a Retry-After value: delay seconds or an HTTP
// date (a date already past is no wait). ok is false when v is neither.
func webhookRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil {
		if secs > uint64(time.Duration(1<<63-1)/time.Second) {
			return time.Duration(1<<63 - 1), true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// webhookSign is HMAC-SHA256(secret, "<timestamp>.<body>").
func webhookSign(secret []byte, ts string, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// webhookDeadLetter is one line of the dead-letter file.
type webhookDeadLetter struct {
	Time     time.Time `json:"time"`
	Webhook  string    `json:"webhook"`
	URL      string    `json:"url"` // scheme://host/path: no user info or query
	Attempts int       `json:"attempts"`
	Status   int       `json:"status"` // the last HTTP status; 0 when no answer came
	Error    string    `json:"error"`
	Message  Message   `json:"message"`
}

// setAside appends m to the dead-letter file and syncs it.
func (w *Webhook) setAside(m *Message, attempts int, r webhookAttempt) error {
	line, err := json.Marshal(webhookDeadLetter{Time: w.now().UTC(), Webhook: w.name, URL: w.shown,
		Attempts: attempts, Status: r.status, Error: r.err.Error(), Message: *m})
	if err != nil {
		return fmt.Errorf("webhook %s: alarm %d #%d not delivered (%v); encoding its dead letter: %w", w.name, m.AlarmID, m.Seq, r.err, err)
	}
	line = append(line, '\n')
	if err := w.appendDeadLetter(line); err != nil {
		return fmt.Errorf("webhook %s: alarm %d #%d not delivered (%v), and not set aside: %w", w.name, m.AlarmID, m.Seq, r.err, err)
	}
	w.logger.Error("alarm message not delivered; set aside in the dead-letter file", "alarm", m.AlarmID, "seq", m.Seq,
		"kind", m.Kind.String(), "attempts", attempts, "status", r.status, "err", r.err, "file", w.deadLetter)
	return nil
}

func (w *Webhook) appendDeadLetter(line []byte) error {
	w.dlMu.Lock()
	defer w.dlMu.Unlock()
	if err := durable.Append(w.deadLetter, line); err != nil {
		return fmt.Errorf("dead-letter file %s: %w", w.deadLetter, err)
	}
	return nil
}

// Close drops the idle connections. It is safe to call more than once;
// Notify after Close returns an error.
func (w *Webhook) Close() error {
	if w.closed.Swap(true) {
		return nil
	}
	w.client.CloseIdleConnections()
	return nil
}

// VerifyWebhook checks a request the webhook sent, for receivers and
// tests: the X-Shouwang-Signature header must be
// "sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>", with the
// X-Shouwang-Timestamp header's value as timestamp, and that timestamp
// (unix seconds) must lie within maxSkew of now, so that a captured
// request cannot be replayed later. A receiver should also drop requests
// whose Idempotency-Key it has already taken: retries may repeat one.
func VerifyWebhook(secret []byte, header http.Header, body []byte, now time.Time, maxSkew time.Duration) error {
	ts := header.Get(webhookHeaderTimestamp)
	if ts == "" {
		return fmt.Errorf("webhook: no %s header", webhookHeaderTimestamp)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook: %s %.32q is not unix seconds", webhookHeaderTimestamp, ts)
	}
	sig := header.Get(webhookHeaderSignature)
	if sig == "" {
		return fmt.Errorf("webhook: no %s header", webhookHeaderSignature)
	}
	hexSig, ok := strings.CutPrefix(sig, webhookSignaturePrefix)
	if !ok {
		return fmt.Errorf("webhook: %s does not start with %q", webhookHeaderSignature, webhookSignaturePrefix)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("webhook: %s is not %s followed by %d hex digits", webhookHeaderSignature, webhookSignaturePrefix, 2*sha256.Size)
	}
	if !hmac.Equal(got, webhookSign(secret, ts, body)) {
		return errors.New("webhook: signature does not match (wrong secret, or the body or timestamp was altered)")
	}
	// Compared both ways rather than negated: Sub saturates, and the
	// smallest Duration has no positive counterpart.
	if skew := now.Sub(time.Unix(secs, 0)); skew > maxSkew || skew < -maxSkew {
		return fmt.Errorf("webhook: timestamp %d is %v from now, more than %v apart (a replay, or a clock is wrong)", secs, skew.Round(time.Second), maxSkew)
	}
	return nil
}
