package broker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang/internal/testenv"
)

func tlsClientConfig(t *testing.T, files testenv.TLSFiles, withCert bool) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(files.CA)
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}
	tc.RootCAs.AppendCertsFromPEM(pem)
	if withCert {
		cert, err := tls.LoadX509KeyPair(files.ClientCert, files.ClientKey)
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc
}

func TestTLS(t *testing.T) {
	files := testenv.WriteTLSFiles(t, t.TempDir())
	b := mustStart(t, Options{}, func(c *Config) {
		c.Listen = "" // TLS only
		c.TLS = TLSConfig{Listen: "127.0.0.1:0", Cert: files.ServerCert, Key: files.ServerKey}
	}, "dev-1", "one")
	url := b.url(listenerTLS)
	dev := mustConnect(t, client{url: url, id: "c1", user: "dev-1", pass: "one", tls: tlsClientConfig(t, files, false)})
	_, ch := subscribe(t, dev, "x")
	publish(t, dev, "x", 1)
	if got := next(t, ch); got != "x" {
		t.Errorf("got %s", got)
	}
	// TLS does not replace the password.
	refused(t, client{url: url, id: "c2", user: "dev-1", pass: "two", tls: tlsClientConfig(t, files, false)}, "TLS, wrong password")
	b.mu.Lock()
	n := len(b.lns)
	b.mu.Unlock()
	if n != 2 {
		t.Errorf("%d listeners, want internal and tls only", n)
	}
}

func TestTLSClientCertificate(t *testing.T) {
	files := testenv.WriteTLSFiles(t, t.TempDir())
	b := mustStart(t, Options{}, func(c *Config) {
		c.TLS = TLSConfig{Listen: "127.0.0.1:0", Cert: files.ServerCert, Key: files.ServerKey, ClientCA: files.CA}
	}, "dev-1", "one")
	url := b.url(listenerTLS)
	refused(t, client{url: url, id: "c1", user: "dev-1", pass: "one", tls: tlsClientConfig(t, files, false)}, "no client certificate")
	mustConnect(t, client{url: url, id: "c2", user: "dev-1", pass: "one", tls: tlsClientConfig(t, files, true)})
	// The plain listener asks for no certificate.
	mustConnect(t, client{url: b.url(listenerTCP), id: "c3", user: "dev-1", pass: "one"})
}

func TestTLSBadFiles(t *testing.T) {
	files := testenv.WriteTLSFiles(t, t.TempDir())
	for _, tc := range []struct {
		name string
		tls  TLSConfig
		says string
	}{
		{"missing key", TLSConfig{Listen: "127.0.0.1:0", Cert: files.ServerCert, Key: files.ServerKey + ".nope"}, "broker: tls: cert/key: open "},
		{"key for cert", TLSConfig{Listen: "127.0.0.1:0", Cert: files.ServerCert, Key: files.ClientKey}, "broker: tls: cert/key: "},
		{"client_ca not PEM", TLSConfig{Listen: "127.0.0.1:0", Cert: files.ServerCert, Key: files.ServerKey, ClientCA: files.ServerKey}, "holds no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Listen = "127.0.0.1:0"
			cfg.UsersFile = t.TempDir() + "/broker-users"
			cfg.TLS = tc.tls
			b, err := New(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if err := b.Start(context.Background()); err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("Start: %v, want %q", err, tc.says)
			}
		})
	}
}
