// Package shouwang is the shared vocabulary of the Shouwang gateway: where a
// device is, what it reads, what it reports, and the interfaces a driver and
// a sink implement. It does no I/O and imports only the standard library;
// the gateway package wires the pieces together.
package shouwang

import (
	"fmt"
	"strconv"
	"strings"
)

// Location places a device in a residential community, down to the room.
// Grid (网格) is the management grid the community belongs to; alarms are
// routed by it to the duty contacts.
type Location struct {
	Community string `yaml:"community" json:"community,omitempty"`
	Building  string `yaml:"building" json:"building,omitempty"`
	Unit      string `yaml:"unit" json:"unit,omitempty"`
	Floor     int    `yaml:"floor" json:"floor,omitempty"`
	Room      string `yaml:"room" json:"room,omitempty"`
	Grid      string `yaml:"grid" json:"grid,omitempty"`
}

// String gives the location the way a duty officer reads it out:
// "sunshine/3号楼/2单元/12F/1202".
func (l Location) String() string {
	parts := make([]string, 0, 5)
	for _, p := range []string{l.Community, l.Building, l.Unit} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if l.Floor != 0 {
		parts = append(parts, fmt.Sprintf("%dF", l.Floor))
	}
	if l.Room != "" {
		parts = append(parts, l.Room)
	}
	return strings.Join(parts, "/")
}

// The attributes by which an event says where it happened, when that is
// more precise than its device's place: a camera at the foot of a building
// sees a throw from one floor and window. The unit (单元) is not "unit",
// which events use for a measurement's unit (a smoke alarm's "dB/m").
const (
	AttrUnit  = "building_unit"
	AttrFloor = "floor"
	AttrRoom  = "room"
)

// Refine returns l with the unit, floor and room an event's attributes
// give (AttrUnit, AttrFloor, AttrRoom) in place of its own.
func (l Location) Refine(attrs map[string]string) Location {
	if v := attrs[AttrUnit]; v != "" {
		l.Unit = v
	}
	if f, err := strconv.Atoi(attrs[AttrFloor]); err == nil && f != 0 {
		l.Floor = f
	}
	if v := attrs[AttrRoom]; v != "" {
		l.Room = v
	}
	return l
}

// Device is one detector, sensor, panel or camera placed in the building map.
type Device struct {
	// ID is unique in the gateway and is what readings and events name.
	ID string
	// Name is the label people see, e.g. "1202 厨房燃气探测器".
	Name string
	// Type is the kind of device: "gas", "co", "smoke", "panel", "camera".
	Type string
	// Profile names the device model's file in firmware-configs/.
	Profile string
	// Driver names the driver instance that reads it.
	Driver string
	// Address is the device's address on its driver (slave id, topic, loop
	// and component), in the driver's own syntax.
	Address  string
	Location Location
	// Tags are free labels used by rule selectors ("elderly", "alone").
	Tags map[string]string
}

// Key is the device's address on its driver, or its ID for a driver
// whose devices name themselves (a topic, a URL) and that left the
// address out.
func (d Device) Key() string {
	if d.Address != "" {
		return d.Address
	}
	return d.ID
}
