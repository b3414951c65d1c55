package shouwang

import (
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"strconv"
	"strings"
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
	// Models holds the driver's section of each of those devices'
	// profiles, by profile model (see ModelConfig).
	Models map[string]ModelConfig
	Logger *slog.Logger
	// Now is the clock; drivers never call time.Now directly.
	Now func() time.Time
	// Dir is a directory the driver may keep files in
	// (<data_dir>/drivers/<name>); the driver creates it when it needs it.
	Dir string
}

// EvidenceKeeper is a driver that keeps files its events point to (a
// camera's snapshots). The gateway serves them, read only, under
// /api/v1/evidence/<driver>/<name>.
type EvidenceKeeper interface {
	Evidence() fs.FS
}

// RawKeeper is a driver that keeps what each device last sent before it
// was decoded (a point's registers, say), so that the installer can hold
// a reading against it on the console's device page.
type RawKeeper interface {
	// Raw gives the device's points in their raw form, e.g. "0x00FA
	// 0x0001"; nil for a device the driver does not have or has not read.
	Raw(device string) map[string]string
}

// ModelConfig is the part of a device profile that belongs to one driver
// type, under a key named for it: a Modbus register map under "modbus:".
// A driver whose devices need one says so when it registers; the gateway
// decodes each profile's section into the driver's own type, validates it
// with the profile, and hands the driver those of its devices' profiles.
type ModelConfig interface {
	// Validate reports every problem with the section as FieldErrors.
	Validate() error
}

// DriverConfig is a driver's section of the config file, decoded into the
// driver's own Config type over its defaults.
type DriverConfig interface {
	// Validate reports every problem with the section and with the devices
	// placed on the driver, as FieldErrors; a device's problem is named
	// devices["<id>"].field. models are the driver's sections of those
	// devices' profiles, already valid on their own (nil for drivers that
	// need none). It is pure and fast: no I/O.
	Validate(devices []Device, models map[string]ModelConfig) error
	// NewDriver builds the driver without opening anything; the gateway
	// calls Start on it later.
	NewDriver(env DriverEnv) (Driver, error)
}

// SinkEnv is what the gateway hands a sink when it builds it.
type SinkEnv struct {
	Name string
	// Gateway is the gateway's own name (gateway.name), which identifies
	// it upstream: a sink may put it in topics or a client id.
	Gateway string
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

// ByteSize is a size in bytes that config files write as "512MiB", "1GB"
// or a plain number of bytes.
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// UnmarshalText parses "64MiB", "1.5GB", "4096".
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f*float64(mult) > math.MaxInt64/2 {
		return fmt.Errorf("%q is not a size (want a number with an optional unit: B, KB, MB, GB, KiB, MiB, GiB, e.g. 512MiB)", text)
	}
	*b = ByteSize(f * float64(mult))
	return nil
}

func (b ByteSize) String() string {
	for i := 3; i >= 0; i-- { // TiB down to KiB: the largest unit that divides exactly
		if u := byteUnits[i]; b >= ByteSize(u.mult) && b%ByteSize(u.mult) == 0 {
			return strconv.FormatInt(int64(b)/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}
