package sim

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// Smoke detector alarm levels. A standalone detector raises its alarm when
// the density reaches SmokeAlarmDensity and clears it only once the density
// is back below SmokeClearDensity, so noise around the threshold does not
// make it chatter.
const (
	SmokeAlarmDensity = 0.15 // dB/m
	SmokeClearDensity = 0.10 // dB/m
)

// curve says how fast a hazard develops: while the incident lasts the level
// approaches Peak as Peak·(1 − e^(−t/rise)), reaching 90 % after about
// 2.3·rise; after it ends the level decays as e^(−t/fall).
type curve struct{ rise, fall time.Duration }

var curves = map[string]curve{
	// A kitchen leak takes minutes to reach a few tens of %LEL: 25 %LEL
	// after about 3 min, 90 % of Peak after about 7 min; it clears over
	// minutes once the valve is shut and the window opened.
	KindGasLeak: {rise: 3 * time.Minute, fall: 4 * time.Minute},
	// CO from a faulty heater builds up over about 10 min and lingers.
	KindCOBuildup: {rise: 4 * time.Minute, fall: 6 * time.Minute},
	// Smoke fills a room within a couple of minutes.
	KindSmoke: {rise: time.Minute, fall: 90 * time.Second},
}

// Cooking raises a CO alarm's reading now and then, staying below 30 ppm
// (EN 50291: no alarm at 30 ppm for two hours).
const (
	cookingEvery   = 20 * time.Minute // mean time between spikes
	cookingMinLen  = time.Minute
	cookingMaxLen  = 3 * time.Minute
	cookingMinPeak = 8.0  // ppm above idle
	cookingMaxPeak = 24.0 // ppm above idle
)

// point is what a device type measures and how its idle value behaves.
type point struct {
	name, unit       string
	baseMin, baseMax float64 // per-device idle baseline, drawn once
	noise            float64 // standard deviation of the idle noise
	idleMin, idleMax float64 // idle value (baseline + noise) is clamped here
	fullScale        float64 // readings saturate here; 0 = no limit
	perUnit          float64 // readings are rounded to 1/perUnit of the unit
}

var points = map[string]point{
	TypeGas: {name: "gas", unit: "%LEL", baseMin: 0.2, baseMax: 0.6, noise: 0.15,
		idleMin: 0, idleMax: 1, fullScale: 100, perUnit: 10},
	TypeCO: {name: "co", unit: "ppm", baseMin: 0.5, baseMax: 2.5, noise: 0.8,
		idleMin: 0, idleMax: 5, perUnit: 1},
	TypeSmoke: {name: "smoke_density", unit: "dB/m", baseMin: 0.015, baseMax: 0.025, noise: 0.003,
		idleMin: 0.01, idleMax: 0.03, perUnit: 1000},
}

// Model is the simulated physics of the devices on one driver. It reads no
// clock: Step is given the time, and the time since start decides which
// incidents are active. The same config, devices, start and step times give
// the same batches.
//
// Step keeps alarm and one-shot event state, so it must be called with
// non-decreasing times. A Model is not safe for concurrent use.
type Model struct {
	start   time.Time
	last    time.Duration // time since start at the previous Step
	devices []*simDevice
}

type simDevice struct {
	id, typ   string
	pt        point
	rng       *rand.Rand
	base      float64 // idle baseline
	battery   float64 // % while no low_battery incident is active
	incidents []*incident
	smoke     latch

	// CO cooking spike in progress, in time since start; spikeLen 0 = none.
	spikeStart, spikeLen time.Duration
	spikeAmp             float64
}

type incident struct {
	Incident
	announced bool // its one-shot event has been emitted
	cleared   bool // a fault's end has been reported
}

func (in *incident) activeAt(el time.Duration) bool {
	return el >= in.At && (in.For == 0 || el < in.At+in.For)
}

// level is the hazard level the incident contributes at el.
func (in *incident) level(el time.Duration) float64 {
	if el < in.At {
		return 0
	}
	c := curves[in.Kind]
	if in.Rise > 0 {
		c.rise = in.Rise
	}
	if in.Fall > 0 {
		c.fall = in.Fall
	}
	approach := func(d time.Duration) float64 { return in.Peak * (1 - math.Exp(-d.Seconds()/c.rise.Seconds())) }
	t := el - in.At
	if in.For == 0 || t < in.For {
		return approach(t)
	}
	return approach(in.For) * math.Exp(-(t-in.For).Seconds()/c.fall.Seconds())
}

// latch is a threshold with hysteresis.
type latch struct {
	on, off float64
	active  bool
}

// update feeds a value and reports whether the latch just rose or fell.
func (l *latch) update(v float64) (rose, fell bool) {
	switch {
	case !l.active && v >= l.on:
		l.active = true
		return true, false
	case l.active && v < l.off:
		l.active = false
		return false, true
	}
	return false, false
}

// NewModel builds the model of devices as configured, starting at start.
// It returns the cfg.Validate error if the config does not fit the devices.
func NewModel(cfg Config, devices []shouwang.Device, start time.Time) (*Model, error) {
	if err := cfg.Validate(devices, nil); err != nil {
		return nil, err
	}
	m := &Model{start: start, devices: make([]*simDevice, 0, len(devices))}
	byID := make(map[string]*simDevice, len(devices))
	for _, dev := range devices {
		h := fnv.New64a()
		h.Write([]byte(dev.ID))
		pt := points[dev.Type]
		d := &simDevice{
			id:    dev.ID,
			typ:   dev.Type,
			pt:    pt,
			rng:   rand.New(rand.NewPCG(uint64(cfg.Seed), h.Sum64())),
			smoke: latch{on: SmokeAlarmDensity, off: SmokeClearDensity},
		}
		d.base = pt.baseMin + d.rng.Float64()*(pt.baseMax-pt.baseMin)
		d.battery = float64(70 + d.rng.IntN(31))
		m.devices = append(m.devices, d)
		byID[dev.ID] = d
	}
	for _, in := range cfg.Incidents {
		if in.Peak == 0 {
			in.Peak = DefaultPeak(in.Kind)
		}
		d := byID[in.Device]
		d.incidents = append(d.incidents, &incident{Incident: in})
	}
	return m, nil
}

// Step advances the model to now and returns what the devices report at
// now: for each device that is not offline, its measured point and its
// battery, then the events that became due.
func (m *Model) Step(now time.Time) shouwang.Batch {
	el := max(now.Sub(m.start), 0)
	dt := max(el-m.last, 0)
	m.last = el
	b := shouwang.Batch{Readings: make([]shouwang.Reading, 0, 2*len(m.devices))}
	for _, d := range m.devices {
		d.step(&b, now, el, dt)
	}
	return b
}

func (d *simDevice) step(b *shouwang.Batch, now time.Time, el, dt time.Duration) {
	var offline, faulty bool
	hazard := 0.0
	battery := d.battery
	for _, in := range d.incidents {
		switch in.Kind {
		case KindGasLeak, KindCOBuildup, KindSmoke:
			hazard = max(hazard, in.level(el))
		case KindOffline:
			offline = offline || in.activeAt(el)
		case KindFault:
			faulty = faulty || in.activeAt(el)
		case KindLowBattery:
			if in.activeAt(el) {
				battery = min(battery, in.Peak)
			}
		}
	}
	// The noise is drawn whether or not the device reports, so a device's
	// values do not depend on when it was offline.
	idle := d.base + d.rng.NormFloat64()*d.pt.noise
	idle = min(max(idle, d.pt.idleMin), d.pt.idleMax)
	if d.typ == TypeCO {
		idle += d.cooking(el, dt)
	}
	if offline {
		return
	}

	value := d.pt.quantize(idle + hazard)
	quality := shouwang.Good
	if faulty {
		quality = shouwang.Bad
	}
	b.Readings = append(b.Readings,
		shouwang.Reading{Device: d.id, Point: d.pt.name, Value: value, Unit: d.pt.unit, Quality: quality, Time: now},
		shouwang.Reading{Device: d.id, Point: "battery", Value: max(math.Round(battery), 0), Unit: "%", Quality: quality, Time: now},
	)

	for _, in := range d.incidents {
		if in.Kind == KindFault && in.announced && !in.cleared && !in.activeAt(el) {
			// A detector reports that its fault is gone, as real ones do.
			in.cleared = true
			b.Events = append(b.Events, shouwang.Event{Device: d.id, Kind: shouwang.ClearKind("fault"), Severity: shouwang.Info,
				Message: "sensor fault cleared", Time: now})
		}
		if in.announced || !in.activeAt(el) {
			continue
		}
		switch in.Kind {
		case KindFault:
			in.announced = true
			b.Events = append(b.Events, shouwang.Event{Device: d.id, Kind: "fault", Severity: shouwang.Fault,
				Message: "sensor fault", Time: now})
		case KindLowBattery:
			in.announced = true
			pct := strconv.FormatFloat(math.Round(battery), 'f', -1, 64)
			b.Events = append(b.Events, shouwang.Event{Device: d.id, Kind: "low_battery", Severity: shouwang.Warning,
				Message: "battery low: " + pct + " %", Time: now, Attrs: map[string]string{"battery": pct}})
		}
	}

	// A detector in fault does not judge smoke from its bad readings.
	if d.typ == TypeSmoke && !faulty {
		rose, fell := d.smoke.update(value)
		attrs := func() map[string]string {
			return map[string]string{"value": strconv.FormatFloat(value, 'f', 3, 64), "unit": d.pt.unit}
		}
		switch {
		case rose:
			b.Events = append(b.Events, shouwang.Event{Device: d.id, Kind: "smoke_alarm", Severity: shouwang.Fire,
				Message: fmt.Sprintf("smoke density %.3f dB/m reached the alarm level %.2f dB/m", value, SmokeAlarmDensity),
				Time:    now, Attrs: attrs()})
		case fell:
			b.Events = append(b.Events, shouwang.Event{Device: d.id, Kind: shouwang.ClearKind("smoke_alarm"), Severity: shouwang.Info,
				Message: fmt.Sprintf("smoke density %.3f dB/m back below %.2f dB/m", value, SmokeClearDensity),
				Time:    now, Attrs: attrs()})
		}
	}
}

// cooking returns the CO a cooking spike adds at el, starting a new spike
// now and then (a Poisson process with mean interval cookingEvery).
func (d *simDevice) cooking(el, dt time.Duration) float64 {
	if d.spikeLen > 0 && el >= d.spikeStart+d.spikeLen {
		d.spikeLen = 0
	}
	if d.spikeLen == 0 {
		p := 1 - math.Exp(-dt.Seconds()/cookingEvery.Seconds())
		if d.rng.Float64() >= p {
			return 0
		}
		d.spikeStart = el
		d.spikeLen = cookingMinLen + time.Duration(d.rng.Int64N(int64(cookingMaxLen-cookingMinLen)))
		d.spikeAmp = cookingMinPeak + d.rng.Float64()*(cookingMaxPeak-cookingMinPeak)
	}
	x := (el - d.spikeStart).Seconds() / d.spikeLen.Seconds()
	return d.spikeAmp * math.Sin(math.Pi*x)
}

// quantize rounds v to the point's resolution and keeps it within the
// sensor's range; it never returns a negative value (nor -0). Dividing the
// rounded integer by perUnit gives the double nearest the decimal, so a
// reading prints as the sensor shows it (0.3, not 0.30000000000000004).
func (p point) quantize(v float64) float64 {
	if p.fullScale > 0 {
		v = min(v, p.fullScale)
	}
	return max(math.Round(v*p.perUnit)/p.perUnit, 0)
}
