package alarms

import (
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// FuzzVerifyWebhook feeds VerifyWebhook headers a receiver may be sent by
// anyone: it must never panic, must accept only the one right signature,
// and must always accept what the webhook itself signs.
func FuzzVerifyWebhook(f *testing.F) {
	ts := strconv.FormatInt(whNow.Unix(), 10)
	body := []byte(`{"alarm":42,"seq":3}`)
	good := "sha256=" + hex.EncodeToString(webhookSign([]byte(whSecret), ts, body))
	f.Add(body, ts, good, int64(0))
	f.Add(body, ts, "sha256=", int64(0))
	f.Add([]byte{}, "", "", int64(0))
	f.Add(body, "-9223372036854775808", good, int64(-1<<63))
	f.Add(body, "9223372036854775807", good, int64(1<<63-1))
	f.Add(body, "+"+ts, "SHA256="+good[7:], int64(301))
	f.Fuzz(func(t *testing.T, body []byte, ts, sig string, offset int64) {
		now := whNow.Add(time.Duration(offset))
		h := http.Header{}
		h.Set("X-Shouwang-Timestamp", ts)
		h.Set("X-Shouwang-Signature", sig)
		err := VerifyWebhook([]byte(whSecret), h, body, now, 5*time.Minute)
		right := "sha256=" + hex.EncodeToString(webhookSign([]byte(whSecret), h.Get("X-Shouwang-Timestamp"), body))
		if err == nil {
			got, _ := hex.DecodeString(h.Get("X-Shouwang-Signature")[len("sha256="):])
			if "sha256="+hex.EncodeToString(got) != right {
				t.Fatalf("accepted signature %q for timestamp %q, want %q", sig, ts, right)
			}
			secs, _ := strconv.ParseInt(h.Get("X-Shouwang-Timestamp"), 10, 64)
			if d := now.Sub(time.Unix(secs, 0)); d > 5*time.Minute || d < -5*time.Minute {
				t.Fatalf("accepted timestamp %q, %v from now", ts, d)
			}
		}

		// What the webhook signs now always verifies.
		signed := strconv.FormatInt(now.Unix(), 10)
		h.Set("X-Shouwang-Timestamp", signed)
		h.Set("X-Shouwang-Signature", "sha256="+hex.EncodeToString(webhookSign([]byte(whSecret), signed, body)))
		if err := VerifyWebhook([]byte(whSecret), h, body, now, 5*time.Minute); err != nil {
			t.Fatalf("own signature of %q at %v: %v", body, now, err)
		}
	})
}

// FuzzWebhookRetryAfter checks that no Retry-After value makes a negative
// wait or a panic.
func FuzzWebhookRetryAfter(f *testing.F) {
	for _, v := range []string{"3", "0", "-1", "1.5", "", "soon", "99999999999999999999",
		whNow.Add(time.Minute).Format(http.TimeFormat), "Mon, 01 Jan 0001 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := webhookRetryAfter(v, whNow)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("webhookRetryAfter(%q) = %v, %v", v, d, ok)
		}
	})
}
