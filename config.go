package shouwang

import (
	"log/slog"
	"time"
)

// Secret is a config value that must never appear in logs or error
// messages: a token, a password. It prints as "[redacted]".
type Secret string

func (Secret) String() string { return "[redacted]" }

// LogValue keeps slog from printing the secret.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MarshalText keeps encoders (JSON, YAML) from printing the secret.
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Reveal returns the secret itself, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

// DriverEnv is what the gateway hands a driver when it builds it.
type DriverEnv struct {
	// Name is the driver instance's name in the config file.
	Name string
	// Devices are the devices placed on this driver instance.
	Devices []Device
	Logger  *slog.Logger
	// Now is the clock; drivers never call time.Now directly.
	Now func() time.Time
}

// DriverConfig is a driver's section of the config file, decoded into the
// driver's own Config type over its defaults.
type DriverConfig interface {
	// Validate reports every problem with the section and with the devices
	// placed on the driver, as FieldErrors. It is pure and fast: no I/O.
	Validate(devices []Device) error
	// NewDriver builds the driver without opening anything; the gateway
	// calls Start on it later.
	NewDriver(env DriverEnv) (Driver, error)
}

// SinkEnv is what the gateway hands a sink when it builds it.
type SinkEnv struct {
	Name string
	// Devices maps device ids to devices, so a sink can tag what it writes
	// with the device's location.
	Devices map[string]Device
	Logger  *slog.Logger
}

// SinkConfig is a sink's section of the config file.
type SinkConfig interface {
	// Validate reports every problem with the section as FieldErrors.
	Validate() error
	// NewSink builds the sink without connecting.
	NewSink(env SinkEnv) (Sink, error)
}
