package gateway

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/broker"
	"github.com/shouwang-iot/shouwang/gateway/internal/yamlconf"
	"github.com/shouwang-iot/shouwang/gateway/outbox"
	"github.com/shouwang-iot/shouwang/internal/mqttconn"
)

// Plan is a config file loaded, checked and resolved: what the gateway
// runs. Load returns one only when the file has no problem at all.
type Plan struct {
	File     string
	Config   Config
	Profiles map[string]*Profile
	Devices  []shouwang.Device
	Drivers  []DriverPlan
	Sinks    []SinkPlan
	Notify   NotifyPlan
	// EmbeddedBroker is set when an MQTT client names no broker: the
	// gateway runs its own.
	EmbeddedBroker bool
	// Zone is gateway.time_zone.
	Zone *time.Location
}

// loadZone finds a time zone. A board's root file system often has no
// zone database; China's zone has had no daylight saving since 1991, so
// Asia/Shanghai needs none.
func loadZone(name string) (*time.Location, error) {
	zone, err := time.LoadLocation(name)
	if err != nil && (name == "Asia/Shanghai" || name == "PRC") {
		return time.FixedZone("CST", 8*3600), nil
	}
	return zone, err
}

// DriverPlan is one driver section, decoded and validated.
type DriverPlan struct {
	Name, Type string
	Config     shouwang.DriverConfig
	Devices    []shouwang.Device
	// Models are the driver's sections of its devices' profiles, by model.
	Models map[string]shouwang.ModelConfig
}

// SinkPlan is one sink section, decoded and validated, with how the outbox
// forwards to it.
type SinkPlan struct {
	Name, Type string
	Config     shouwang.SinkConfig
	Forward    outbox.ForwardConfig
}

// sinkCommonKeys belong to the gateway, not to the sink's own Config.
var sinkCommonKeys = []string{"name", "type", "batch_size", "flush_interval", "min_backoff", "max_backoff", "quarantine"}

// Load reads and checks the config file at path, with the built-in device
// profiles. Every problem is reported, as yamlconf.Errors. overrides run
// on the decoded file before it is checked (the demo's data dir and port).
func Load(path string, overrides ...func(*Config)) (*Plan, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return LoadBytes(path, src, overrides...)
}

// LoadBytes is Load for a file already read; file names it in errors and
// anchors relative paths.
func LoadBytes(file string, src []byte, overrides ...func(*Config)) (*Plan, error) {
	doc, err := yamlconf.Parse(file, src)
	if err != nil {
		return nil, err
	}
	l := loader{doc: doc, plan: &Plan{File: file, Config: DefaultConfig()}}
	l.load(overrides)
	if len(l.errs) > 0 {
		l.errs.Sort()
		return nil, l.errs
	}
	// The plugin sections are decoded into the plan: drop them, and with
	// them the parsed file they point into (12 MB held for the life of
	// the process with 1,000 devices).
	c := &l.plan.Config
	c.Drivers, c.Sinks, c.Notify = nil, nil, NotifyConfig{}
	return l.plan, nil
}

type loader struct {
	doc  *yamlconf.Document
	plan *Plan
	errs yamlconf.Errors
	// mqttIDs names the MQTT client holding each (broker, client id).
	mqttIDs map[[2]string]string
}

func (l *loader) errorf(path, format string, args ...any) {
	l.errs = append(l.errs, l.doc.Errorf(path, format, args...))
}

func (l *loader) locate(base string, err error) {
	l.errs = append(l.errs, l.doc.Locate(base, err)...)
}

func (l *loader) load(overrides []func(*Config)) {
	c := &l.plan.Config
	l.errs = append(l.errs, l.doc.Decode("", c)...)
	for _, o := range overrides {
		o(c)
	}
	l.checkGateway()
	l.loadProfiles()
	sites := l.checkSites()
	drivers := l.decodeDrivers()
	l.checkDevices(sites, drivers)
	l.buildDrivers(drivers)
	l.decodeSinks()
	l.adoptProfileRules()
	l.checkRules()
	l.locate("alarms", c.Alarms.Validate())
	l.decodeNotify(sites)
	if c.Outbox.Dir == "" {
		c.Outbox.Dir = filepath.Join(c.Gateway.DataDir, "outbox")
	}
	c.Outbox.Dir = l.relative(c.Outbox.Dir)
	l.locate("outbox", c.Outbox.Validate())
	l.locate("bus", c.Bus.Validate())
	if c.Store.Path == "" {
		c.Store.Path = filepath.Join(c.Gateway.DataDir, "history.db")
	}
	c.Store.Path = l.relative(c.Store.Path)
	l.locate("store", c.Store.Validate())
	if c.Broker.UsersFile == "" {
		c.Broker.UsersFile = broker.DefaultUsersFile(c.Gateway.DataDir)
	}
	t := &c.Broker.TLS
	c.Broker.UsersFile, t.Cert, t.Key, t.ClientCA = l.relative(c.Broker.UsersFile), l.relative(t.Cert), l.relative(t.Key), l.relative(t.ClientCA)
	l.locate("broker", c.Broker.Validate())
	l.locate("console", c.Console.Validate())
	l.locate("grading", c.Grading.Validate())
}

func (l *loader) checkGateway() {
	g := &l.plan.Config.Gateway
	if !validID(g.Name) {
		l.errorf("gateway.name", "%q is not a name (letters, digits, '-', '_' or '.', e.g. sunshine-garden)", g.Name)
	}
	if g.DataDir == "" {
		l.errorf("gateway.data_dir", "must be set (a directory on persistent storage, e.g. /var/lib/shouwang)")
	} else {
		g.DataDir = l.relative(g.DataDir)
	}
	if g.HTTP.Listen != "" {
		if _, port, err := net.SplitHostPort(g.HTTP.Listen); err != nil || !validPort(port) {
			l.errorf("gateway.http.listen", "%q is not host:port (e.g. 127.0.0.1:8080, or :8080 for every interface)", g.HTTP.Listen)
		}
	}
	if (g.HTTP.TLSCert == "") != (g.HTTP.TLSKey == "") {
		l.errorf("gateway.http", "tls_cert and tls_key go together (both PEM files for HTTPS, or neither for plain HTTP)")
	}
	g.HTTP.TLSCert, g.HTTP.TLSKey = l.relative(g.HTTP.TLSCert), l.relative(g.HTTP.TLSKey)
	if zone, err := loadZone(g.TimeZone); err != nil {
		l.errorf("gateway.time_zone", "%q is not a time zone (an IANA name such as Asia/Shanghai)", g.TimeZone)
	} else {
		l.plan.Zone = zone
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, g.Log.Level) {
		l.errorf("gateway.log.level", "%q is not a level (valid: debug, info, warn, error)", g.Log.Level)
	}
	if !slices.Contains([]string{"text", "json"}, g.Log.Format) {
		l.errorf("gateway.log.format", "%q is not a format (valid: text, json)", g.Log.Format)
	}
	if g.ShutdownTimeout <= 0 || g.ShutdownTimeout > 10*time.Minute {
		l.errorf("gateway.shutdown_timeout", "%s is out of range (want more than 0 and at most 10m, e.g. 10s)", g.ShutdownTimeout)
	}
}

// relative resolves a path in the config against the config file's
// folder, to an absolute path: the gateway's working directory under
// systemd is /, not where the config is.
func (l *loader) relative(p string) string {
	if filepath.IsAbs(p) || p == "" {
		return p
	}
	abs, err := filepath.Abs(filepath.Join(filepath.Dir(l.plan.File), p))
	if err != nil {
		return filepath.Join(filepath.Dir(l.plan.File), p)
	}
	return abs
}

func (l *loader) loadProfiles() {
	// Messages name the folder as the config does, from the config's
	// folder; the gateway reads it by its absolute path.
	dir, shown := l.plan.Config.Gateway.Profiles, l.plan.Config.Gateway.Profiles
	if dir != "" && !filepath.IsAbs(dir) {
		shown = filepath.Join(filepath.Dir(l.plan.File), dir)
	}
	fsyss, dirs, err := profileSources(l.relative(dir), shown)
	if err != nil {
		l.errorf("gateway.profiles", "%v", err)
	}
	profiles, errs := loadProfiles(fsyss, dirs)
	l.plan.Profiles = profiles
	l.errs = append(l.errs, errs...)
}

// siteMap indexes the sites and their buildings.
type siteMap map[string]*siteEntry

type siteEntry struct {
	cfg       *SiteConfig
	buildings map[string]*BuildingConfig
}

func (l *loader) checkSites() siteMap {
	sites := siteMap{}
	if len(l.plan.Config.Sites) == 0 {
		l.errorf("sites", "no site is defined (list the community this gateway serves, with its buildings)")
	}
	for i := range l.plan.Config.Sites {
		s := &l.plan.Config.Sites[i]
		p := fmt.Sprintf("sites[%d]", i)
		switch {
		case !validID(s.ID):
			l.errorf(p+".id", "%q is not an id (letters, digits, '-', '_' or '.', e.g. sunshine)", s.ID)
		case sites[s.ID] != nil:
			l.errorf(p+".id", "site %q is defined twice", s.ID)
		}
		e := &siteEntry{cfg: s, buildings: map[string]*BuildingConfig{}}
		sites[s.ID] = e
		for j := range s.Buildings {
			b := &s.Buildings[j]
			bp := fmt.Sprintf("%s.buildings[%d]", p, j)
			switch {
			case b.ID == "":
				l.errorf(bp+".id", "must be set (the building's number or name as residents say it, e.g. 3)")
			case e.buildings[b.ID] != nil:
				l.errorf(bp+".id", "building %q is defined twice in site %s", b.ID, s.ID)
			}
			e.buildings[b.ID] = b
			if b.Floors < 1 || b.Floors > 200 {
				l.errorf(bp+".floors", "%d is out of range (want 1 to 200 floors above ground)", b.Floors)
			}
			if b.Units < 0 || b.Units > 50 {
				l.errorf(bp+".units", "%d is out of range (want 0 for none, up to 50)", b.Units)
			}
			if b.Basements < 0 || b.Basements > 10 {
				l.errorf(bp+".basements", "%d is out of range (want 0 to 10)", b.Basements)
			}
		}
	}
	return sites
}

// driverSection is a driver section before its devices are known.
type driverSection struct {
	path       string
	name, typ  string
	config     shouwang.DriverConfig
	devices    []shouwang.Device
	devicePath []string // where each device is in the file
}

func (l *loader) decodeDrivers() map[string]*driverSection {
	out := map[string]*driverSection{}
	for i, raw := range l.plan.Config.Drivers {
		p := fmt.Sprintf("drivers[%d]", i)
		name, typ := raw.String("name"), raw.String("type")
		switch {
		case !validID(name):
			l.errorf(p+".name", "%q is not a name (letters, digits, '-', '_' or '.', e.g. sim or modbus-b3)", name)
			continue
		case out[name] != nil:
			l.errorf(p+".name", "driver %q is defined twice", name)
			continue
		}
		mod, ok := driverModules[typ]
		if !ok {
			l.errorf(p+".type", "%q is not a driver type (valid: %s)", typ, strings.Join(sortedKeys(driverModules), ", "))
			continue
		}
		cfg := mod.New()
		l.errs = append(l.errs, raw.Decode(cfg, "name", "type")...)
		if c, ok := cfg.(mqttconn.Client); ok && c.MQTTBroker() != nil {
			l.mqttClient(p, "driver", name, c.MQTTBroker())
		}
		out[name] = &driverSection{path: p, name: name, typ: typ, config: cfg}
	}
	return out
}

func (l *loader) checkDevices(sites siteMap, drivers map[string]*driverSection) {
	seen := map[string]bool{}
	for i := range l.plan.Config.Devices {
		d := &l.plan.Config.Devices[i]
		p := fmt.Sprintf("devices[%d]", i)
		switch {
		case !validID(d.ID):
			l.errorf(p+".id", "%q is not an id (letters, digits, '-', '_' or '.', e.g. b3-u2-1202-kitchen-gas)", d.ID)
		case seen[d.ID]:
			l.errorf(p+".id", "device %q is defined twice", d.ID)
		}
		seen[d.ID] = true
		if d.Profile != "" {
			prof, ok := l.plan.Profiles[d.Profile]
			switch {
			case !ok:
				l.errorf(p+".profile", "no profile %q in firmware-configs (valid: %s)", d.Profile, strings.Join(sortedKeys(l.plan.Profiles), ", "))
			case d.Type == "":
				d.Type = prof.Type
			case d.Type != prof.Type:
				l.errorf(p+".type", "%q does not match profile %s, which is a %s device", d.Type, d.Profile, prof.Type)
			}
		}
		if !slices.Contains(deviceTypes, d.Type) && (d.Profile == "" || l.plan.Profiles[d.Profile] != nil) {
			l.errorf(p+".type", "%q is not a device type (valid: %s; or name a profile)", d.Type, strings.Join(deviceTypes, ", "))
		}
		loc := l.checkLocation(p+".location", d.Location, sites)
		dev := shouwang.Device{ID: d.ID, Name: d.Name, Type: d.Type, Profile: d.Profile, Driver: d.Driver,
			Address: d.Address, Location: loc, Tags: d.Tags}
		l.plan.Devices = append(l.plan.Devices, dev)
		drv := drivers[d.Driver]
		if drv == nil {
			l.errorf(p+".driver", "%q is not a driver section (valid: %s)", d.Driver, strings.Join(sortedKeys(drivers), ", "))
			continue
		}
		drv.devices = append(drv.devices, dev)
		drv.devicePath = append(drv.devicePath, p)
	}
}

func (l *loader) checkLocation(p string, lc LocationConfig, sites siteMap) shouwang.Location {
	site := lc.Site
	if site == "" && len(sites) == 1 {
		for id := range sites {
			site = id
		}
	}
	s := sites[site]
	if s == nil {
		l.errorf(p+".site", "%q is not a site (valid: %s)", lc.Site, strings.Join(sortedKeys(sites), ", "))
		return shouwang.Location{}
	}
	loc := shouwang.Location{Community: s.cfg.Name, Grid: s.cfg.Grid, Building: lc.Building, Floor: lc.Floor, Room: lc.Room}
	if loc.Community == "" {
		loc.Community = s.cfg.ID
	}
	b := s.buildings[lc.Building]
	if b == nil {
		l.errorf(p+".building", "%q is not a building of site %s (valid: %s)", lc.Building, site, strings.Join(sortedKeys(s.buildings), ", "))
		return loc
	}
	if b.Name != "" {
		loc.Building = b.Name
	}
	switch {
	case b.Units == 0 && lc.Unit != 0:
		l.errorf(p+".unit", "building %s has no units (leave unit out)", b.ID)
	case lc.Unit < 0 || lc.Unit > b.Units:
		l.errorf(p+".unit", "%d is not a unit of building %s (valid: 1 to %d, or leave it out for common areas)", lc.Unit, b.ID, b.Units)
	case lc.Unit > 0:
		loc.Unit = strconv.Itoa(lc.Unit)
	}
	if lc.Floor == 0 || lc.Floor > b.Floors || lc.Floor < -b.Basements {
		valid := fmt.Sprintf("1 to %d", b.Floors)
		if b.Basements > 0 {
			valid = fmt.Sprintf("-%d to -1 or %s", b.Basements, valid)
		}
		l.errorf(p+".floor", "%d is not a floor of building %s (valid: %s)", lc.Floor, b.ID, valid)
	}
	return loc
}

// adoptProfileRules appends the suggested rules of the placed devices'
// profiles, when the config asks for them, unless a config rule has the
// same id.
func (l *loader) adoptProfileRules() {
	c := &l.plan.Config
	if !c.Gateway.ProfileRules {
		return
	}
	have := map[string]bool{}
	for _, r := range c.Rules {
		have[r.ID] = true
	}
	used := map[string]bool{}
	for _, d := range l.plan.Devices {
		used[d.Profile] = true
	}
	for _, model := range sortedKeys(l.plan.Profiles) {
		if !used[model] {
			continue
		}
		for _, r := range l.plan.Profiles[model].Rules {
			if !have[r.ID] {
				c.Rules = append(c.Rules, r)
				have[r.ID] = true
			}
		}
	}
}

// ExclusiveDriver is a driver config that owns a resource no other driver
// section may name: a serial port has one owner, or two buses would
// interleave frames on one wire.
type ExclusiveDriver interface {
	// Owns names the resources and, for each, the field that names it.
	Owns() map[string]string
}

// buildDrivers validates each driver section with its devices.
func (l *loader) buildDrivers(drivers map[string]*driverSection) {
	// The sections in file order; a name defined twice keeps its first
	// section (the second is reported by decodeDrivers).
	var sections []*driverSection
	for i, raw := range l.plan.Config.Drivers {
		if drv := drivers[raw.String("name")]; drv != nil && drv.path == fmt.Sprintf("drivers[%d]", i) {
			sections = append(sections, drv)
		}
	}
	owner := map[string]string{}
	for _, drv := range sections {
		if ex, ok := drv.config.(ExclusiveDriver); ok {
			for res, field := range ex.Owns() {
				if other, dup := owner[res]; dup {
					l.errorf(drv.path+"."+field, "%s is already driver %s's; one driver owns it (put every device on that port under one driver section)", res, other)
				}
				owner[res] = drv.name
			}
		}
	}
	for _, drv := range sections {
		models := l.driverModels(drv)
		err := drv.config.Validate(drv.devices, models)
		// A driver names a device's problem as devices["<id>"].field: put
		// it where that device is in the file.
		if fes, ok := err.(shouwang.FieldErrors); ok {
			var rest shouwang.FieldErrors
			for _, fe := range fes {
				if p, ok := devicePath(fe.Field, drv); ok {
					l.errorf(p, "%s", fe.Problem)
				} else {
					rest = append(rest, fe)
				}
			}
			err = rest.Err()
		}
		l.locate(drv.path, err)
		l.plan.Drivers = append(l.plan.Drivers, DriverPlan{Name: drv.name, Type: drv.typ, Config: drv.config, Devices: drv.devices, Models: models})
	}
}

// driverModels collects the driver's sections of its devices' profiles.
// For a driver that reads one, every device must name a profile that has
// it.
func (l *loader) driverModels(drv *driverSection) map[string]shouwang.ModelConfig {
	if driverModules[drv.typ].Model == nil {
		return nil
	}
	models := map[string]shouwang.ModelConfig{}
	for i, d := range drv.devices {
		prof := l.plan.Profiles[d.Profile]
		switch {
		case d.Profile == "":
			l.errorf(drv.devicePath[i]+".profile", "must be set: a %s device is read through its profile's %s section (valid: %s)", drv.typ, drv.typ, strings.Join(ProfilesWith(l.plan.Profiles, drv.typ), ", "))
		case prof == nil: // reported by checkDevices
		case prof.Drivers[drv.typ] == nil:
			l.errorf(drv.devicePath[i]+".profile", "profile %s has no %s section, so driver %s cannot read it (profiles with one: %s)", d.Profile, drv.typ, drv.name, strings.Join(ProfilesWith(l.plan.Profiles, drv.typ), ", "))
		default:
			models[d.Profile] = prof.Drivers[drv.typ]
		}
	}
	return models
}

var deviceRef = regexp.MustCompile(`^devices\["([^"]*)"\](.*)$`)

func devicePath(field string, drv *driverSection) (string, bool) {
	m := deviceRef.FindStringSubmatch(field)
	if m == nil {
		return "", false
	}
	for i, d := range drv.devices {
		if d.ID == m[1] {
			return drv.devicePath[i] + m[2], true
		}
	}
	return "", false
}

func (l *loader) decodeSinks() {
	seen := map[string]bool{}
	for i, raw := range l.plan.Config.Sinks {
		p := fmt.Sprintf("sinks[%d]", i)
		name, typ := raw.String("name"), raw.String("type")
		switch {
		case !validID(name):
			l.errorf(p+".name", "%q is not a name (letters, digits, '-', '_' or '.', e.g. influx)", name)
			continue
		case seen[name]:
			l.errorf(p+".name", "sink %q is defined twice", name)
			continue
		}
		seen[name] = true
		mod, ok := sinkModules[typ]
		if !ok {
			l.errorf(p+".type", "%q is not a sink type (valid: %s)", typ, strings.Join(sortedKeys(sinkModules), ", "))
			continue
		}
		cfg := mod.New()
		l.errs = append(l.errs, raw.Decode(cfg, sinkCommonKeys...)...)
		if c, ok := cfg.(mqttconn.Client); ok && c.MQTTBroker() != nil {
			l.mqttClient(p, "sink", name, c.MQTTBroker())
		}
		l.locate(p, cfg.Validate())
		fwd := outbox.DefaultForwardConfig()
		fwd.Quarantine = filepath.Join(l.plan.Config.Gateway.DataDir, "quarantine-"+name+".jsonl")
		for key, target := range map[string]any{"batch_size": &fwd.BatchSize, "flush_interval": &fwd.FlushInterval,
			"min_backoff": &fwd.MinBackoff, "max_backoff": &fwd.MaxBackoff, "quarantine": &fwd.Quarantine} {
			if raw.Has(key) {
				l.errs = append(l.errs, l.doc.Decode(p+"."+key, target)...)
			}
		}
		fwd.Quarantine = l.relative(fwd.Quarantine)
		l.locate(p, fwd.Validate())
		l.plan.Sinks = append(l.plan.Sinks, SinkPlan{Name: name, Type: typ, Config: cfg, Forward: fwd})
	}
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func validID(s string) bool { return idPattern.MatchString(s) }

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}

// sortedKeys lists a map's keys in order, for "valid: ..." messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
