package sim

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// Config is the sim driver's section of the config file.
type Config struct {
	// Interval is how often every device reports. Default 1s.
	Interval time.Duration `yaml:"interval"`
	// Seed makes the noise deterministic: the same seed and the same step
	// times give the same batches. Default 1.
	Seed int64 `yaml:"seed"`
	// Incidents are scripted in time since the driver started.
	Incidents []Incident `yaml:"incidents"`
	// Load is an optional load generator for benchmarks; off by default.
	Load Load `yaml:"load"`
}

// Load configures the load generator: synthetic devices load-0000,
// load-0001, ... that report the point "seq" with a global sequence number
// 1, 2, 3, ... as its value, so a test can check that every acknowledged
// number reached the store. It needs no devices placed on the driver.
type Load struct {
	// Rate is the readings per second in total; 0 = off (the default).
	Rate int `yaml:"rate"`
	// Devices is how many synthetic devices share the readings, round
	// robin. Default 100.
	Devices int `yaml:"devices"`
	// Batch is the readings per Publish. Default 100, at most MaxLoadBatch.
	Batch int `yaml:"batch"`
	// LogAcks logs every acknowledged publish at Info: msg "acknowledged"
	// with first and last, the batch's first and last sequence numbers.
	LogAcks bool `yaml:"log_acks"`
	// Limit stops the generator after this many readings; 0 = no limit.
	Limit int64 `yaml:"limit"`
}

// MaxLoadBatch is the largest Load.Batch.
const MaxLoadBatch = 10000

// Incident is one scripted event on one device.
type Incident struct {
	// Kind is one of the Kind constants.
	Kind string `yaml:"kind"`
	// Device is the id of a device placed on this driver.
	Device string `yaml:"device"`
	// At is when the incident starts, after the driver starts.
	At time.Duration `yaml:"at"`
	// For is how long it lasts; 0 means until the driver stops.
	For time.Duration `yaml:"for"`
	// Peak is the level the incident drives the device to, in the device's
	// unit: %LEL for gas_leak, ppm for co_buildup, dB/m for smoke, and the
	// battery % it drops to for low_battery. 0 means the kind's default
	// (DefaultPeak); fault and offline take no peak.
	Peak float64 `yaml:"peak"`
	// Rise is the time constant of a gas leak's, CO build-up's or smoke's
	// approach to Peak (63 % of it after Rise, 90 % after 2.3·Rise); 0
	// means the kind's own (3m for gas, 4m for CO, 1m for smoke).
	Rise time.Duration `yaml:"rise"`
	// Fall is the time constant of its decay once it ends (37 % left after
	// Fall); 0 means the kind's own (4m for gas, 6m for CO, 90s for smoke).
	Fall time.Duration `yaml:"fall"`
}

// Incident kinds.
const (
	// KindGasLeak makes a gas detector's reading rise towards Peak %LEL.
	KindGasLeak = "gas_leak"
	// KindCOBuildup makes a CO alarm's reading rise towards Peak ppm.
	KindCOBuildup = "co_buildup"
	// KindSmoke makes a smoke detector's density rise towards Peak dB/m.
	KindSmoke = "smoke"
	// KindFault emits a "fault" event and marks readings Bad.
	KindFault = "fault"
	// KindOffline silences the device.
	KindOffline = "offline"
	// KindLowBattery drops the battery to Peak % and emits "low_battery".
	KindLowBattery = "low_battery"
)

// Device types the simulator can simulate.
const (
	TypeGas   = "gas"
	TypeCO    = "co"
	TypeSmoke = "smoke"
)

var (
	kinds       = []string{KindGasLeak, KindCOBuildup, KindSmoke, KindFault, KindOffline, KindLowBattery}
	deviceTypes = []string{TypeGas, TypeCO, TypeSmoke}
	// kindNeeds is the device type a kind applies to; kinds not listed
	// apply to any device.
	kindNeeds = map[string]string{KindGasLeak: TypeGas, KindCOBuildup: TypeCO, KindSmoke: TypeSmoke}
)

// hazardFor is the kind that needs device type typ (kindNeeds read
// backwards), for error messages.
func hazardFor(typ string) string {
	for k, t := range kindNeeds {
		if t == typ {
			return k
		}
	}
	return ""
}

// DefaultConfig returns the defaults the config file is decoded over.
func DefaultConfig() Config {
	return Config{Interval: time.Second, Seed: 1, Load: Load{Devices: 100, Batch: 100}}
}

// DefaultPeak is the peak an incident of the kind uses when Peak is 0:
// 40 %LEL for a gas leak (above GB/T 50493's 25 %LEL first alarm level),
// 300 ppm for a CO build-up (EN 50291 expects an alarm within 3 min),
// 0.5 dB/m for smoke (well above the detector's 0.15 dB/m alarm level),
// 10 % for a low battery, and 0 for kinds that take no peak.
func DefaultPeak(kind string) float64 {
	switch kind {
	case KindGasLeak:
		return 40
	case KindCOBuildup:
		return 300
	case KindSmoke:
		return 0.5
	case KindLowBattery:
		return 10
	}
	return 0
}

// Validate reports every problem with the section and with the devices
// placed on the driver, as shouwang.FieldErrors. Problems with a device
// itself carry the field `devices["<id>"].type`. It does no I/O.
func (c *Config) Validate(devices []shouwang.Device, _ map[string]shouwang.ModelConfig) error {
	var errs shouwang.FieldErrors
	if c.Interval <= 0 {
		errs.Add("interval", "must be positive, got %s (e.g. 1s)", c.Interval)
	}
	byID := make(map[string]shouwang.Device, len(devices))
	for _, d := range devices {
		byID[d.ID] = d
		if !slices.Contains(deviceTypes, d.Type) {
			errs.Add(fmt.Sprintf("devices[%q].type", d.ID), "type %q cannot be simulated (valid: %s)",
				d.Type, strings.Join(deviceTypes, ", "))
		}
	}
	for i, in := range c.Incidents {
		f := fmt.Sprintf("incidents[%d].", i)
		kindOK := slices.Contains(kinds, in.Kind)
		switch {
		case in.Kind == "":
			errs.Add(f+"kind", "missing (valid: %s)", strings.Join(kinds, ", "))
		case !kindOK:
			errs.Add(f+"kind", "unknown kind %q (valid: %s)", in.Kind, strings.Join(kinds, ", "))
		}
		d, onDriver := byID[in.Device]
		switch {
		case in.Device == "":
			errs.Add(f+"device", "missing (%s)", someIDs(devices))
		case !onDriver:
			errs.Add(f+"device", "device %q is not on this driver (%s)", in.Device, someIDs(devices))
		case kindOK && kindNeeds[in.Kind] != "" && slices.Contains(deviceTypes, d.Type) && kindNeeds[in.Kind] != d.Type:
			errs.Add(f+"kind", "%s does not fit device %q of type %s (valid for it: %s, %s, %s, %s)",
				in.Kind, d.ID, d.Type, hazardFor(d.Type), KindFault, KindOffline, KindLowBattery)
		}
		if in.At < 0 {
			errs.Add(f+"at", "must not be negative, got %s (time after the driver starts, e.g. 2m)", in.At)
		}
		if in.For < 0 {
			errs.Add(f+"for", "must not be negative, got %s (0 lasts until the driver stops)", in.For)
		}
		if _, hazard := curves[in.Kind]; in.Rise < 0 || in.Rise > 0 && !hazard {
			errs.Add(f+"rise", "must be a positive duration for %s, %s or %s (e.g. 1m; 0 = the kind's own), got %s for %s",
				KindGasLeak, KindCOBuildup, KindSmoke, in.Rise, in.Kind)
		}
		if _, hazard := curves[in.Kind]; in.Fall < 0 || in.Fall > 0 && !hazard {
			errs.Add(f+"fall", "must be a positive duration for %s, %s or %s (e.g. 1m; 0 = the kind's own), got %s for %s",
				KindGasLeak, KindCOBuildup, KindSmoke, in.Fall, in.Kind)
		}
		if kindOK {
			if problem := peakProblem(in.Kind, in.Peak); problem != "" {
				errs.Add(f+"peak", "%s", problem)
			}
		}
	}
	c.Load.validate(&errs)
	return errs.Err()
}

// validate adds the load section's problems to errs, under "load.".
func (l *Load) validate(errs *shouwang.FieldErrors) {
	if l.Rate < 0 {
		errs.Add("load.rate", "must not be negative, got %d (readings per second in total, e.g. 10000; 0 = off)", l.Rate)
	}
	if l.Rate > 0 && l.Devices < 1 {
		errs.Add("load.devices", "must be at least 1 when rate is set, got %d (number of synthetic devices; default 100)", l.Devices)
	}
	if l.Batch < 1 || l.Batch > MaxLoadBatch {
		errs.Add("load.batch", "must be within 1-%d, got %d (readings per publish; default 100)", MaxLoadBatch, l.Batch)
	}
	if l.Limit < 0 {
		errs.Add("load.limit", "must not be negative, got %d (readings to generate before stopping; 0 = no limit)", l.Limit)
	}
}

// peakProblem says what is wrong with a peak for a kind, or "".
func peakProblem(kind string, peak float64) string {
	if math.IsNaN(peak) || math.IsInf(peak, 0) {
		return fmt.Sprintf("must be a finite number, got %v (0 = default %g)", peak, DefaultPeak(kind))
	}
	switch kind {
	case KindFault, KindOffline:
		if peak != 0 {
			return fmt.Sprintf("%s takes no peak, got %g (leave it out)", kind, peak)
		}
	case KindGasLeak:
		if peak < 0 || peak > 100 {
			return fmt.Sprintf("must be within 0-100 %%LEL, got %g (0 = default %g)", peak, DefaultPeak(kind))
		}
	case KindLowBattery:
		if peak < 0 || peak > 100 {
			return fmt.Sprintf("must be a battery level within 0-100 %%, got %g (0 = default %g)", peak, DefaultPeak(kind))
		}
	default:
		if peak < 0 {
			return fmt.Sprintf("must not be negative, got %g (0 = default %g)", peak, DefaultPeak(kind))
		}
	}
	return ""
}

// someIDs names a few of the devices, for error messages.
func someIDs(devices []shouwang.Device) string {
	const few = 5
	if len(devices) == 0 {
		return "no devices are placed on this driver"
	}
	ids := make([]string, 0, few)
	for _, d := range devices[:min(len(devices), few)] {
		ids = append(ids, d.ID)
	}
	s := "devices on it: " + strings.Join(ids, ", ")
	if len(devices) > few {
		s += fmt.Sprintf(" and %d more", len(devices)-few)
	}
	return s
}

// NewDriver validates the section against env.Devices and builds the
// driver without starting anything. A nil env.Logger discards logs and a
// nil env.Now falls back to the wall clock.
func (c *Config) NewDriver(env shouwang.DriverEnv) (shouwang.Driver, error) {
	if err := c.Validate(env.Devices, nil); err != nil {
		return nil, fmt.Errorf("sim driver %q: %w", env.Name, err)
	}
	return newDriver(*c, env), nil
}
