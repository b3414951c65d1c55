package broker

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"github.com/shouwang-iot/shouwang"
)

// Config is the gateway config's top-level broker: section. The gateway
// runs the broker when its clients name no external one.
type Config struct {
	// Listen is the plain MQTT address, host:port; empty turns it off.
	Listen string    `yaml:"listen"`
	TLS    TLSConfig `yaml:"tls"`
	// UsersFile holds the devices' credentials, one name:bcrypt-hash a
	// line. The gateway fills in DefaultUsersFile(data_dir) when it is
	// empty; `shouwang broker user add` writes it.
	UsersFile string `yaml:"users_file"`
	// ACL says what each user may publish and subscribe to. What no entry
	// allows is denied.
	ACL []ACLEntry `yaml:"acl"`
	// MaxMessageBytes bounds one MQTT packet (payload, topic and headers);
	// a client that sends a bigger one is disconnected.
	MaxMessageBytes shouwang.ByteSize `yaml:"max_message_bytes"`
	// MaxClients bounds the clients connected on the public listeners
	// (listen and tls); 0 means no limit. The gateway's own clients, on
	// the internal listener, do not count.
	MaxClients int `yaml:"max_clients"`
}

// TLSConfig is the MQTT-over-TLS listener; it is off while Listen is
// empty.
type TLSConfig struct {
	Listen string `yaml:"listen"`
	// Cert and Key are the broker's certificate chain and private key,
	// PEM files.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// ClientCA, when set, makes a client certificate signed by this CA
	// (PEM) a requirement, on top of the username and password.
	ClientCA string `yaml:"client_ca"`
}

// ACLEntry grants the users it names some topic filters. A filter may
// hold %u (the username) and %c (the client id) as whole segments.
type ACLEntry struct {
	// Users are usernames from the users file, or "*" for all of them.
	Users     []string `yaml:"users"`
	Publish   []string `yaml:"publish"`
	Subscribe []string `yaml:"subscribe"`
}

// UsersFileName is the users file's name in the gateway's data_dir.
const UsersFileName = "broker-users"

// DefaultUsersFile is where the users file is when the config does not
// say: in the gateway's data directory.
func DefaultUsersFile(dataDir string) string { return filepath.Join(dataDir, UsersFileName) }

// maxPacket is MQTT's own limit on a packet's remaining length.
const maxPacket = 268435455

// DefaultConfig is the one place the broker's defaults live.
func DefaultConfig() Config {
	return Config{
		Listen:          "0.0.0.0:1883",
		MaxMessageBytes: 256 << 10,
	}
}

// Validate reports every problem as shouwang.FieldErrors. It does no I/O:
// the certificate files are read by Start.
func (c *Config) Validate() error {
	var fe shouwang.FieldErrors
	checkAddr(&fe, "listen", c.Listen)
	t := &c.TLS
	switch {
	case t.Listen != "":
		checkAddr(&fe, "tls.listen", t.Listen)
		if _, port, _ := net.SplitHostPort(t.Listen); t.Listen == c.Listen && port != "0" { // port 0: each gets a free port
			fe.Add("tls.listen", "%q is also listen (give TLS a port of its own, e.g. 0.0.0.0:8883)", t.Listen)
		}
		if t.Cert == "" {
			fe.Add("tls.cert", "is required with tls.listen (the broker's certificate, a PEM file)")
		}
		if t.Key == "" {
			fe.Add("tls.key", "is required with tls.listen (the certificate's private key, a PEM file)")
		}
	case t.Cert != "" || t.Key != "" || t.ClientCA != "":
		fe.Add("tls.listen", "is required when tls.cert, tls.key or tls.client_ca is set (host:port, e.g. 0.0.0.0:8883)")
	}
	if c.UsersFile == "" {
		fe.Add("users_file", "is required (a path; the gateway's default is <data_dir>/%s)", UsersFileName)
	}
	for i, e := range c.ACL {
		e.validate(&fe, fmt.Sprintf("acl[%d]", i))
	}
	if c.MaxMessageBytes < 1<<10 || c.MaxMessageBytes > maxPacket {
		fe.Add("max_message_bytes", "is %s (want 1KiB to 256MiB, e.g. 256KiB)", c.MaxMessageBytes)
	}
	if c.MaxClients < 0 {
		fe.Add("max_clients", "is %d (want 0 for no limit, or a positive number)", c.MaxClients)
	}
	return fe.Err()
}

func checkAddr(fe *shouwang.FieldErrors, field, addr string) {
	if addr == "" {
		return
	}
	_, port, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil || n < 0 || n > 65535 {
		fe.Add(field, "%q is not host:port (e.g. 0.0.0.0:1883, or 127.0.0.1:1883 for this machine only)", addr)
	}
}

func (e *ACLEntry) validate(fe *shouwang.FieldErrors, at string) {
	if len(e.Users) == 0 {
		fe.Add(at+".users", `is empty (list usernames, or "*" for every user)`)
	}
	for i, u := range e.Users {
		if u == "*" {
			continue
		}
		if err := ValidUserName(u); err != nil {
			fe.Add(fmt.Sprintf("%s.users[%d]", at, i), `%v (or "*" for every user)`, err)
		}
	}
	if len(e.Publish) == 0 && len(e.Subscribe) == 0 {
		fe.Add(at, "grants nothing (want publish or subscribe filters, e.g. publish: [community/+/building/+/+/%%u/#])")
	}
	for i, f := range e.Publish {
		if err := checkFilter(f); err != nil {
			fe.Add(fmt.Sprintf("%s.publish[%d]", at, i), "%q %v", f, err)
		}
	}
	for i, f := range e.Subscribe {
		if err := checkFilter(f); err != nil {
			fe.Add(fmt.Sprintf("%s.subscribe[%d]", at, i), "%q %v", f, err)
		}
	}
}
