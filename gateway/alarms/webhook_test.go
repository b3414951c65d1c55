package alarms

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/rules"
)

const (
	whSecret = "0123456789abcdef-police-room"
	whPath   = "/hooks/shouwang"
	whQuery  = "token=q-s3cret" // sent, never shown
)

// whNow is the webhook's clock in these tests: a whole second, as HTTP
// dates are.
var whNow = time.Date(2026, 11, 24, 8, 30, 0, 0, time.UTC)

func whMessage() Message {
	return Message{
		Transition: rules.Transition{AlarmID: 42, Seq: 3, Kind: rules.KindEscalated, Time: whNow.Add(-time.Minute),
			Rule: "kitchen-gas", Device: "gas-1202", Severity: shouwang.Alarm, Peak: shouwang.Alarm, Level: "high",
			Point: "gas", Value: 31.5, Active: true, Escalation: 2, Announce: true},
		DeviceName: "1202 厨房燃气", DeviceType: "gas",
		Location: shouwang.Location{Community: "sunshine", Building: "3号楼", Unit: "2单元", Floor: 12, Room: "1202", Grid: "g-07"},
		Links:    links(42),
	}
}

// whResponse is one answer of the test receiver.
type whResponse struct {
	status int
	header map[string]string
	body   string
}

// whRequest is what the test receiver was sent.
type whRequest struct {
	header http.Header
	query  string
	body   []byte
}

// whReceiver is a real HTTP peer that gives its answers in turn, the last
// one from then on, and records every request.
type whReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	answers []whResponse
	reqs    []whRequest
}

func mustWHReceiver(t *testing.T, answers ...whResponse) *whReceiver {
	t.Helper()
	rc := &whReceiver{answers: answers}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("receiver: reading the body: %v", err)
		}
		if r.Method != http.MethodPost || r.URL.Path != whPath {
			t.Errorf("receiver: %s %s, want POST %s", r.Method, r.URL.Path, whPath)
		}
		rc.mu.Lock()
		a := rc.answers[min(len(rc.reqs), len(rc.answers)-1)]
		rc.reqs = append(rc.reqs, whRequest{header: r.Header.Clone(), query: r.URL.RawQuery, body: body})
		rc.mu.Unlock()
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *whReceiver) requests() []whRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.reqs)
}

// whSleeper records the webhook's waits and returns at once; onWait, if
// set, runs first (to cancel the context mid-wait).
type whSleeper struct {
	mu     sync.Mutex
	waits  []time.Duration
	onWait func()
}

func (s *whSleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	if s.onWait != nil {
		s.onWait()
	}
	return ctx.Err()
}

func (s *whSleeper) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

// whConfig is a valid config for a receiver at base, its dead-letter
// file in dir.
func whConfig(base, dir string) WebhookConfig {
	c := DefaultWebhookConfig()
	c.Name = "police-room"
	c.URL = base + whPath + "?" + whQuery
	c.Secret = whSecret
	c.DeadLetter = filepath.Join(dir, "notify", "police-room.deadletter.jsonl")
	c.Attempts, c.MaxBackoff = 6, time.Minute // the cases below count on these
	return c
}

func mustWebhook(t *testing.T, c WebhookConfig, s *whSleeper) *Webhook {
	t.Helper()
	w, err := NewWebhook(c, WebhookOptions{
		Now:    func() time.Time { return whNow },
		Sleep:  s.Sleep,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatalf("NewWebhook: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// readDeadLetters parses the dead-letter file; none when it is absent.
func readDeadLetters(t *testing.T, path string) []webhookDeadLetter {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "q-s3cret") || strings.Contains(string(data), whSecret) {
		t.Errorf("dead-letter file shows a secret:\n%s", data)
	}
	var out []webhookDeadLetter
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var dl webhookDeadLetter
		if err := json.Unmarshal(sc.Bytes(), &dl); err != nil {
			t.Fatalf("dead-letter line %q: %v", sc.Text(), err)
		}
		out = append(out, dl)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Errorf("dead-letter file does not end in a newline")
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWebhookDelivery(t *testing.T) {
	s := func(n int) time.Duration { return time.Duration(n) * time.Second }
	ok := whResponse{status: http.StatusOK}
	for _, tc := range []struct {
		name     string
		answers  []whResponse
		modify   func(*WebhookConfig)
		attempts int             // requests the receiver gets
		waits    []time.Duration // the waits between them
		dead     bool            // set aside in the dead-letter file
		status   int             // the dead letter's status
		says     string          // part of the dead letter's error
	}{
		{name: "200 at once", answers: []whResponse{ok}, attempts: 1},
		{name: "204 at once", answers: []whResponse{{status: 204}}, attempts: 1},
		{name: "500 three times, then 200", answers: []whResponse{{status: 500}, {status: 500}, {status: 500}, ok},
			attempts: 4, waits: []time.Duration{s(1), s(2), s(4)}},
		{name: "429 with Retry-After 3", answers: []whResponse{{status: 429, header: map[string]string{"Retry-After": "3"}}, ok},
			attempts: 2, waits: []time.Duration{s(3)}},
		{name: "503 with Retry-After date", answers: []whResponse{{status: 503, header: map[string]string{"Retry-After": whNow.Add(30 * time.Second).Format(http.TimeFormat)}}, ok},
			attempts: 2, waits: []time.Duration{s(30)}},
		{name: "503 with Retry-After date past", answers: []whResponse{{status: 503, header: map[string]string{"Retry-After": whNow.Add(-time.Hour).Format(http.TimeFormat)}}, ok},
			attempts: 2, waits: []time.Duration{0}},
		{name: "Retry-After beyond max_backoff", answers: []whResponse{{status: 429, header: map[string]string{"Retry-After": "3600"}}, ok},
			attempts: 2, waits: []time.Duration{time.Minute}},
		{name: "Retry-After garbage backs off", answers: []whResponse{{status: 429, header: map[string]string{"Retry-After": "soon"}}, ok},
			attempts: 2, waits: []time.Duration{s(1)}},
		{name: "Retry-After on 500 is not taken", answers: []whResponse{{status: 500, header: map[string]string{"Retry-After": "30"}}, ok},
			attempts: 2, waits: []time.Duration{s(1)}},
		{name: "408 and 425 are retried", answers: []whResponse{{status: 408}, {status: 425}, ok},
			attempts: 3, waits: []time.Duration{s(1), s(2)}},
		{name: "400 goes straight to the dead letter", answers: []whResponse{{status: 400, body: "bad alarm\n  payload"}},
			attempts: 1, dead: true, status: 400, says: "HTTP 400 Bad Request: bad alarm payload"},
		{name: "401 is final", answers: []whResponse{{status: 401}},
			attempts: 1, dead: true, status: 401, says: "HTTP 401 Unauthorized"},
		{name: "redirect is final", answers: []whResponse{{status: 302, header: map[string]string{"Location": "/elsewhere"}}},
			attempts: 1, dead: true, status: 302, says: "redirects are not followed"},
		{name: "every attempt fails", answers: []whResponse{{status: 502}},
			attempts: 6, waits: []time.Duration{s(1), s(2), s(4), s(8), s(16)}, dead: true, status: 502, says: "HTTP 502 Bad Gateway"},
		{name: "waits are capped at max_backoff", answers: []whResponse{{status: 500}},
			modify:   func(c *WebhookConfig) { c.Attempts, c.MaxBackoff = 7, 5*time.Second },
			attempts: 7, waits: []time.Duration{s(1), s(2), s(4), s(5), s(5), s(5)}, dead: true, status: 500},
		{name: "one attempt only", answers: []whResponse{{status: 500}}, modify: func(c *WebhookConfig) { c.Attempts = 1 },
			attempts: 1, dead: true, status: 500},
		{name: "a long error body is cut", answers: []whResponse{{status: 422, body: strings.Repeat("火", 200)}},
			attempts: 1, dead: true, status: 422, says: strings.Repeat("火", maxWebhookExcerpt/3) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t)
			rc := mustWHReceiver(t, tc.answers...)
			c := whConfig(rc.URL, t.TempDir())
			if tc.modify != nil {
				tc.modify(&c)
			}
			sl := &whSleeper{}
			w := mustWebhook(t, c, sl)
			m := whMessage()
			if err := w.Notify(t.Context(), m); err != nil {
				t.Fatalf("Notify: %v", err)
			}

			reqs := rc.requests()
			if len(reqs) != tc.attempts {
				t.Errorf("receiver got %d requests, want %d", len(reqs), tc.attempts)
			}
			for i, r := range reqs {
				if err := VerifyWebhook([]byte(whSecret), r.header, r.body, whNow, 5*time.Minute); err != nil {
					t.Errorf("request %d: %v", i+1, err)
				}
				if got := r.header.Get("Idempotency-Key"); got != "42-3" {
					t.Errorf("request %d: Idempotency-Key %q, want 42-3", i+1, got)
				}
				if r.query != whQuery {
					t.Errorf("request %d: query %q, want %q", i+1, r.query, whQuery)
				}
			}
			if got := sl.recorded(); !slices.Equal(got, tc.waits) {
				t.Errorf("waits %v, want %v", got, tc.waits)
			}

			dls := readDeadLetters(t, c.DeadLetter)
			if !tc.dead {
				if len(dls) != 0 {
					t.Errorf("dead letters %+v, want none", dls)
				}
				return
			}
			if len(dls) != 1 {
				t.Fatalf("%d dead letters, want 1", len(dls))
			}
			dl := dls[0]
			if !dl.Time.Equal(whNow) || dl.Webhook != "police-room" || dl.URL != rc.URL+whPath ||
				dl.Attempts != tc.attempts || dl.Status != tc.status {
				t.Errorf("dead letter time %v webhook %q url %q attempts %d status %d, want %v police-room %q %d %d",
					dl.Time, dl.Webhook, dl.URL, dl.Attempts, dl.Status, whNow, rc.URL+whPath, tc.attempts, tc.status)
			}
			if !strings.Contains(dl.Error, tc.says) {
				t.Errorf("dead letter error %q does not say %q", dl.Error, tc.says)
			}
			if got, want := mustJSON(t, dl.Message), mustJSON(t, m); got != want {
				t.Errorf("dead letter message\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestWebhookRequest(t *testing.T) {
	leakcheck.Check(t)
	rc := mustWHReceiver(t, whResponse{status: http.StatusAccepted})
	w := mustWebhook(t, whConfig(rc.URL, t.TempDir()), &whSleeper{})
	m := whMessage()
	if err := w.Notify(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if got, want := string(r.body), mustJSON(t, m); got != want {
		t.Errorf("body\n%s\nwant\n%s", got, want)
	}
	for h, want := range map[string]string{
		"Content-Type":         "application/json; charset=utf-8",
		"X-Shouwang-Alarm":     "42",
		"X-Shouwang-Seq":       "3",
		"X-Shouwang-Kind":      "escalated",
		"X-Shouwang-Timestamp": strconv.FormatInt(whNow.Unix(), 10),
		"Idempotency-Key":      "42-3",
	} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if sig := r.header.Get("X-Shouwang-Signature"); !strings.HasPrefix(sig, "sha256=") || len(sig) != len("sha256=")+64 {
		t.Errorf("X-Shouwang-Signature %q, want sha256=<64 hex digits>", sig)
	}

	withHeader := func(name, value string) http.Header {
		h := r.header.Clone()
		h.Set(name, value)
		return h
	}
	for _, tc := range []struct {
		name   string
		secret string
		header http.Header
		body   []byte
		now    time.Time
		says   string // "" for valid
	}{
		{name: "as sent", secret: whSecret, header: r.header, body: r.body, now: whNow},
		{name: "receiver's clock 4m ahead", secret: whSecret, header: r.header, body: r.body, now: whNow.Add(4 * time.Minute)},
		{name: "receiver's clock 4m behind", secret: whSecret, header: r.header, body: r.body, now: whNow.Add(-4 * time.Minute)},
		{name: "wrong secret", secret: whSecret + "x", header: r.header, body: r.body, now: whNow, says: "does not match"},
		{name: "tampered body", secret: whSecret, header: r.header, body: bytes.Replace(r.body, []byte(`"escalation":2`), []byte(`"escalation":1`), 1),
			now: whNow, says: "does not match"},
		{name: "no body", secret: whSecret, header: r.header, now: whNow, says: "does not match"},
		{name: "tampered timestamp", secret: whSecret, header: withHeader("X-Shouwang-Timestamp", strconv.FormatInt(whNow.Unix()+1, 10)),
			body: r.body, now: whNow, says: "does not match"},
		{name: "old timestamp (a replay)", secret: whSecret, header: r.header, body: r.body, now: whNow.Add(6 * time.Minute), says: "more than 5m0s apart"},
		{name: "timestamp from the future", secret: whSecret, header: r.header, body: r.body, now: whNow.Add(-6 * time.Minute), says: "more than 5m0s apart"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyWebhook([]byte(tc.secret), tc.header, tc.body, tc.now, 5*time.Minute)
			switch {
			case tc.says == "" && err != nil:
				t.Errorf("VerifyWebhook: %v", err)
			case tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says)):
				t.Errorf("VerifyWebhook: %v, want an error saying %q", err, tc.says)
			}
		})
	}
}

func TestVerifyWebhookMalformed(t *testing.T) {
	body := []byte(`{"alarm":42}`)
	ts := strconv.FormatInt(whNow.Unix(), 10)
	good := "sha256=" + fmt.Sprintf("%x", webhookSign([]byte(whSecret), ts, body))
	for _, tc := range []struct {
		name      string
		ts, sig   string
		omitTS    bool
		omitSig   bool
		says      string
		wantValid bool
	}{
		{name: "well formed", ts: ts, sig: good, wantValid: true},
		{name: "upper-case hex", ts: ts, sig: "sha256=" + strings.ToUpper(good[len("sha256="):]), wantValid: true},
		{name: "no timestamp", omitTS: true, sig: good, says: "no X-Shouwang-Timestamp header"},
		{name: "empty timestamp", ts: "", sig: good, says: "no X-Shouwang-Timestamp header"},
		{name: "timestamp not a number", ts: "yesterday", sig: good, says: "is not unix seconds"},
		{name: "timestamp with a fraction", ts: ts + ".5", sig: good, says: "is not unix seconds"},
		{name: "timestamp in milliseconds", ts: ts + "000", sig: "sha256=" + fmt.Sprintf("%x", webhookSign([]byte(whSecret), ts+"000", body)), says: "more than 5m0s apart"},
		{name: "no signature", ts: ts, omitSig: true, says: "no X-Shouwang-Signature header"},
		{name: "not sha256=", ts: ts, sig: "sha1=" + good[len("sha256="):], says: `does not start with "sha256="`},
		{name: "bare hex", ts: ts, sig: good[len("sha256="):], says: `does not start with "sha256="`},
		{name: "not hex", ts: ts, sig: "sha256=" + strings.Repeat("zz", 32), says: "64 hex digits"},
		{name: "odd hex", ts: ts, sig: good[:len(good)-1], says: "64 hex digits"},
		{name: "short hex", ts: ts, sig: good[:len(good)-2], says: "64 hex digits"},
		{name: "empty hex", ts: ts, sig: "sha256=", says: "64 hex digits"},
		{name: "two signatures", ts: ts, sig: good + "," + good, says: "64 hex digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if !tc.omitTS {
				h.Set("X-Shouwang-Timestamp", tc.ts)
			}
			if !tc.omitSig {
				h.Set("X-Shouwang-Signature", tc.sig)
			}
			err := VerifyWebhook([]byte(whSecret), h, body, whNow, 5*time.Minute)
			if tc.wantValid {
				if err != nil {
					t.Errorf("VerifyWebhook: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("VerifyWebhook: %v, want an error saying %q", err, tc.says)
			}
		})
	}
}

func TestWebhookTransportError(t *testing.T) {
	leakcheck.Check(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	base := dead.URL
	dead.Close() // nobody listens there now
	c := whConfig(base, t.TempDir())
	c.Attempts = 3
	sl := &whSleeper{}
	w := mustWebhook(t, c, sl)
	if err := w.Notify(t.Context(), whMessage()); err != nil {
		t.Fatal(err)
	}
	if got, want := sl.recorded(), []time.Duration{time.Second, 2 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	dls := readDeadLetters(t, c.DeadLetter)
	if len(dls) != 1 || dls[0].Status != 0 || dls[0].Attempts != 3 || !strings.HasPrefix(dls[0].Error, "POST "+base+whPath+": ") {
		t.Errorf("dead letters %+v, want one with status 0 after 3 attempts, its error naming %s", dls, base+whPath)
	}
}

func TestWebhookTimeout(t *testing.T) {
	leakcheck.Check(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // answer only once the client has given up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	c := whConfig(srv.URL, t.TempDir())
	c.Timeout, c.Attempts = 50*time.Millisecond, 2
	sl := &whSleeper{}
	w := mustWebhook(t, c, sl)
	if err := w.Notify(t.Context(), whMessage()); err != nil {
		t.Fatal(err)
	}
	if got := sl.recorded(); len(got) != 1 {
		t.Errorf("waits %v, want one", got)
	}
	dls := readDeadLetters(t, c.DeadLetter)
	if len(dls) != 1 || dls[0].Status != 0 || !strings.Contains(dls[0].Error, "no answer within 50ms (timeout)") {
		t.Errorf("dead letters %+v, want one saying it timed out", dls)
	}
}

func TestWebhookCancelled(t *testing.T) {
	t.Run("mid-wait", func(t *testing.T) {
		leakcheck.Check(t)
		rc := mustWHReceiver(t, whResponse{status: 503})
		c := whConfig(rc.URL, t.TempDir())
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		w := mustWebhook(t, c, &whSleeper{onWait: cancel})
		if err := w.Notify(ctx, whMessage()); !errors.Is(err, context.Canceled) {
			t.Errorf("Notify: %v, want context.Canceled", err)
		}
		if n := len(rc.requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
		if _, err := os.Stat(c.DeadLetter); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("dead-letter file: %v, want none", err)
		}
	})
	t.Run("mid-request", func(t *testing.T) {
		leakcheck.Check(t)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cancel() // the gateway shuts down while the receiver thinks
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		c := whConfig(srv.URL, t.TempDir())
		sl := &whSleeper{}
		w := mustWebhook(t, c, sl)
		if err := w.Notify(ctx, whMessage()); !errors.Is(err, context.Canceled) {
			t.Errorf("Notify: %v, want context.Canceled", err)
		}
		if got := sl.recorded(); len(got) != 0 {
			t.Errorf("waits %v, want none", got)
		}
		if _, err := os.Stat(c.DeadLetter); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("dead-letter file: %v, want none", err)
		}
	})
	t.Run("before", func(t *testing.T) {
		leakcheck.Check(t)
		rc := mustWHReceiver(t, whResponse{status: 200})
		c := whConfig(rc.URL, t.TempDir())
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		w := mustWebhook(t, c, &whSleeper{})
		if err := w.Notify(ctx, whMessage()); !errors.Is(err, context.Canceled) {
			t.Errorf("Notify: %v, want context.Canceled", err)
		}
		if _, err := os.Stat(c.DeadLetter); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("dead-letter file: %v, want none", err)
		}
	})
}

func TestWebhookDeadLetterFile(t *testing.T) {
	leakcheck.Check(t)
	rc := mustWHReceiver(t, whResponse{status: 400})
	c := whConfig(rc.URL, t.TempDir())
	w := mustWebhook(t, c, &whSleeper{})
	m1, m2 := whMessage(), whMessage()
	m2.Seq, m2.Kind = 4, rules.KindAcknowledged
	for _, m := range []Message{m1, m2} {
		if err := w.Notify(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	dls := readDeadLetters(t, c.DeadLetter)
	if len(dls) != 2 || dls[0].Message.Seq != 3 || dls[1].Message.Seq != 4 || dls[1].Message.Kind != rules.KindAcknowledged {
		t.Errorf("dead letters %+v, want seq 3 then the acknowledgement, seq 4", dls)
	}
	if runtime.GOOS != "windows" {
		for path, want := range map[string]fs.FileMode{c.DeadLetter: 0o600, filepath.Dir(c.DeadLetter): 0o700 | fs.ModeDir} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != want {
				t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
			}
		}
	}
}

func TestWebhookDeadLetterFails(t *testing.T) {
	leakcheck.Check(t)
	rc := mustWHReceiver(t, whResponse{status: 400})
	dir := t.TempDir()
	blocker := filepath.Join(dir, "notify")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil { // a file where the directory should be
		t.Fatal(err)
	}
	c := whConfig(rc.URL, dir)
	w := mustWebhook(t, c, &whSleeper{})
	err := w.Notify(t.Context(), whMessage())
	if err == nil || errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "alarm 42 #3 not delivered") ||
		!strings.Contains(err.Error(), "HTTP 400") {
		t.Errorf("Notify: %v, want an error naming the alarm, the answer and the file", err)
	}
	if strings.Contains(err.Error(), "q-s3cret") {
		t.Errorf("error shows the URL's query: %v", err)
	}
}

func TestWebhookClose(t *testing.T) {
	rc := mustWHReceiver(t, whResponse{status: 200})
	// Checked before the receiver closes (cleanups run last first), which
	// would end the connections itself: Close must end them.
	leakcheck.Check(t)
	w := mustWebhook(t, whConfig(rc.URL, t.TempDir()), &whSleeper{})
	if err := w.Notify(t.Context(), whMessage()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if err := w.Notify(t.Context(), whMessage()); !errors.Is(err, errWebhookClosed) {
		t.Errorf("Notify after Close: %v, want errWebhookClosed", err)
	}
}

// TestWebhookDefaultSleep checks the timer that waits between attempts
// without making a test wait for it.
func TestWebhookDefaultSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	if err := sleep(ctx, 0); err != nil {
		t.Errorf("sleep(0): %v", err)
	}
	cancel()
	if err := sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("webhookSleep after cancel: %v, want context.Canceled", err)
	}
}

func TestDefaultWebhookConfig(t *testing.T) {
	c := DefaultWebhookConfig()
	if c.Timeout != 5*time.Second || c.Attempts != 12 || c.Backoff != time.Second || c.MaxBackoff != 5*time.Minute {
		t.Errorf("DefaultWebhookConfig() = %+v", c)
	}
	// The defaults alone say what is still missing, and nothing else.
	assertWebhookFieldErrors(t, c.Validate(), "url", "secret")
}

func TestWebhookValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*WebhookConfig)
		fields []string // the FieldErrors expected, in order
		says   string   // part of the message
	}{
		{"valid", func(*WebhookConfig) {}, nil, ""},
		{"no dead_letter is fine (the gateway fills it in)", func(c *WebhookConfig) { c.DeadLetter = "" }, nil, ""},
		{"no query or path is fine", func(c *WebhookConfig) { c.URL = "https://alarms.example.org" }, nil, ""},
		{"a Chinese name is fine", func(c *WebhookConfig) { c.Name = "派出所值班室" }, nil, ""},
		{"empty url", func(c *WebhookConfig) { c.URL = "" }, []string{"url"}, "is required"},
		{"ftp url", func(c *WebhookConfig) { c.URL = "ftp://alarms.example.org/in" }, []string{"url"}, `scheme "ftp" is not supported (want http:// or https://)`},
		{"url without scheme", func(c *WebhookConfig) { c.URL = "alarms.example.org/hook" }, []string{"url"}, `scheme "" is not supported`},
		{"url that does not parse", func(c *WebhookConfig) { c.URL = "http://[::1" }, []string{"url"}, "does not parse"},
		{"url with user and password", func(c *WebhookConfig) { c.URL = "https://admin:hunter2@alarms.example.org/hook" }, []string{"url"}, "must not hold a user or password"},
		{"url with a fragment", func(c *WebhookConfig) { c.URL = "https://alarms.example.org/hook?token=hunter2#x" }, []string{"url"}, "fragment"},
		{"url without host", func(c *WebhookConfig) { c.URL = "http:///hook?token=hunter2" }, []string{"url"}, "has no host"},
		{"no secret", func(c *WebhookConfig) { c.Secret = "" }, []string{"secret"}, "is required"},
		{"short secret", func(c *WebhookConfig) { c.Secret = "hunter2" }, []string{"secret"}, "is 7 bytes (want at least 16"},
		{"attempts 0", func(c *WebhookConfig) { c.Attempts = 0 }, []string{"attempts"}, "is 0 (want 1 or more"},
		{"negative attempts", func(c *WebhookConfig) { c.Attempts = -1 }, []string{"attempts"}, "is -1"},
		{"negative timeout", func(c *WebhookConfig) { c.Timeout = -time.Second }, []string{"timeout"}, "is -1s (want a positive duration"},
		{"zero timeout", func(c *WebhookConfig) { c.Timeout = 0 }, []string{"timeout"}, "is 0s"},
		{"zero backoff", func(c *WebhookConfig) { c.Backoff = 0 }, []string{"backoff"}, "want a positive duration"},
		{"max_backoff below backoff", func(c *WebhookConfig) { c.MaxBackoff = 500 * time.Millisecond }, []string{"max_backoff"}, "no shorter than backoff 1s"},
		{"dead_letter is a directory", func(c *WebhookConfig) { c.DeadLetter = "/var/lib/shouwang/" }, []string{"dead_letter"}, "names a directory"},
		{"bad route", func(c *WebhookConfig) { c.Route.FromLevel = -1 }, []string{"route.from_level"}, "is -1"},
		{"bad route grid", func(c *WebhookConfig) { c.Route.Grids = []string{"g-07", ""} }, []string{"route.grids"}, "entry 1 is empty"},
		{"everything wrong", func(c *WebhookConfig) {
			*c = WebhookConfig{URL: "ftp://x", Secret: "hunter2", Attempts: -3, Route: Route{FromLevel: -1}}
		}, []string{"url", "secret", "timeout", "attempts", "backoff", "max_backoff", "route.from_level"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := whConfig("https://alarms.example.org", t.TempDir())
			tc.modify(&c)
			err := c.Validate()
			assertWebhookFieldErrors(t, err, tc.fields...)
			if err != nil && !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			if err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), whSecret)) {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func TestNewWebhook(t *testing.T) {
	c := whConfig("https://alarms.example.org", t.TempDir())
	c.Secret = "hunter2"
	_, err := NewWebhook(c, WebhookOptions{})
	var fe shouwang.FieldErrors
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), `webhook "police-room": invalid configuration`) {
		t.Errorf("NewWebhook with a short secret: %v, want the FieldErrors wrapped", err)
	}
	c.Secret, c.DeadLetter = whSecret, ""
	if _, err := NewWebhook(c, WebhookOptions{}); err == nil || !strings.Contains(err.Error(), "no dead_letter file") {
		t.Errorf("NewWebhook without dead_letter: %v", err)
	}
}

func TestWebhookRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{" 3 ", 3 * time.Second, true},
		{"0", 0, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"99999999999999999999", 0, false},
		{"9999999999999", time.Duration(1<<63 - 1), true},
		{whNow.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{whNow.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{whNow.Add(90 * time.Second).Format(time.RFC850), 90 * time.Second, true},
	} {
		if got, ok := webhookRetryAfter(tc.v, whNow); got != tc.want || ok != tc.ok {
			t.Errorf("webhookRetryAfter(%q) = %v, %v; want %v, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

func TestWebhookExcerpt(t *testing.T) {
	long := strings.Repeat("a", maxWebhookExcerpt-1) + "火" // the cut splits 火
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"  bad\r\n\tpayload \n", "bad payload"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{long[:maxWebhookExcerpt], strings.Repeat("a", maxWebhookExcerpt-1) + "…"},
	} {
		if got := webhookExcerpt([]byte(tc.in)); got != tc.want {
			t.Errorf("webhookExcerpt(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func assertWebhookFieldErrors(t *testing.T, err error, fields ...string) {
	t.Helper()
	var fe shouwang.FieldErrors
	errors.As(err, &fe)
	if got := fe.Fields(); !slices.Equal(got, fields) || err != nil && fe == nil {
		t.Errorf("fields %v, want %v (error: %v)", got, fields, err)
	}
}
