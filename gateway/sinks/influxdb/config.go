package influxdb

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// Config is the sink's section of the config file.
type Config struct {
	// URL is the base address of InfluxDB 2.x/3.x, or of anything else that
	// takes the InfluxDB v2 write API (VictoriaMetrics, Telegraf's
	// influxdb_v2_listener): "http(s)://host:port", optionally with a path
	// prefix when behind a reverse proxy. The sink posts to
	// URL + "/api/v2/write".
	URL string `yaml:"url"`
	// Token is sent as "Authorization: Token <token>". Leave it empty for
	// a store without authentication.
	Token shouwang.Secret `yaml:"token"`
	// Org and Bucket name where the data goes (InfluxDB 3: any org, the
	// database as bucket).
	Org    string `yaml:"org"`
	Bucket string `yaml:"bucket"`
	// Timeout bounds each HTTP request, from connecting to reading the
	// response.
	Timeout time.Duration `yaml:"timeout"`
	// Gzip compresses request bodies (Content-Encoding: gzip).
	Gzip bool `yaml:"gzip"`
}

// DefaultConfig is the one place the sink's defaults live.
func DefaultConfig() Config {
	return Config{
		Timeout: 10 * time.Second,
		Gzip:    true,
	}
}

// Validate reports every problem with the config as shouwang.FieldErrors.
// It does no I/O.
func (c *Config) Validate() error {
	var fe shouwang.FieldErrors
	// The URL is echoed only once it is known to hold no user, password or
	// query, any of which may carry a secret.
	switch u, err := url.Parse(c.URL); {
	case c.URL == "":
		fe.Add("url", "is required (the store's base URL, e.g. http://127.0.0.1:8086)")
	case err != nil:
		fe.Add("url", "does not parse: %v (want http(s)://host:port)", unwrapURLError(err))
	case u.User != nil:
		fe.Add("url", "must not hold a user or password (put the API token in token)")
	case u.RawQuery != "" || u.Fragment != "":
		fe.Add("url", "has a query or fragment (want only http(s)://host:port[/path]; org, bucket and token have their own keys)")
	case u.Scheme != "http" && u.Scheme != "https":
		fe.Add("url", "scheme %q is not supported (want http:// or https://)", u.Scheme)
	case u.Host == "":
		fe.Add("url", "%q has no host (want http(s)://host:port)", c.URL)
	}
	if strings.TrimSpace(c.Org) == "" {
		fe.Add("org", "is required (the InfluxDB organization name; any non-empty name for VictoriaMetrics or InfluxDB 3)")
	}
	if strings.TrimSpace(c.Bucket) == "" {
		fe.Add("bucket", "is required (the bucket to write to; the database name for InfluxDB 3)")
	}
	if c.Timeout <= 0 {
		fe.Add("timeout", "is %v (want a positive duration, e.g. 10s)", c.Timeout)
	}
	return fe.Err()
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// NewSink builds the sink and its HTTP client. It opens no connection;
// the first Write does. It returns the config's FieldErrors if the config
// is invalid.
func (c *Config) NewSink(env shouwang.SinkEnv) (shouwang.Sink, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("influxdb sink %q: invalid configuration: %w", env.Name, err)
	}
	return newSink(*c, env), nil
}

var (
	_ shouwang.SinkConfig = (*Config)(nil)
	_ shouwang.Sink       = (*Sink)(nil)
)
