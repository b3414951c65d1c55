package modbus

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/serialline"
)

// Model is the "modbus:" section of a device profile: how one model of
// detector is read and commissioned over Modbus. The profile's points and
// events list every name it produces; their units and severities come from
// there (Provision).
type Model struct {
	// Layout says whose register map this is (a vendor's manual, a
	// standard's table), so an installer can check it against the device.
	Layout string `yaml:"layout"`
	// SlaveID is the factory-set address.
	SlaveID uint8 `yaml:"slave_id"`
	// Serial is the factory line setting, the default of an RTU driver.
	Serial Line `yaml:"serial"`
	// MaxRegisters and MaxBits are the device's own limits per read, when
	// below the protocol's; MaxGap is how many unused registers or bits a
	// read may bridge to join two points.
	MaxRegisters uint16 `yaml:"max_registers"`
	MaxBits      uint16 `yaml:"max_bits"`
	MaxGap       uint16 `yaml:"max_gap"`
	// Points are the measured values, each a profile point.
	Points []PointMap `yaml:"points"`
	// Status are registers whose bits or values are events.
	Status []StatusMap `yaml:"status"`
	// Settings are what an installer may write, with their valid range.
	Settings []Setting `yaml:"settings"`
	// Identify is a register whose value tells this model from others on a
	// bus scan.
	Identify *Identify `yaml:"identify"`

	units      map[string]string
	severities map[string]shouwang.Severity
}

// Line is a serial line's settings.
type Line = serialline.Line

// Register is where a value is and how it is encoded.
type Register struct {
	Table   Table     `yaml:"table"`
	Address uint16    `yaml:"address"`
	Type    DataType  `yaml:"type"`
	Order   ByteOrder `yaml:"order"`
	Bit     uint8     `yaml:"bit"`
	Length  uint16    `yaml:"length"`
	Scale   float64   `yaml:"scale"`
	Offset  float64   `yaml:"offset"`
}

// PointMap places one profile point in the register map.
type PointMap struct {
	Name     string `yaml:"name"`
	Register `yaml:",inline"`
}

// StatusMap is a status register. It is read as the reading Name (the
// raw value, so a review shows what the device said) and each of its Bits
// set, or its value equal to one of Values, is an event; when it stops
// being so, its clear event follows (shouwang.ClearKind).
type StatusMap struct {
	Name    string       `yaml:"name"`
	Table   Table        `yaml:"table"`
	Address uint16       `yaml:"address"`
	Bits    []BitEvent   `yaml:"bits"`
	Values  []ValueEvent `yaml:"values"`
}

// BitEvent names the event a status bit raises (bit 0 is the least
// significant; a coil or discrete input has only bit 0).
type BitEvent struct {
	Bit   uint8  `yaml:"bit"`
	Event string `yaml:"event"`
}

// ValueEvent names the event a status register's value raises: a fire
// panel's state code, a detector's mode.
type ValueEvent struct {
	Value uint16 `yaml:"value"`
	Event string `yaml:"event"`
}

// Setting is a value an installer may write: an alarm set-point, the slave
// address, the baud rate.
type Setting struct {
	Name     string `yaml:"name"`
	Register `yaml:",inline"`
	Unit     string `yaml:"unit"`
	// Min and Max bound the value; Values, if set, lists the only valid
	// ones instead.
	Min    *float64  `yaml:"min"`
	Max    *float64  `yaml:"max"`
	Values []float64 `yaml:"values"`
	// Role marks the setting that changes how the device is reached:
	// "slave_id" (read back at the new address) or "baud" (takes effect
	// after a power cycle, so it is read back at the old one).
	Role        string `yaml:"role"`
	Description string `yaml:"description"`
}

// Identify is a register that tells the model apart on a bus scan: its
// value as text (a string register's text, a number's decimal) equals
// Equals.
type Identify struct {
	Register `yaml:",inline"`
	Equals   string `yaml:"equals"`
}

// The roles a setting may have.
const (
	RoleSlaveID = "slave_id"
	RoleBaud    = "baud"
)

// Point is the decoding point of a register.
func (r *Register) Point(name, unit string) Point {
	return Point{Name: name, Table: r.Table, Address: r.Address, Type: r.Type, Bit: r.Bit,
		Order: r.Order, Length: r.Length, Scale: r.Scale, Offset: r.Offset, Unit: unit}
}

// Limits are the model's limits per read.
func (m *Model) Limits() Limits {
	return Limits{MaxRegisters: m.MaxRegisters, MaxBits: m.MaxBits, MaxGap: m.MaxGap}
}

// PollPoints are the points a poll reads: the measured points, then one
// per status register, with the units Provision gave.
func (m *Model) PollPoints() []Point {
	out := make([]Point, 0, len(m.Points)+len(m.Status))
	for i := range m.Points {
		out = append(out, m.Points[i].Point(m.Points[i].Name, m.units[m.Points[i].Name]))
	}
	for _, s := range m.Status {
		typ := U16
		if s.Table.Bits() {
			typ = Bool
		}
		out = append(out, Point{Name: s.Name, Table: s.Table, Address: s.Address, Type: typ})
	}
	return out
}

// PointNames lists the readings the model produces: its points and its
// status registers.
func (m *Model) PointNames() []string {
	var out []string
	for _, p := range m.Points {
		out = append(out, p.Name)
	}
	for _, s := range m.Status {
		out = append(out, s.Name)
	}
	return out
}

// EventKinds lists the events the status registers raise (their clears
// follow from shouwang.ClearKind).
func (m *Model) EventKinds() []string {
	var out []string
	for _, s := range m.Status {
		for _, b := range s.Bits {
			out = append(out, b.Event)
		}
		for _, v := range s.Values {
			out = append(out, v.Event)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Provision takes the units of the profile's points and the severities of
// its events.
func (m *Model) Provision(units map[string]string, severities map[string]shouwang.Severity) {
	m.units, m.severities = units, severities
}

// Severity is the severity the profile gives kind; a clear is Info.
func (m *Model) Severity(kind string) shouwang.Severity { return m.severities[kind] }

// Setting returns the setting called name.
func (m *Model) Setting(name string) (*Setting, bool) {
	for i := range m.Settings {
		if m.Settings[i].Name == name {
			return &m.Settings[i], true
		}
	}
	return nil, false
}

// Check says why v is not a valid value of the setting, or nil.
func (s *Setting) Check(v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%s: %v is not a number", s.Name, v)
	}
	if len(s.Values) > 0 {
		if !slices.Contains(s.Values, v) {
			return fmt.Errorf("%s: %v is not one of %s", s.Name, v, join(s.Values))
		}
		return nil
	}
	if (s.Min != nil && v < *s.Min) || (s.Max != nil && v > *s.Max) {
		return fmt.Errorf("%s: %v%s is out of range (valid: %s)", s.Name, v, s.Unit, s.Range())
	}
	return nil
}

// Range describes the valid values, e.g. "5 to 25 %LEL".
func (s *Setting) Range() string {
	switch {
	case len(s.Values) > 0:
		return "one of " + join(s.Values)
	case s.Min != nil && s.Max != nil:
		return strings.TrimSpace(fmt.Sprintf("%g to %g %s", *s.Min, *s.Max, s.Unit))
	case s.Min != nil:
		return strings.TrimSpace(fmt.Sprintf("at least %g %s", *s.Min, s.Unit))
	case s.Max != nil:
		return strings.TrimSpace(fmt.Sprintf("at most %g %s", *s.Max, s.Unit))
	}
	return "any " + s.Type.String()
}

// join lists numbers as messages show them: "2400, 4800, 9600".
func join[T int | float64](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// Validate reports every problem with the section.
func (m *Model) Validate() error {
	var fe shouwang.FieldErrors
	if m.Layout == "" {
		fe.Add("layout", "must be set: whose register map this is (e.g. the vendor manual's title and version)")
	}
	if m.SlaveID < 1 || m.SlaveID > 247 {
		fe.Add("slave_id", "%d is not a slave address (valid: 1 to 247, the factory setting)", m.SlaveID)
	}
	m.Serial.Check(&fe, "serial")
	if m.MaxRegisters > protocolMaxRegisters {
		fe.Add("max_registers", "%d is over the protocol's %d per read", m.MaxRegisters, protocolMaxRegisters)
	}
	if m.MaxBits > protocolMaxBits {
		fe.Add("max_bits", "%d is over the protocol's %d per read", m.MaxBits, protocolMaxBits)
	}
	lim := m.Limits()
	names := map[string]bool{}
	name := func(path, n string) {
		switch {
		case n == "":
			fe.Add(path, "must be set (a point the profile lists, e.g. gas)")
		case names[n]:
			fe.Add(path, "%q is read twice", n)
		}
		names[n] = true
	}
	for i := range m.Points {
		p := fmt.Sprintf("points[%d]", i)
		name(p+".name", m.Points[i].Name)
		m.Points[i].check(&fe, p, lim)
	}
	for i, s := range m.Status {
		p := fmt.Sprintf("status[%d]", i)
		name(p+".name", s.Name)
		r := Register{Table: s.Table, Address: s.Address, Type: U16}
		if s.Table.Bits() {
			r.Type = Bool
		}
		r.check(&fe, p, lim)
		if len(s.Bits)+len(s.Values) == 0 {
			fe.Add(p, "has neither bits nor values: say which events it raises")
		}
		for j, b := range s.Bits {
			bp := fmt.Sprintf("%s.bits[%d]", p, j)
			if b.Bit > 15 || (s.Table.Bits() && b.Bit != 0) {
				fe.Add(bp+".bit", "%d is not a bit of %s %d (valid: %s)", b.Bit, s.Table, s.Address, map[bool]string{true: "0", false: "0 to 15"}[s.Table.Bits()])
			}
			checkEvent(&fe, bp+".event", b.Event)
		}
		for j, v := range s.Values {
			vp := fmt.Sprintf("%s.values[%d]", p, j)
			if s.Table.Bits() {
				fe.Add(vp, "a %s has no values but 0 and 1: use bits", s.Table)
			}
			checkEvent(&fe, vp+".event", v.Event)
		}
	}
	settings := map[string]bool{}
	for i := range m.Settings {
		s := &m.Settings[i]
		p := fmt.Sprintf("settings[%d]", i)
		switch {
		case s.Name == "":
			fe.Add(p+".name", "must be set (what the installer types after --set, e.g. low_alarm)")
		case settings[s.Name]:
			fe.Add(p+".name", "setting %q is listed twice", s.Name)
		}
		settings[s.Name] = true
		if s.Table != HoldingRegisters && s.Table != Coils {
			fe.Add(p+".table", "%s is read-only (writable: holding, coil)", s.Table)
		}
		s.check(&fe, p, lim)
		if s.Min != nil && s.Max != nil && *s.Min > *s.Max {
			fe.Add(p+".max", "%g is below min %g", *s.Max, *s.Min)
		}
		for i, bound := range []*float64{s.Min, s.Max} {
			key := [2]string{"min", "max"}[i]
			if bound != nil && s.Type != Bool && s.Type != String && s.Type != 0 {
				if _, err := Registers(ptr(s.Point(s.Name, s.Unit)), *bound); err != nil {
					fe.Add(p+"."+key, "the type cannot hold it: %v", err)
				}
			}
		}
		for j, v := range s.Values {
			if s.Type != Bool && s.Type != String {
				if _, err := Registers(ptr(s.Point(s.Name, s.Unit)), v); err != nil {
					fe.Add(fmt.Sprintf("%s.values[%d]", p, j), "%v", err)
				}
			}
		}
		if s.Role != "" && s.Role != RoleSlaveID && s.Role != RoleBaud {
			fe.Add(p+".role", "%q is not a role (valid: %s, %s, or leave it out)", s.Role, RoleSlaveID, RoleBaud)
		}
	}
	if id := m.Identify; id != nil {
		id.check(&fe, "identify", lim)
		if id.Equals == "" {
			fe.Add("identify.equals", "must be set (the value that marks this model, as text)")
		}
	}
	if len(fe) == 0 {
		if _, err := NewPollPlan(m.PollPoints(), lim); err != nil {
			fe.Add("points", "%v", err)
		}
	}
	return fe.Err()
}

func ptr[T any](v T) *T { return &v }

func checkEvent(fe *shouwang.FieldErrors, path, kind string) {
	switch {
	case kind == "":
		fe.Add(path, "must be set (an event the profile lists, e.g. fault)")
	case kind == WentOffline.String() || kind == CameBack.String():
		fe.Add(path, "%q is reported by the driver itself, not by a status register", kind)
	case shouwang.IsClearKind(kind):
		fe.Add(path, "%q is a clear event; it follows by itself when the condition ends", kind)
	}
}

// check reports what is wrong with the register at path.
func (r *Register) check(fe *shouwang.FieldErrors, path string, lim Limits) {
	if r.Table == 0 {
		fe.Add(path+".table", "must be set (valid: coil, discrete, holding, input)")
		return
	}
	if r.Type == 0 {
		fe.Add(path+".type", "must be set (valid: %s)", strings.Join(typeNames[1:], ", "))
		return
	}
	if r.Table.Bits() && r.Type != Bool {
		fe.Add(path+".type", "a %s holds one bit: the type is bool", r.Table)
		return
	}
	if r.Type == Bool && !r.Table.Bits() && r.Bit > 15 {
		fe.Add(path+".bit", "%d is beyond a 16-bit register (valid: 0 to 15)", r.Bit)
	}
	if r.Type == String && r.Length == 0 {
		fe.Add(path+".length", "must be set for a string (registers, two characters each)")
		return
	}
	p := r.Point("", "")
	span := int(p.Span())
	if span > lim.per(r.Table) {
		fe.Add(path+".type", "%s of %d entries is wider than the %d one read may take", r.Type, span, lim.per(r.Table))
	}
	if int(r.Address)+span > 1<<16 {
		fe.Add(path+".address", "%d + %d entries runs past address 65535", r.Address, span)
	}
	if math.IsNaN(r.Scale) || math.IsInf(r.Scale, 0) || math.IsNaN(r.Offset) || math.IsInf(r.Offset, 0) {
		fe.Add(path+".scale", "scale and offset must be finite numbers")
	}
}
