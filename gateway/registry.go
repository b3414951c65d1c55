package gateway

import (
	"fmt"
	"strings"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/camera"
	"github.com/shouwang-iot/shouwang/drivers/camera/report"
	"github.com/shouwang-iot/shouwang/drivers/modbus"
	"github.com/shouwang-iot/shouwang/drivers/mqtt"
	"github.com/shouwang-iot/shouwang/drivers/serial"
	"github.com/shouwang-iot/shouwang/drivers/sim"
	"github.com/shouwang-iot/shouwang/gateway/sinks/influxdb"
	mqttsink "github.com/shouwang-iot/shouwang/gateway/sinks/mqtt"
)

// DriverModule registers a driver by name. New returns the driver's
// Config holding its defaults; it must have no side effects.
type DriverModule struct {
	ID     string // "driver.<type>"
	New    func() shouwang.DriverConfig
	Sample []byte // the sample section shipped beside the driver
	// SampleDevices, if set, are the devices the sample names (a driver
	// whose section holds settings per device); without it, the sample
	// reads any devices.
	SampleDevices []byte
	// Model, if set, returns the empty section of a device profile that
	// describes a model to this driver (a register map), decoded from the
	// profile's key named for the driver type. Every device placed on the
	// driver must have a profile with that section.
	Model func() shouwang.ModelConfig
}

// SinkModule registers a sink by name, like DriverModule.
type SinkModule struct {
	ID     string // "sink.<type>"
	New    func() shouwang.SinkConfig
	Sample []byte
}

// The modules are an explicit list rather than init() side effects until
// drivers from outside this repository exist.
var (
	driverModules = registerDrivers(
		DriverModule{ID: "driver.sim", Sample: sim.Sample, New: func() shouwang.DriverConfig { c := sim.DefaultConfig(); return &c }},
		DriverModule{ID: "driver.modbus", Sample: modbus.Sample, New: func() shouwang.DriverConfig { c := modbus.DefaultConfig(); return &c },
			Model: func() shouwang.ModelConfig { return new(modbus.Model) }},
		DriverModule{ID: "driver.serial", Sample: serial.Sample, New: func() shouwang.DriverConfig { c := serial.DefaultConfig(); return &c }},
		DriverModule{ID: "driver.camera", Sample: camera.Sample, SampleDevices: camera.SampleDevices, New: func() shouwang.DriverConfig { c := camera.DefaultConfig(); return &c },
			Model: func() shouwang.ModelConfig { return new(report.Model) }},
		DriverModule{ID: "driver.mqtt", Sample: mqtt.Sample, New: func() shouwang.DriverConfig { c := mqtt.DefaultConfig(); return &c },
			Model: func() shouwang.ModelConfig { return new(mqtt.Model) }},
	)
	sinkModules = registerSinks(
		SinkModule{ID: "sink.influxdb", Sample: influxdb.Sample, New: func() shouwang.SinkConfig { c := influxdb.DefaultConfig(); return &c }},
		SinkModule{ID: "sink.mqtt", Sample: mqttsink.Sample, New: func() shouwang.SinkConfig { c := mqttsink.DefaultConfig(); return &c }},
	)
)

func registerDrivers(mods ...DriverModule) map[string]DriverModule {
	out := map[string]DriverModule{}
	for _, m := range mods {
		out[register(m.ID, "driver.", m.New != nil, out)] = m
	}
	return out
}

func registerSinks(mods ...SinkModule) map[string]SinkModule {
	out := map[string]SinkModule{}
	for _, m := range mods {
		out[register(m.ID, "sink.", m.New != nil, out)] = m
	}
	return out
}

// register checks a module ID and returns its short type name. A bad or
// duplicate ID is a programming error, so it panics at start-up.
func register[M any](id, prefix string, hasNew bool, seen map[string]M) string {
	name, ok := strings.CutPrefix(id, prefix)
	if !ok || name == "" || strings.ContainsAny(name, ". ") {
		panic(fmt.Sprintf("module ID %q must be %s<name>", id, prefix))
	}
	if !hasNew {
		panic(fmt.Sprintf("module %s has no New", id))
	}
	if _, dup := seen[name]; dup {
		panic(fmt.Sprintf("module %s registered twice", id))
	}
	return name
}

// DriverModules lists the registered drivers, sorted by ID.
func DriverModules() []DriverModule { return sortedModules(driverModules) }

// SinkModules lists the registered sinks, sorted by ID.
func SinkModules() []SinkModule { return sortedModules(sinkModules) }

func sortedModules[M any](mods map[string]M) []M {
	out := make([]M, 0, len(mods))
	for _, name := range sortedKeys(mods) {
		out = append(out, mods[name])
	}
	return out
}
