package gateway

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/internal/yamlconf"
)

// Profile describes one device model: what it measures and what it
// reports. Later drivers add their own sections (a Modbus register map).
type Profile struct {
	Model       string      `yaml:"model"`
	Vendor      string      `yaml:"vendor"`
	Type        string      `yaml:"type"`
	Description string      `yaml:"description"`
	Points      []PointSpec `yaml:"points"`
	Events      []EventSpec `yaml:"events"`
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
	errs := doc.Decode("", &p)
	p.File = file
	errs = append(errs, doc.Locate("", p.validate())...)
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

// asErrors turns what yamlconf.Parse returned into Errors.
func asErrors(err error) yamlconf.Errors {
	if es, ok := err.(yamlconf.Errors); ok {
		return es
	}
	return yamlconf.Errors{{Line: 1, Col: 1, Msg: err.Error()}}
}
