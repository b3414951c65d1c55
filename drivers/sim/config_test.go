package sim

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

func TestValidate(t *testing.T) {
	leak := func(mod func(*Incident)) func(*Config) {
		return func(c *Config) {
			in := Incident{Kind: KindGasLeak, Device: gasID, At: time.Minute, For: 5 * time.Minute}
			mod(&in)
			c.Incidents = append(c.Incidents, in)
		}
	}
	panel := shouwang.Device{ID: "3-fire-panel", Type: "panel"}
	type problem struct{ field, contains string }
	tests := []struct {
		name    string
		mod     func(*Config)
		devices []shouwang.Device // nil means testDevices()
		want    []problem
	}{
		{name: "defaults", mod: func(*Config) {}},
		{name: "every kind on a device it fits", mod: func(c *Config) {
			c.Incidents = []Incident{
				{Kind: KindGasLeak, Device: gasID, Peak: 100},
				{Kind: KindCOBuildup, Device: coID, Peak: 1000},
				{Kind: KindSmoke, Device: smokeID, For: time.Minute},
				{Kind: KindFault, Device: gasID},
				{Kind: KindOffline, Device: coID},
				{Kind: KindLowBattery, Device: smokeID, Peak: 5},
			}
		}},
		{name: "zero interval", mod: func(c *Config) { c.Interval = 0 },
			want: []problem{{"interval", "must be positive, got 0s (e.g. 1s)"}}},
		{name: "negative interval", mod: func(c *Config) { c.Interval = -time.Second },
			want: []problem{{"interval", "must be positive, got -1s"}}},
		{name: "unknown kind", mod: leak(func(in *Incident) { in.Kind = "gas_lek" }),
			want: []problem{{"incidents[0].kind",
				`unknown kind "gas_lek" (valid: gas_leak, co_buildup, smoke, fault, offline, low_battery)`}}},
		{name: "missing kind", mod: leak(func(in *Incident) { in.Kind = "" }),
			want: []problem{{"incidents[0].kind", "missing (valid: gas_leak,"}}},
		{name: "device not on this driver", mod: leak(func(in *Incident) { in.Device = "1203-kitchen-gas" }),
			want: []problem{{"incidents[0].device",
				`device "1203-kitchen-gas" is not on this driver (devices on it: 1202-kitchen-gas, 1202-kitchen-co, 1202-hall-smoke)`}}},
		{name: "missing device", mod: leak(func(in *Incident) { in.Device = "" }),
			want: []problem{{"incidents[0].device", "missing (devices on it: 1202-kitchen-gas"}}},
		{name: "no devices on the driver", mod: leak(func(*Incident) {}), devices: []shouwang.Device{},
			want: []problem{{"incidents[0].device", "(no devices are placed on this driver)"}}},
		{name: "many devices are cut short", mod: leak(func(in *Incident) { in.Device = "x" }),
			devices: []shouwang.Device{
				{ID: "g1", Type: "gas"}, {ID: "g2", Type: "gas"}, {ID: "g3", Type: "gas"}, {ID: "g4", Type: "gas"},
				{ID: "g5", Type: "gas"}, {ID: "g6", Type: "gas"}, {ID: "g7", Type: "gas"},
			},
			want: []problem{{"incidents[0].device", "(devices on it: g1, g2, g3, g4, g5 and 2 more)"}}},
		{name: "gas leak on a smoke sensor", mod: leak(func(in *Incident) { in.Device = smokeID }),
			want: []problem{{"incidents[0].kind",
				`gas_leak does not fit device "1202-hall-smoke" of type smoke (valid for it: smoke, fault, offline, low_battery)`}}},
		{name: "smoke on a CO alarm", mod: func(c *Config) { c.Incidents = []Incident{{Kind: KindSmoke, Device: coID}} },
			want: []problem{{"incidents[0].kind", "(valid for it: co_buildup, fault,"}}},
		{name: "device type the simulator cannot simulate", mod: func(*Config) {},
			devices: append(testDevices(), panel),
			want:    []problem{{`devices["3-fire-panel"].type`, `type "panel" cannot be simulated (valid: gas, co, smoke)`}}},
		{name: "incident on an unsimulated device reports only the device",
			mod:     leak(func(in *Incident) { in.Device = panel.ID }),
			devices: []shouwang.Device{panel},
			want:    []problem{{`devices["3-fire-panel"].type`, "cannot be simulated"}}},
		{name: "negative at", mod: leak(func(in *Incident) { in.At = -time.Second }),
			want: []problem{{"incidents[0].at", "must not be negative, got -1s"}}},
		{name: "negative for", mod: leak(func(in *Incident) { in.For = -time.Minute }),
			want: []problem{{"incidents[0].for", "must not be negative, got -1m0s (0 lasts until the driver stops)"}}},
		{name: "negative rise", mod: leak(func(in *Incident) { in.Rise = -time.Second }),
			want: []problem{{"incidents[0].rise", "must be a positive duration for gas_leak, co_buildup or smoke (e.g. 1m; 0 = the kind's own), got -1s for gas_leak"}}},
		{name: "rise on a fault", mod: func(c *Config) { c.Incidents = []Incident{{Kind: KindFault, Device: coID, Rise: time.Second}} },
			want: []problem{{"incidents[0].rise", "must be a positive duration for gas_leak, co_buildup or smoke (e.g. 1m; 0 = the kind's own), got 1s for fault"}}},
		{name: "fall on a fault", mod: func(c *Config) { c.Incidents = []Incident{{Kind: KindFault, Device: coID, Fall: time.Second}} },
			want: []problem{{"incidents[0].fall", "must be a positive duration for gas_leak, co_buildup or smoke (e.g. 1m; 0 = the kind's own), got 1s for fault"}}},
		{name: "gas peak above 100 %LEL", mod: leak(func(in *Incident) { in.Peak = 120 }),
			want: []problem{{"incidents[0].peak", "must be within 0-100 %LEL, got 120 (0 = default 40)"}}},
		{name: "negative CO peak", mod: func(c *Config) { c.Incidents = []Incident{{Kind: KindCOBuildup, Device: coID, Peak: -1}} },
			want: []problem{{"incidents[0].peak", "must not be negative, got -1 (0 = default 300)"}}},
		{name: "NaN peak", mod: leak(func(in *Incident) { in.Peak = math.NaN() }),
			want: []problem{{"incidents[0].peak", "must be a finite number, got NaN"}}},
		{name: "battery level above 100 %", mod: func(c *Config) {
			c.Incidents = []Incident{{Kind: KindLowBattery, Device: coID, Peak: 150}}
		}, want: []problem{{"incidents[0].peak", "battery level within 0-100 %, got 150"}}},
		{name: "fault takes no peak", mod: func(c *Config) { c.Incidents = []Incident{{Kind: KindFault, Device: coID, Peak: 3}} },
			want: []problem{{"incidents[0].peak", "fault takes no peak, got 3 (leave it out)"}}},
		{name: "load off by default", mod: func(c *Config) {
			if c.Load != (Load{Devices: 100, Batch: 100}) {
				t.Errorf("default load %+v, want off with 100 devices and batches of 100", c.Load)
			}
		}},
		{name: "load on needs no devices on the driver", devices: []shouwang.Device{},
			mod: func(c *Config) {
				c.Load = Load{Rate: 50000, Devices: 1, Batch: MaxLoadBatch, LogAcks: true, Limit: 1e6}
			}},
		{name: "load off ignores devices", mod: func(c *Config) { c.Load.Devices = 0 }},
		{name: "negative load rate", mod: func(c *Config) { c.Load.Rate = -1 },
			want: []problem{{"load.rate", "must not be negative, got -1 (readings per second in total, e.g. 10000; 0 = off)"}}},
		{name: "load on with no load devices", mod: func(c *Config) { c.Load.Rate, c.Load.Devices = 100, 0 },
			want: []problem{{"load.devices", "must be at least 1 when rate is set, got 0 (number of synthetic devices; default 100)"}}},
		{name: "load batch 0", mod: func(c *Config) { c.Load.Rate, c.Load.Batch = 100, 0 },
			want: []problem{{"load.batch", "must be within 1-10000, got 0 (readings per publish; default 100)"}}},
		{name: "load batch too large", mod: func(c *Config) { c.Load.Batch = MaxLoadBatch + 1 },
			want: []problem{{"load.batch", "must be within 1-10000, got 10001"}}},
		{name: "negative load limit", mod: func(c *Config) { c.Load.Limit = -5 },
			want: []problem{{"load.limit", "must not be negative, got -5 (readings to generate before stopping; 0 = no limit)"}}},
		{name: "every load problem together", mod: func(c *Config) {
			c.Load = Load{Rate: -3, Devices: -1, Batch: -1, Limit: -1}
		}, want: []problem{
			{"load.rate", "must not be negative"},
			{"load.batch", "must be within 1-10000"},
			{"load.limit", "must not be negative"},
		}},
		{name: "every problem is reported together",
			mod: func(c *Config) {
				c.Interval = 0
				c.Incidents = []Incident{
					{Kind: KindGasLeak, Device: gasID},                   // fine
					{Kind: "flood", Device: "nowhere", At: -time.Second}, // three problems
					{Kind: KindGasLeak, Device: smokeID, Peak: 200},      // two problems
					{Kind: KindOffline, Device: panel.ID, For: -1},       // fits any type; for is bad
				}
				c.Load.Rate, c.Load.Devices = 10, 0
			},
			devices: append(testDevices(), panel),
			want: []problem{
				{"interval", "must be positive"},
				{`devices["3-fire-panel"].type`, "cannot be simulated"},
				{"incidents[1].kind", `unknown kind "flood"`},
				{"incidents[1].device", `device "nowhere" is not on this driver`},
				{"incidents[1].at", "must not be negative"},
				{"incidents[2].kind", "gas_leak does not fit"},
				{"incidents[2].peak", "must be within 0-100 %LEL"},
				{"incidents[3].for", "must not be negative"},
				{"load.devices", "must be at least 1"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mod(&cfg)
			devices := tt.devices
			if devices == nil {
				devices = testDevices()
			}
			err := cfg.Validate(devices, nil)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			var fe shouwang.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("Validate: %v (%T), want shouwang.FieldErrors", err, err)
			}
			var got, want []string
			for _, e := range fe {
				got = append(got, e.Field)
			}
			for _, p := range tt.want {
				want = append(want, p.field)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("fields %q, want %q\n(errors: %v)", got, want, err)
			}
			for i, p := range tt.want {
				if !strings.Contains(fe[i].Problem, p.contains) {
					t.Errorf("%s: problem %q, want it to contain %q", p.field, fe[i].Problem, p.contains)
				}
			}
		})
	}
}

func TestNewDriverRejectsInvalidConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Incidents = []Incident{{Kind: KindSmoke, Device: gasID}}
	d, err := cfg.NewDriver(shouwang.DriverEnv{Name: "sim-b3", Devices: testDevices()})
	if d != nil {
		t.Errorf("NewDriver returned a driver (%v) with an error", d)
	}
	var fe shouwang.FieldErrors
	if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Field != "incidents[0].kind" {
		t.Fatalf("NewDriver: %v, want the FieldErrors of Validate", err)
	}
	if !strings.HasPrefix(err.Error(), `sim driver "sim-b3": incidents[0].kind: smoke does not fit`) {
		t.Errorf("NewDriver error %q does not name the driver", err)
	}
}

func TestNewDriverDoesNotAliasConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Incidents = []Incident{{Kind: KindGasLeak, Device: gasID}}
	drv, err := cfg.NewDriver(shouwang.DriverEnv{Name: "sim", Devices: testDevices()})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Incidents[0].Kind = "changed later"
	if got := drv.(*Driver).cfg.Incidents[0].Kind; got != KindGasLeak {
		t.Errorf("driver's incident kind changed with the caller's config: %q", got)
	}
}
