// Package mqttconn is how the gateway's MQTT clients (the ingest driver,
// the uplink sink, the alarm notifier) reach a broker: one config section,
// checked the same way, and paho options built from it. The drivers that
// subscribe (mqtt, camera) also share Session, a persistent session whose
// messages they acknowledge themselves, and TopicPattern, the filters
// with named captures they subscribe to.
package mqttconn

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/shouwang-iot/shouwang"
)

// Broker says which broker a client connects to and as whom. It is
// inlined into each client's config section.
type Broker struct {
	// URL is tcp://host:1883, ssl://host:8883 (also mqtt://, mqtts://,
	// ws://, wss://). Empty means the gateway's embedded broker, where
	// the client allows it; the gateway then fills in the address and
	// its own credentials.
	URL string `yaml:"broker"`
	// ClientID names the gateway to the broker (its ACLs, its logs, a
	// persistent session); it must be unique there.
	ClientID string          `yaml:"client_id"`
	Username string          `yaml:"username"`
	Password shouwang.Secret `yaml:"password"`
	// CA verifies the broker's certificate (PEM); Cert and Key are the
	// gateway's client certificate, when the broker asks for one.
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Client is a config section that holds a Broker. The gateway fills in
// the embedded broker's address and credentials for those that leave
// URL empty.
type Client interface {
	// MQTTBroker returns the section's broker, or nil when this
	// instance uses none (a camera driver fed over HTTP only).
	MQTTBroker() *Broker
}

var schemes = []string{"tcp", "ssl", "tls", "mqtt", "mqtts", "ws", "wss"}

// Embedded reports whether b names no broker (the gateway's own).
func (b *Broker) Embedded() bool { return b.URL == "" }

// Validate adds every problem to fe. embeddedOK says whether an empty URL
// (the embedded broker) is allowed; with it, credentials and TLS files
// must be left out, since the gateway supplies its own.
func (b *Broker) Validate(fe *shouwang.FieldErrors, embeddedOK bool) {
	switch u, err := url.Parse(b.URL); {
	case b.URL == "" && embeddedOK:
		if b.Username != "" || b.Password != "" || b.CA != "" || b.Cert != "" || b.Key != "" {
			fe.Add("broker", "is empty, which means the embedded broker; username, password, ca, cert and key belong to an external broker (name it, e.g. ssl://broker:8883)")
		}
		return
	case b.URL == "":
		fe.Add("broker", "is required (e.g. tcp://127.0.0.1:1883 or ssl://broker:8883)")
	case err != nil || u.Host == "":
		fe.Add("broker", "is not a broker address (want scheme://host:port, e.g. tcp://127.0.0.1:1883)")
	case u.User != nil:
		fe.Add("broker", "must not hold a user or password (use username and password)")
	case !slices.Contains(schemes, u.Scheme):
		fe.Add("broker", "scheme %q is not supported (valid: %s)", u.Scheme, strings.Join(schemes, ", "))
	}
	if (b.Cert == "") != (b.Key == "") {
		fe.Add("cert", "cert and key go together (the client certificate and its private key, PEM files)")
	}
	if b.Password != "" && b.Username == "" {
		fe.Add("username", "is required when a password is set")
	}
}

// Options returns paho options for b: broker, client id, credentials and
// TLS. It reads the certificate files.
func (b *Broker) Options() (*paho.ClientOptions, error) {
	opts := paho.NewClientOptions().AddBroker(b.URL).SetClientID(b.ClientID)
	if u, err := url.Parse(b.URL); err == nil {
		if dial := bufferedDial(u.Scheme); dial != nil {
			opts.SetCustomOpenConnectionFn(dial)
		}
	}
	if b.Username != "" {
		opts.SetUsername(b.Username).SetPassword(b.Password.Reveal())
	}
	if b.CA != "" || b.Cert != "" {
		tc, err := b.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts.SetTLSConfig(tc)
	}
	return opts, nil
}

func (b *Broker) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if b.CA != "" {
		pool, err := CertPool(b.CA)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		tc.RootCAs = pool
	}
	if b.Cert != "" {
		cert, err := tls.LoadX509KeyPair(b.Cert, b.Key)
		if err != nil {
			return nil, fmt.Errorf("cert/key: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// CertPool reads the PEM certificates of a CA file, for either end of an
// MQTT connection over TLS.
func CertPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// NoStore is a paho store that keeps nothing. The gateway's clients keep
// what is not yet acknowledged elsewhere (the outbox, the alarm journal,
// the broker's session); paho's resume of stored messages after a
// reconnect also races with a publish made right then (it sets DUP on
// the packet being written).
type NoStore struct{}

func (NoStore) Open()                             {}
func (NoStore) Put(string, packets.ControlPacket) {}
func (NoStore) Get(string) packets.ControlPacket  { return nil }
func (NoStore) All() []string                     { return nil }
func (NoStore) Del(string)                        {}
func (NoStore) Close()                            {}
func (NoStore) Reset()                            {}
