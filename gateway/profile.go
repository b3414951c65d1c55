package gateway

import (
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strings"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/internal/yamlconf"
	"github.com/shouwang-iot/shouwang/rules"
)

// Profile describes one device model: what it measures and what it
// reports, and, under a key named for a driver type, how that driver reads
// it (a Modbus register map).
type Profile struct {
	Model       string      `yaml:"model"`
	Vendor      string      `yaml:"vendor"`
	Type        string      `yaml:"type"`
	Description string      `yaml:"description"`
	Points      []PointSpec `yaml:"points"`
	Events      []EventSpec `yaml:"events"`
	// Rules are the alarm rules suggested for the model; a config adopts
	// them with gateway.profile_rules. Each selects the model's devices.
	Rules []rules.Rule `yaml:"rules"`
	// Drivers holds the profile's driver sections by driver type.
	Drivers map[string]shouwang.ModelConfig `yaml:"-"`
	// File is where the profile was read from, for messages.
	File string `yaml:"-"`
}

// PointSpec is one measured point of a model, with its plausible range.
type PointSpec struct {
	Name        string   `yaml:"name"`
	Unit        string   `yaml:"unit"`
	Min         *float64 `yaml:"min"`
	Max         *float64 `yaml:"max"`
	Description string   `yaml:"description"`
}

// EventSpec is one event kind a model reports, with the severity it has.
type EventSpec struct {
	Kind        string `yaml:"kind"`
	Severity    string `yaml:"severity"`
	Description string `yaml:"description"`
}

// deviceTypes are the kinds of device the gateway knows how to place and
// alarm on.
var deviceTypes = []string{"gas", "co", "smoke", "heat", "panel", "camera", "other"}

// loadProfiles reads every *.yaml in each file system in turn; a later one
// overrides an earlier one's model. dirs name the file systems in errors.
func loadProfiles(fsyss []fs.FS, dirs []string) (map[string]*Profile, yamlconf.Errors) {
	out := map[string]*Profile{}
	var errs yamlconf.Errors
	for i, fsys := range fsyss {
		names, err := fs.Glob(fsys, "*.yaml")
		if err != nil {
			errs = append(errs, &yamlconf.Error{File: dirs[i], Line: 1, Col: 1, Msg: err.Error()})
			continue
		}
		seen := map[string]string{}
		for _, name := range names {
			file := path.Join(dirs[i], name)
			p, perrs := loadProfile(fsys, name, file)
			errs = append(errs, perrs...)
			if p == nil {
				continue
			}
			if other, dup := seen[p.Model]; dup {
				errs = append(errs, &yamlconf.Error{File: file, Line: 1, Col: 1, Path: "model",
					Msg: fmt.Sprintf("model %q is also defined in %s (one file per model)", p.Model, other)})
				continue
			}
			seen[p.Model] = file
			out[p.Model] = p
		}
	}
	return out, errs
}

func loadProfile(fsys fs.FS, name, file string) (*Profile, yamlconf.Errors) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, yamlconf.Errors{{File: file, Line: 1, Col: 1, Msg: err.Error()}}
	}
	doc, err := yamlconf.Parse(file, src)
	if err != nil {
		return nil, asErrors(err)
	}
	var p Profile
	drivers := modelDrivers()
	errs := doc.Decode("", &p, drivers...)
	p.File = file
	errs = append(errs, doc.Locate("", p.validate())...)
	for _, typ := range drivers {
		if !doc.Has(typ) {
			continue
		}
		m := driverModules[typ].Model()
		if derrs := doc.Decode(typ, m); len(derrs) > 0 {
			errs = append(errs, derrs...)
			continue
		}
		errs = append(errs, doc.Locate(typ, m.Validate())...)
		errs = append(errs, doc.Locate(typ, p.checkModel(m))...)
		if p.Drivers == nil {
			p.Drivers = map[string]shouwang.ModelConfig{}
		}
		p.Drivers[typ] = m
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &p, nil
}

func (p *Profile) validate() error {
	var fe shouwang.FieldErrors
	if !validID(p.Model) {
		fe.Add("model", "%q is not a model name (letters, digits, '-', '_' or '.', e.g. hanwei-jt-ba)", p.Model)
	}
	if !slices.Contains(deviceTypes, p.Type) {
		fe.Add("type", "%q is not a device type (valid: %s)", p.Type, strings.Join(deviceTypes, ", "))
	}
	seen := map[string]bool{}
	for i, pt := range p.Points {
		f := fmt.Sprintf("points[%d]", i)
		if pt.Name == "" {
			fe.Add(f+".name", "must be set (e.g. gas, co, smoke_density)")
		} else if seen[pt.Name] {
			fe.Add(f+".name", "point %q is listed twice", pt.Name)
		}
		seen[pt.Name] = true
		if pt.Min != nil && pt.Max != nil && *pt.Min >= *pt.Max {
			fe.Add(f+".max", "%g is not above min %g", *pt.Max, *pt.Min)
		}
	}
	ids := map[string]bool{}
	for i := range p.Rules {
		r := &p.Rules[i]
		f := fmt.Sprintf("rules[%d]", i)
		if !reflect.ValueOf(r.Select).IsZero() {
			fe.Add(f+".select", "a profile's rule selects the profile's own devices; leave select out")
		}
		r.Select = rules.Selector{Profiles: []string{p.Model}}
		if fes, ok := r.Validate().(shouwang.FieldErrors); ok {
			for _, e := range fes {
				fe.Add(f+"."+e.Field, "%s", e.Problem)
			}
		}
		if ids[r.ID] {
			fe.Add(f+".id", "rule %q is listed twice", r.ID)
		}
		ids[r.ID] = true
	}
	for i, ev := range p.Events {
		f := fmt.Sprintf("events[%d]", i)
		if ev.Kind == "" {
			fe.Add(f+".kind", "must be set (e.g. smoke_alarm, fault, low_battery)")
		}
		if _, ok := shouwang.ParseSeverity(ev.Severity); !ok {
			fe.Add(f+".severity", "%q is not a severity (valid: %s)", ev.Severity, strings.Join(shouwang.SeverityNames(), ", "))
		}
	}
	return fe.Err()
}

// modelDrivers are the driver types that read a section of a profile.
func modelDrivers() []string {
	var out []string
	for _, name := range sortedKeys(driverModules) {
		if driverModules[name].Model != nil {
			out = append(out, name)
		}
	}
	return out
}

// ProfileModel is a driver section that reads the profile's points and
// reports its events. The profile's points and events must list every name
// the section produces, so rules written against the profile see them; the
// units and severities stay in one place, the profile, and are handed to
// the section once it is checked.
type ProfileModel interface {
	shouwang.ModelConfig
	PointNames() []string
	EventKinds() []string
	Provision(units map[string]string, severities map[string]shouwang.Severity)
}

// checkModel checks a driver section against the profile and provisions it.
func (p *Profile) checkModel(m shouwang.ModelConfig) error {
	pm, ok := m.(ProfileModel)
	if !ok {
		return nil
	}
	var fe shouwang.FieldErrors
	for _, name := range pm.PointNames() {
		if !slices.ContainsFunc(p.Points, func(pt PointSpec) bool { return pt.Name == name }) {
			fe.Add("", "reads point %q, which the profile's points do not list", name)
		}
	}
	for _, kind := range pm.EventKinds() {
		if !slices.ContainsFunc(p.Events, func(ev EventSpec) bool { return ev.Kind == kind }) {
			fe.Add("", "reports event %q, which the profile's events do not list", kind)
		}
	}
	if len(fe) > 0 {
		return fe
	}
	units, severities := map[string]string{}, map[string]shouwang.Severity{}
	for _, pt := range p.Points {
		units[pt.Name] = pt.Unit
	}
	for _, ev := range p.Events {
		severities[ev.Kind], _ = shouwang.ParseSeverity(ev.Severity)
	}
	pm.Provision(units, severities)
	return nil
}

// asErrors turns what yamlconf.Parse returned into Errors.
func asErrors(err error) yamlconf.Errors {
	if es, ok := err.(yamlconf.Errors); ok {
		return es
	}
	return yamlconf.Errors{{Line: 1, Col: 1, Msg: err.Error()}}
}
