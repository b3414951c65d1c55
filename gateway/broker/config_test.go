package broker

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/internal/yamlconf"
)

func validConfig() Config {
	c := DefaultConfig()
	c.UsersFile = "/var/lib/shouwang/broker-users"
	c.ACL = []ACLEntry{{Users: []string{"*"}, Publish: []string{"community/+/building/+/+/%u/#"}, Subscribe: []string{"commands/%c/#"}}}
	return c
}

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if c.Listen != "0.0.0.0:1883" || c.MaxMessageBytes != 256<<10 {
		t.Errorf("DefaultConfig() = %+v", c)
	}
	// The defaults alone lack only the users file, which the gateway fills in.
	assertFields(t, c.Validate(), "users_file")
	c.UsersFile = DefaultUsersFile("/var/lib/shouwang")
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	if c.UsersFile != "/var/lib/shouwang/broker-users" {
		t.Errorf("DefaultUsersFile = %s", c.UsersFile)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		fields []string
		says   string
	}{
		{"valid", func(*Config) {}, nil, ""},
		{"no plain listener", func(c *Config) { c.Listen = "" }, nil, ""},
		{"port 0", func(c *Config) { c.Listen = "127.0.0.1:0" }, nil, ""},
		{"every interface", func(c *Config) { c.Listen = ":1883" }, nil, ""},
		{"no acl", func(c *Config) { c.ACL = nil }, nil, ""},
		{"tls", func(c *Config) { c.TLS = TLSConfig{Listen: ":8883", Cert: "c.pem", Key: "k.pem", ClientCA: "ca.pem"} }, nil, ""},
		{"listen without port", func(c *Config) { c.Listen = "0.0.0.0" }, []string{"listen"}, `"0.0.0.0" is not host:port (e.g. 0.0.0.0:1883`},
		{"listen port too big", func(c *Config) { c.Listen = ":65536" }, []string{"listen"}, "is not host:port"},
		{"tls without files", func(c *Config) { c.TLS.Listen = ":8883" }, []string{"tls.cert", "tls.key"}, "is required with tls.listen"},
		{"tls same port", func(c *Config) { c.TLS = TLSConfig{Listen: c.Listen, Cert: "c", Key: "k"} }, []string{"tls.listen"}, "is also listen"},
		{"tls files without listen", func(c *Config) { c.TLS.ClientCA = "ca.pem" }, []string{"tls.listen"}, "is required when"},
		{"no users file", func(c *Config) { c.UsersFile = "" }, []string{"users_file"}, "<data_dir>/broker-users"},
		{"tiny messages", func(c *Config) { c.MaxMessageBytes = 100 }, []string{"max_message_bytes"}, "is 100B (want 1KiB to 256MiB"},
		{"huge messages", func(c *Config) { c.MaxMessageBytes = 1 << 30 }, []string{"max_message_bytes"}, "is 1GiB"},
		{"negative clients", func(c *Config) { c.MaxClients = -1 }, []string{"max_clients"}, "want 0 for no limit"},
		{"acl without users", func(c *Config) { c.ACL[0].Users = nil }, []string{"acl[0].users"}, `"*" for every user`},
		{"acl bad user", func(c *Config) { c.ACL[0].Users = []string{"ok", "a/b"} }, []string{"acl[0].users[1]"}, `holds '/'`},
		{"acl grants nothing", func(c *Config) { c.ACL[0].Publish, c.ACL[0].Subscribe = nil, nil }, []string{"acl[0]"}, "grants nothing"},
		{"hash not last", func(c *Config) { c.ACL[0].Publish = []string{"a/#/b"} }, []string{"acl[0].publish[0]"}, `"a/#/b" has # before the last level`},
		{"plus in a level", func(c *Config) { c.ACL[0].Subscribe = []string{"a/b+"} }, []string{"acl[0].subscribe[0]"}, "wildcards are whole segments"},
		{"partial %u", func(c *Config) {
			c.ACL = append(c.ACL, ACLEntry{Users: []string{"x"}, Publish: []string{"ok/#", "dev-%u/#"}})
		}, []string{"acl[1].publish[1]"}, "%u or %c inside a level"},
		{"empty filter", func(c *Config) { c.ACL[0].Subscribe = []string{""} }, []string{"acl[0].subscribe[0]"}, "is empty"},
		{"shared filter", func(c *Config) { c.ACL[0].Subscribe = []string{"$share/g/a/#"} }, []string{"acl[0].subscribe[0]"}, "shared subscription"},
		{"nul", func(c *Config) { c.ACL[0].Publish = []string{"a\x00b"} }, []string{"acl[0].publish[0]"}, "without NUL"},
		{"everything wrong", func(c *Config) {
			*c = Config{Listen: "x", TLS: TLSConfig{Key: "k"}, ACL: []ACLEntry{{}}, MaxClients: -2}
		}, []string{"listen", "tls.listen", "users_file", "acl[0].users", "acl[0]", "max_message_bytes", "max_clients"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.modify(&c)
			err := c.Validate()
			assertFields(t, err, tc.fields...)
			if err != nil && !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
		})
	}
}

func assertFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	if len(fields) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var fe shouwang.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not FieldErrors; want fields %v", err, err, fields)
	}
	if got := fe.Fields(); !slices.Equal(got, fields) {
		t.Fatalf("fields %v, want %v (%v)", got, fields, err)
	}
}

// TestSample decodes sample.yaml with the gateway's strict decoder (no
// unknown keys) and validates it.
func TestSample(t *testing.T) {
	doc, err := yamlconf.Parse("sample.yaml", Sample)
	if err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	if errs := doc.Decode("broker", &c); errs != nil {
		t.Fatal(errs)
	}
	if c.UsersFile == "" {
		c.UsersFile = DefaultUsersFile("/var/lib/shouwang")
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.TLS.Listen != "0.0.0.0:8883" || len(c.ACL) != 2 || c.ACL[1].Users[0] != "console" || c.MaxClients != 500 {
		t.Errorf("sample decoded as %+v", c)
	}
}
