package influxdb

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if c.Timeout != 10*time.Second || !c.Gzip {
		t.Errorf("DefaultConfig() = %+v", c)
	}
	// The defaults alone say what is still missing, and nothing else.
	assertFieldErrors(t, c.Validate(), "url", "org", "bucket")
	good := testConfig("https://influx.example:8086")
	if err := good.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		fields []string // the FieldErrors expected, in order
		says   string   // part of the message
	}{
		{"path prefix is fine", func(c *Config) { c.URL = "http://127.0.0.1:8428/influx/" }, nil, ""},
		{"no token is fine", func(c *Config) { c.Token = "" }, nil, ""},
		{"gzip off is fine", func(c *Config) { c.Gzip = false }, nil, ""},
		{"no url", func(c *Config) { c.URL = "" }, []string{"url"}, "is required"},
		{"bad url", func(c *Config) { c.URL = "http://[::1" }, []string{"url"}, "does not parse"},
		{"no scheme", func(c *Config) { c.URL = "influx:8086" }, []string{"url"}, `scheme "influx" is not supported (want http:// or https://)`},
		{"udp", func(c *Config) { c.URL = "udp://influx:8089" }, []string{"url"}, "want http:// or https://"},
		{"no host", func(c *Config) { c.URL = "http:///api" }, []string{"url"}, "has no host"},
		{"user and password", func(c *Config) { c.URL = "http://admin:hunter2@influx:8086" }, []string{"url"}, "put the API token in token"},
		{"query", func(c *Config) { c.URL = "http://influx:8086?org=x" }, []string{"url"}, "has a query"},
		{"blank org", func(c *Config) { c.Org = " " }, []string{"org"}, "is required"},
		{"no bucket", func(c *Config) { c.Bucket = "" }, []string{"bucket"}, "is required"},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, []string{"timeout"}, "want a positive duration"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, []string{"timeout"}, "is -1s"},
		{"everything wrong", func(c *Config) { *c = Config{URL: "ftp://x"} }, []string{"url", "org", "bucket", "timeout"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig("http://influx:8086")
			tc.modify(&c)
			err := c.Validate()
			assertFieldErrors(t, err, tc.fields...)
			if err != nil && !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			if err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), testToken)) {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func assertFieldErrors(t *testing.T, err error, fields ...string) {
	t.Helper()
	var fe shouwang.FieldErrors
	errors.As(err, &fe)
	if got := fe.Fields(); !slices.Equal(got, fields) || err != nil && fe == nil {
		t.Errorf("fields %v, want %v (error: %v)", got, fields, err)
	}
}

func TestNewSink(t *testing.T) {
	bad := Config{URL: "http://influx:8086"}
	_, err := bad.NewSink(shouwang.SinkEnv{Name: "tsdb"})
	var fe shouwang.FieldErrors
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), `influxdb sink "tsdb"`) {
		t.Errorf("NewSink on a bad config: %v", err)
	}
	// Building opens nothing: the address need not exist.
	good := testConfig("http://127.0.0.1:1")
	s, err := good.NewSink(shouwang.SinkEnv{Name: "tsdb"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The config never prints its token.
	if strings.Contains(fmt.Sprintf("%v %+v", good, good), testToken) {
		t.Error("config prints its token")
	}
}
