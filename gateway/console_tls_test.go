package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang/deploy"
	"github.com/shouwang-iot/shouwang/gateway/auth"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// With tls_cert and tls_key the console is HTTPS only; its session
// cookie is Secure, a change without the CSRF token is refused, and the
// audit journal holds both tries with the user.
func TestConsoleOverTLS(t *testing.T) {
	dir := t.TempDir()
	files := testenv.WriteTLSFiles(t, dir)
	addUser(t, dir, "admin-zhao", auth.Role("admin"))
	base, _, stop := runConfig(t, deploy.Example, dir, func(c *Config) {
		c.Gateway.HTTP.TLSCert, c.Gateway.HTTP.TLSKey = files.ServerCert, files.ServerKey
	})
	defer stop()
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("base %s", base)
	}
	pem, _ := os.ReadFile(files.CA)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}

	if resp, err := http.Get("http" + strings.TrimPrefix(base, "https") + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP is served beside HTTPS")
		}
	}
	resp, err := client.Post(base+"/api/v1/session", "application/json", strings.NewReader(`{"user": "`+testUser+`", "password": "`+testPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var sess struct{ CSRF string }
	json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "shouwang_session" {
			cookie = c
		}
	}
	if resp.StatusCode != 200 || cookie == nil || !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || sess.CSRF == "" {
		t.Fatalf("login over HTTPS: %d, cookie %+v, csrf %q", resp.StatusCode, cookie, sess.CSRF)
	}
	step := func(csrf string) int {
		req, _ := http.NewRequest("POST", base+"/api/v1/alarms/999/acknowledge", strings.NewReader(`{}`))
		req.AddCookie(cookie)
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := step(""); code != http.StatusForbidden {
		t.Errorf("a step without the CSRF token: %d, want 403", code)
	}
	if code := step(sess.CSRF); code != http.StatusNotFound { // past the checks: there is no alarm 999
		t.Errorf("a step with the CSRF token: %d, want 404 from the desk", code)
	}

	req, _ := http.NewRequest("GET", base+"/api/v1/audit?user="+testUser, nil)
	req.SetBasicAuth("admin-zhao", testPassword)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var audit struct{ Entries []auth.Entry }
	json.NewDecoder(resp.Body).Decode(&audit)
	statuses := map[int]bool{}
	for _, e := range audit.Entries {
		if e.Action == "POST /api/v1/alarms/999/acknowledge" {
			statuses[e.Status] = true
		}
	}
	if resp.StatusCode != 200 || !statuses[403] || !statuses[404] {
		t.Errorf("audit %d: %+v, want both steps by %s, refused (403) and answered (404)", resp.StatusCode, audit.Entries, testUser)
	}
	req, _ = http.NewRequest("GET", base+"/api/v1/audit", nil)
	req.SetBasicAuth(testUser, testPassword)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("an operator reading the audit journal: %d, want 403", resp.StatusCode)
	}
}
