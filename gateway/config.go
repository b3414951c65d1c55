package gateway

import (
	"time"

	"github.com/shouwang-iot/shouwang/gateway/auth"
	"github.com/shouwang-iot/shouwang/gateway/broker"
	"github.com/shouwang-iot/shouwang/gateway/bus"
	"github.com/shouwang-iot/shouwang/gateway/grading"
	"github.com/shouwang-iot/shouwang/gateway/internal/yamlconf"
	"github.com/shouwang-iot/shouwang/gateway/outbox"
	"github.com/shouwang-iot/shouwang/gateway/store"
	"github.com/shouwang-iot/shouwang/rules"
)

// Config is the one config file, as written. Load turns it into a Plan.
type Config struct {
	Gateway GatewayConfig `yaml:"gateway"`
	// Sites are the communities this gateway serves, with their buildings.
	Sites []SiteConfig `yaml:"sites"`
	// Devices are placed in the building map and name the driver that
	// reads them.
	Devices []DeviceConfig `yaml:"devices"`
	// Drivers and Sinks are plugin sections: "name" and "type" pick the
	// module, the other keys belong to the module's own Config.
	Drivers []yamlconf.Raw `yaml:"drivers"`
	Sinks   []yamlconf.Raw `yaml:"sinks"`
	// Rules turn readings and events into alarms; Alarms says how the
	// alarms are handled (escalation, shelving, chattering).
	Rules  []rules.Rule      `yaml:"rules"`
	Alarms rules.AlarmConfig `yaml:"alarms"`
	Notify NotifyConfig      `yaml:"notify"`
	Outbox outbox.Config     `yaml:"outbox"`
	Bus    bus.Config        `yaml:"bus"`
	Store  store.Config      `yaml:"store"`
	// Broker is the embedded MQTT broker, run when an MQTT client (a
	// driver, a notifier) names no broker of its own.
	Broker broker.Config `yaml:"broker"`
	// Console is the web console's logins; Grading the monthly grades of
	// the buildings it shows.
	Console auth.Config    `yaml:"console"`
	Grading grading.Config `yaml:"grading"`
}

// GatewayConfig is the gateway's own section.
type GatewayConfig struct {
	// Name identifies this gateway upstream (one per community).
	Name string `yaml:"name"`
	// DataDir holds the outbox, the history database and quarantine files.
	DataDir string `yaml:"data_dir"`
	// Profiles is a directory of device profiles added to (or overriding,
	// by model) the ones built in from firmware-configs/; relative to the
	// config file.
	Profiles string `yaml:"profiles"`
	// ProfileRules adopts the rules the profiles of the devices placed
	// suggest, except those whose id the config's own rules reuse (which
	// replace them).
	ProfileRules bool       `yaml:"profile_rules"`
	HTTP         HTTPConfig `yaml:"http"`
	// TimeZone is where the community's days and months begin (the
	// figures, the grades): an IANA name.
	TimeZone string    `yaml:"time_zone"`
	Log      LogConfig `yaml:"log"`
	// ShutdownTimeout bounds how long SIGINT/SIGTERM waits for the bus to
	// drain and the sinks to flush.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// HTTPConfig is the HTTP endpoint: the console, /api/v1, /metrics,
// /healthz, /readyz.
type HTTPConfig struct {
	// Listen is host:port; empty turns HTTP off.
	Listen string `yaml:"listen"`
	// TLSCert and TLSKey, both or neither, serve HTTPS (PEM files,
	// relative to the config file); session cookies are then Secure.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
}

// LogConfig selects the structured log's level and format.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text, json
}

// SiteConfig is one residential community (小区).
type SiteConfig struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Grid is the management grid (网格) alarms are routed by.
	Grid      string           `yaml:"grid"`
	Buildings []BuildingConfig `yaml:"buildings"`
}

// BuildingConfig is one building of a site.
type BuildingConfig struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Units is the number of units (单元), numbered from 1; 0 for none.
	Units int `yaml:"units"`
	// Floors above ground, and Basements below (floors -1, -2, ...).
	Floors    int `yaml:"floors"`
	Basements int `yaml:"basements"`
}

// DeviceConfig is one device placed in the building map.
type DeviceConfig struct {
	ID      string `yaml:"id"`
	Name    string `yaml:"name"`
	Type    string `yaml:"type"`    // taken from the profile when empty
	Profile string `yaml:"profile"` // a model in firmware-configs/
	Driver  string `yaml:"driver"`  // a driver section's name
	Address string `yaml:"address"` // in the driver's own syntax
	// Location within a site; Site may be left out when there is one.
	Location LocationConfig    `yaml:"location"`
	Tags     map[string]string `yaml:"tags"`
}

// LocationConfig places a device: site, building, unit, floor, room.
type LocationConfig struct {
	Site     string `yaml:"site"`
	Building string `yaml:"building"`
	Unit     int    `yaml:"unit"`
	Floor    int    `yaml:"floor"`
	Room     string `yaml:"room"`
}

// DefaultConfig is the one place the gateway's defaults live.
func DefaultConfig() Config {
	return Config{
		Gateway: GatewayConfig{
			Name:            "shouwang",
			DataDir:         "/var/lib/shouwang",
			HTTP:            HTTPConfig{Listen: "127.0.0.1:8080"},
			TimeZone:        "Asia/Shanghai",
			Log:             LogConfig{Level: "info", Format: "text"},
			ShutdownTimeout: 10 * time.Second,
		},
		Alarms:  rules.DefaultAlarmConfig(),
		Outbox:  outbox.DefaultConfig(),
		Bus:     bus.DefaultConfig(),
		Store:   store.DefaultConfig(),
		Broker:  broker.DefaultConfig(),
		Console: auth.DefaultConfig(),
		Grading: grading.DefaultConfig(),
	}
}
