package console

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// Device states as the building view colours them.
const (
	StateUnknown = "unknown" // nothing heard since the gateway started
	StateOnline  = "online"
	StateFault   = "fault"   // a fault event not yet cleared
	StateOffline = "offline" // an offline event not yet followed by online
	StateAlarm   = "alarm"   // an open alarm on the device is active
)

// DeviceBoard keeps what each device last said, from the bus: its last
// reading of each point, its open faults and whether it is offline. It
// is a bus follower; the console reads it.
type DeviceBoard struct {
	mu      sync.Mutex
	devices map[string]*deviceState
}

type deviceState struct {
	last     map[string]LastReading
	faults   map[string]bool // open fault kinds
	offline  bool
	heard    bool
	since    time.Time // of the state's last change
	readings int64
	events   int64
}

// LastReading is a point's last value.
type LastReading struct {
	Value   float64   `json:"value"`
	Unit    string    `json:"unit,omitempty"`
	Quality string    `json:"quality"`
	Time    time.Time `json:"time"`
}

// NewDeviceBoard tracks the given devices; others are ignored.
func NewDeviceBoard(devices []shouwang.Device) *DeviceBoard {
	b := &DeviceBoard{devices: map[string]*deviceState{}}
	for _, d := range devices {
		b.devices[d.ID] = &deviceState{last: map[string]LastReading{}, faults: map[string]bool{}}
	}
	return b
}

// Take follows the bus.
func (b *DeviceBoard) Take(_ context.Context, group []shouwang.Batch) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, batch := range group {
		for _, r := range batch.Readings {
			b.reading(r)
		}
		for _, e := range batch.Events {
			b.event(e)
		}
	}
	return nil
}

func (b *DeviceBoard) reading(r shouwang.Reading) {
	s := b.devices[r.Device]
	if s == nil {
		return
	}
	s.readings++
	if prev, ok := s.last[r.Point]; !ok || !r.Time.Before(prev.Time) {
		s.last[r.Point] = LastReading{Value: r.Value, Unit: r.Unit, Quality: r.Quality.String(), Time: r.Time}
	}
	// Only "online" ends offline: a driver may hand over what a failing
	// poll read before it failed, while it still holds the device offline.
	if !s.heard {
		s.heard, s.since = true, r.Time
	}
}

func (b *DeviceBoard) event(e shouwang.Event) {
	s := b.devices[e.Device]
	if s == nil {
		return
	}
	s.events++
	before := s.state()
	s.heard = true
	switch {
	case e.Kind == "offline":
		s.offline = true
	case e.Kind == "online":
		s.offline = false
	case shouwang.IsClearKind(e.Kind):
		for k := range s.faults {
			if shouwang.ClearKind(k) == e.Kind {
				delete(s.faults, k)
			}
		}
	case e.Severity == shouwang.Fault:
		s.faults[e.Kind] = true
	}
	if s.state() != before {
		s.since = e.Time
	}
}

func (s *deviceState) state() string {
	switch {
	case !s.heard:
		return StateUnknown
	case s.offline:
		return StateOffline
	case len(s.faults) > 0:
		return StateFault
	}
	return StateOnline
}

// deviceStatus is a device's state as the board holds it.
type deviceStatus struct {
	State    string
	Since    time.Time
	Last     map[string]LastReading
	Faults   []string
	Readings int64
	Events   int64
}

// Counts gives how many devices are in each state the board holds
// (unknown, online, fault, offline), for the gateway's metrics: a bus
// whose every device went offline is an alert of its own.
func (b *DeviceBoard) Counts() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]int{StateUnknown: 0, StateOnline: 0, StateFault: 0, StateOffline: 0}
	for _, s := range b.devices {
		out[s.state()]++
	}
	return out
}

func (b *DeviceBoard) status(id string) deviceStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.devices[id]
	if s == nil {
		return deviceStatus{State: StateUnknown}
	}
	st := deviceStatus{State: s.state(), Since: s.since, Last: maps.Clone(s.last), Readings: s.readings, Events: s.events}
	for k := range s.faults {
		st.Faults = append(st.Faults, k)
	}
	return st
}
