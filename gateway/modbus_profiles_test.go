package gateway

import (
	"slices"
	"testing"
	"time"

	gm "github.com/goburrow/modbus"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/modbus"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// shippedModbus are the built-in profiles that must have a modbus section.
var shippedModbus = []string{"co-detector-generic", "fire-panel-modbus-status", "gas-detector-lel-generic", "smoke-detector-generic"}

// modbusProfiles loads the built-in profiles through the real loader and
// returns those with a modbus section, by model name, sorted.
func modbusProfiles(tb testing.TB) ([]*Profile, map[string]*modbus.Model) {
	tb.Helper()
	profiles, err := LoadProfiles("")
	if err != nil {
		tb.Fatalf("built-in profiles: %v", err)
	}
	var out []*Profile
	models := map[string]*modbus.Model{}
	for _, name := range sortedKeys(profiles) {
		p := profiles[name]
		mc, ok := p.Drivers["modbus"]
		if !ok {
			continue
		}
		m, ok := mc.(*modbus.Model)
		if !ok {
			tb.Fatalf("%s: the modbus section is a %T", p.File, mc)
		}
		out = append(out, p)
		models[p.Model] = m
	}
	return out, models
}

// TestShippedModbusProfiles: each built-in modbus section reads only
// points and raises only events its profile lists, and polls in exactly
// the fewest requests its map allows.
func TestShippedModbusProfiles(t *testing.T) {
	profiles, models := modbusProfiles(t)
	var names []string
	for _, p := range profiles {
		names = append(names, p.Model)
	}
	if !slices.Equal(names, shippedModbus) {
		t.Errorf("built-in profiles with a modbus section: %q, want %q", names, shippedModbus)
	}
	for _, p := range profiles {
		t.Run(p.Model, func(t *testing.T) {
			m := models[p.Model]
			listed := func(name string) bool {
				return slices.ContainsFunc(p.Points, func(pt PointSpec) bool { return pt.Name == name })
			}
			for _, pt := range m.Points {
				if !listed(pt.Name) {
					t.Errorf("reads point %q, which the profile does not list", pt.Name)
				}
			}
			for _, st := range m.Status {
				if !listed(st.Name) {
					t.Errorf("reads status register %q, which the profile does not list", st.Name)
				}
			}
			for _, kind := range m.EventKinds() {
				if !slices.ContainsFunc(p.Events, func(ev EventSpec) bool { return ev.Kind == kind }) {
					t.Errorf("raises event %q, which the profile does not list", kind)
				}
			}
			points, lim := m.PollPoints(), m.Limits()
			if len(points) != len(m.Points)+len(m.Status) {
				t.Errorf("%d poll points for %d points and %d status registers", len(points), len(m.Points), len(m.Status))
			}
			plan, err := modbus.NewPollPlan(points, lim)
			if err != nil {
				t.Fatal(err)
			}
			min := modbus.Minimum(points, lim)
			if got := len(plan.Requests()); got != min || min < 1 {
				t.Errorf("%d requests per poll cycle, the minimum is %d", got, min)
			}
			// Provision handed over the profile's units.
			for _, pt := range points {
				i := slices.IndexFunc(p.Points, func(ps PointSpec) bool { return ps.Name == pt.Name })
				if i >= 0 && pt.Unit != p.Points[i].Unit {
					t.Errorf("point %q has unit %q, the profile says %q", pt.Name, pt.Unit, p.Points[i].Unit)
				}
			}
		})
	}
}

// profileSlave is a Modbus slave whose blocks cover every entry model m
// polls, and no more.
func profileSlave(m *modbus.Model) testenv.ModbusSlave {
	var end [modbus.InputRegisters + 1]int
	for _, pt := range m.PollPoints() {
		end[pt.Table] = max(end[pt.Table], int(pt.Address)+int(pt.Span()))
	}
	return testenv.ModbusSlave{
		ID:       m.SlaveID,
		Coils:    make([]bool, end[modbus.Coils]),
		Discrete: make([]bool, end[modbus.DiscreteInputs]),
		Holding:  make([]uint16, end[modbus.HoldingRegisters]),
		Input:    make([]uint16, end[modbus.InputRegisters]),
	}
}

// BenchmarkProfileRequests prints, for every built-in profile with a
// modbus section, the requests its poll plan makes per cycle next to the
// fewest any plan can make ("plan"), and then the transactions a real
// poll of a pymodbus slave with the profile's map takes per cycle
// ("pymodbus"; skipped without pymodbus, like testenv's other servers).
// Both should equal the minimum.
func BenchmarkProfileRequests(b *testing.B) {
	profiles, models := modbusProfiles(b)
	for _, p := range profiles {
		m := models[p.Model]
		points, lim := m.PollPoints(), m.Limits()
		min := modbus.Minimum(points, lim)
		b.Run(p.Model, func(b *testing.B) {
			b.Run("plan", func(b *testing.B) {
				var plan *modbus.PollPlan
				for b.Loop() {
					var err error
					if plan, err = modbus.NewPollPlan(points, lim); err != nil {
						b.Fatal(err)
					}
				}
				n := len(plan.Requests())
				if n != min {
					b.Errorf("%d requests per cycle, the minimum is %d", n, min)
				}
				b.ReportMetric(float64(n), "requests/cycle")
				b.ReportMetric(float64(min), "minimum")
			})
			b.Run("pymodbus", func(b *testing.B) {
				srv := testenv.StartModbusTCP(b, profileSlave(m))
				h := gm.NewTCPClientHandler(srv.Addr)
				h.SlaveId, h.Timeout = m.SlaveID, 2*time.Second
				if err := h.Connect(); err != nil {
					b.Fatal(err)
				}
				defer h.Close()
				client := gm.NewClient(h)
				plan, err := modbus.NewPollPlan(points, lim)
				if err != nil {
					b.Fatal(err)
				}
				now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
				var readings []shouwang.Reading
				before := srv.Requests(b)[m.SlaveID]
				cycles, transactions := 0, 0
				for b.Loop() {
					var st modbus.PollStats
					readings, st, err = modbus.Poll(client, plan, points, p.Model, now, readings[:0], nil)
					if err != nil {
						b.Fatal(err)
					}
					if st.Splits != 0 || st.Unreadable != 0 {
						b.Fatalf("the slave refuses part of the map: %+v", st)
					}
					cycles++
					transactions += st.Transactions
				}
				for _, r := range readings {
					if r.Quality != shouwang.Good {
						b.Errorf("reading %+v", r)
					}
				}
				if served := srv.Requests(b)[m.SlaveID] - before; served != transactions {
					b.Errorf("pymodbus answered %d requests, Poll counted %d", served, transactions)
				}
				perCycle := float64(transactions) / float64(cycles)
				if perCycle != float64(min) {
					b.Errorf("%g transactions per cycle, the minimum is %d", perCycle, min)
				}
				b.ReportMetric(perCycle, "transactions/cycle")
				b.ReportMetric(float64(min), "minimum")
			})
		})
	}
}
