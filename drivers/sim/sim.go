// Package sim is a driver that simulates household gas detectors, CO alarms
// and smoke detectors, with scripted incidents (a gas leak, a CO build-up,
// smoke, a fault, a device going offline, a low battery). It powers
// `shouwang demo` and the benchmarks.
//
// The physics lives in Model, which is driven by the times it is given and
// never reads a clock; Driver runs one goroutine that steps the model on a
// ticker and publishes one Batch per tick. An optional load generator
// (Config.Load) publishes numbered readings of synthetic devices at a set
// rate, for whole-process benchmarks and the zero-loss test.
package sim

import (
	_ "embed"

	"github.com/shouwang-iot/shouwang"
)

// Sample is a commented driver section, as it appears under `drivers:` in
// the gateway config file.
//
//go:embed sample.yaml
var Sample []byte

var (
	_ shouwang.Driver       = (*Driver)(nil)
	_ shouwang.DriverConfig = (*Config)(nil)
)
