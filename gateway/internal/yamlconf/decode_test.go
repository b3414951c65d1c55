package yamlconf

import (
	"encoding"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// level is a TextUnmarshaler whose errors quote the input, like most.
type level int

func (l *level) UnmarshalText(b []byte) error {
	s, ok := shouwang.ParseSeverity(string(b))
	if !ok {
		return &textErr{string(b)}
	}
	*l = level(s)
	return nil
}

type textErr struct{ in string }

func (e *textErr) Error() string { return "unknown level " + e.in }

var _ encoding.TextUnmarshaler = (*level)(nil)

func TestDecodeTypes(t *testing.T) {
	tests := []struct {
		name   string
		src    string // the YAML after "v: "
		target any    // a pointer to the (default) value
		want   any    // *target after decoding
		err    string // the whole error text, "" for none
	}{
		{"string", "hello", new(string), "hello", ""},
		{"string quoted", `"a: b"`, new(string), "a: b", ""},
		{"string from number", "1202", new(string), "1202", ""},
		{"string literal block", "|\n  two\n  lines", new(string), "two\nlines\n", ""},
		{"string from list", "[a]", new(string), "", "f.yaml:1:4: v: want a string, found a list"},
		{"secret", "s3cret", new(shouwang.Secret), shouwang.Secret("s3cret"), ""},
		{"bool true", "true", new(bool), true, ""},
		{"bool False", "False", new(bool), false, ""},
		{"bool yes", "yes please", new(bool), false, `f.yaml:1:4: v: want true or false, found "yes please"`},
		{"bool mapping", "{a: 1}", new(bool), false, "f.yaml:1:4: v: want true or false, found a mapping"},
		{"int", "502", new(int), 502, ""},
		{"int negative", "-12", new(int), -12, ""},
		{"int hex", "0x1F", new(int), 31, ""},
		{"int octal", "0o17", new(int), 15, ""},
		{"int binary", "0b101", new(int), 5, ""},
		{"int underscores", "1_000", new(int), 1000, ""},
		{"int leading zero is decimal", "017", new(int), 17, ""},
		{"int quoted", `"502"`, new(int), 502, ""},
		{"int text", "abc", new(int), 0, `f.yaml:1:4: v: cannot use "abc" as an integer (want a whole number like 502)`},
		{"int float", "1.5", new(int), 0, "f.yaml:1:4: v: cannot use 1.5 as an integer (want a whole number like 502)"},
		{"int list", "[1]", new(int), 0, "f.yaml:1:4: v: want a whole number like 502, found a list"},
		{"int8 min", "-128", new(int8), int8(-128), ""},
		{"int8 too small", "-129", new(int8), int8(0), "f.yaml:1:4: v: -129 does not fit in int8 (want -128 to 127)"},
		{"int16", "32767", new(int16), int16(32767), ""},
		{"int32 too big", "2147483648", new(int32), int32(0), "f.yaml:1:4: v: 2147483648 does not fit in int32 (want -2147483648 to 2147483647)"},
		{"int64 min", "-9223372036854775808", new(int64), int64(math.MinInt64), ""},
		{"int64 huge", "99999999999999999999", new(int64), int64(0), "f.yaml:1:4: v: 99999999999999999999 does not fit in int64 (want -9223372036854775808 to 9223372036854775807)"},
		{"uint8", "255", new(uint8), uint8(255), ""},
		{"uint8 too big", "300", new(uint8), uint8(0), "f.yaml:1:4: v: 300 does not fit in uint8 (want 0 to 255)"},
		{"uint16 negative", "-1", new(uint16), uint16(0), "f.yaml:1:4: v: -1 does not fit in uint16 (want 0 to 65535)"},
		{"uint32", "4294967295", new(uint32), uint32(math.MaxUint32), ""},
		{"uint64 max", "18446744073709551615", new(uint64), uint64(math.MaxUint64), ""},
		{"uint", "7", new(uint), uint(7), ""},
		{"float64", "0.25", new(float64), 0.25, ""},
		{"float64 exponent", "1.5e3", new(float64), 1500.0, ""},
		{"float64 integer", "3", new(float64), 3.0, ""},
		{"float64 inf", "-.inf", new(float64), math.Inf(-1), ""},
		{"float64 text", "abc", new(float64), 0.0, `f.yaml:1:4: v: cannot use "abc" as a number (want a number like 0.5)`},
		{"float64 go inf not yaml", "inf", new(float64), 0.0, `f.yaml:1:4: v: cannot use "inf" as a number (want a number like 0.5)`},
		{"float32", "0.5", new(float32), float32(0.5), ""},
		{"float32 too big", "1.0e39", new(float32), float32(0), "f.yaml:1:4: v: 1.0e39 does not fit in float32"},
		{"duration", "1h30m", new(time.Duration), 90 * time.Minute, ""},
		{"duration quoted", `"250ms"`, new(time.Duration), 250 * time.Millisecond, ""},
		{"duration zero", "0", new(time.Duration), time.Duration(0), ""},
		{"duration bare integer", "30", new(time.Duration), time.Duration(0), `f.yaml:1:4: v: cannot use 30 as a duration, it has no unit (want e.g. "30s")`},
		{"duration text", "soon", new(time.Duration), time.Duration(0), `f.yaml:1:4: v: cannot use "soon" as a duration (want a Go duration like "30s" or "1h30m")`},
		{"text unmarshaler", "alarm", new(level), level(shouwang.Alarm), ""},
		{"text unmarshaler error", "loud", new(level), level(0), `f.yaml:1:4: v: cannot use "loud" as yamlconf.level: unknown level loud`},
		{"text unmarshaler mapping", "{a: 1}", new(level), level(0), "f.yaml:1:4: v: want a single value (yamlconf.level), found a mapping"},
		{"netip", "10.0.0.7:502", new(netip.AddrPort), netip.MustParseAddrPort("10.0.0.7:502"), ""},
		{"pointer", "5", new(*int), ptr(5), ""},
		{"slice", "[1, 2]", new([]int), []int{1, 2}, ""},
		{"slice block", "\n  - a\n  - b", new([]string), []string{"a", "b"}, ""},
		{"slice mapping", "{a: 1}", new([]int), []int(nil), "f.yaml:1:4: v: want a list, found a mapping"},
		{"slice scalar", "a", new([]string), []string(nil), `f.yaml:1:4: v: want a list, found "a"`},
		{"map", "{a: 1, b: 2}", new(map[string]int), map[string]int{"a": 1, "b": 2}, ""},
		{"map named key", "{x: y}", new(map[shouwang.Secret]string), map[shouwang.Secret]string{"x": "y"}, ""},
		{"map int key", "{1: y}", new(map[int]string), map[int]string(nil), "f.yaml:1:4: v: cannot decode into Go type map[int]string, map keys must be strings (a bug in the program, not in the config)"},
		{"map list", "[1]", new(map[string]int), map[string]int(nil), "f.yaml:1:4: v: want a mapping, found a list"},
		{"any", "{a: [1, 2.5, true, ~, s, \"7\"], b: -3}", new(any),
			map[string]any{"a": []any{1, 2.5, true, nil, "s", "7"}, "b": -3}, ""},
		{"any scalar", "hi", new(any), "hi", ""},
		{"struct", "{id: d1, location: {floor: 12}}", new(shouwang.Device),
			shouwang.Device{ID: "d1", Location: shouwang.Location{Floor: 12}}, ""},
		{"struct from scalar", "d1", new(shouwang.Device), shouwang.Device{}, `f.yaml:1:4: v: want a mapping, found "d1"`},
		{"unsupported type", "1", new(chan int), (chan int)(nil), "f.yaml:1:4: v: cannot decode into Go type chan int (a bug in the program, not in the config)"},
		{"unsupported array", "[1, 2]", new([2]int), [2]int{}, "f.yaml:1:4: v: cannot decode into Go type [2]int (a bug in the program, not in the config)"},
		{"interface with methods", "x", new(error), error(nil), "f.yaml:1:4: v: cannot decode into Go type error (a bug in the program, not in the config)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := MustParse(t, "f.yaml", "v: "+tt.src+"\n")
			errs := d.Decode("v", tt.target)
			if got := lines(errs.Err()); got != tt.err {
				t.Errorf("errors:\n got %s\nwant %s", got, tt.err)
			}
			got := reflect.ValueOf(tt.target).Elem().Interface()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("value: got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestDecodeKeepsDefaults(t *testing.T) {
	src := `gateway:
  name:
  interval: ~
  level: null
  debug: true
limits:
  maxbatch:
  depth: 9
`
	d := MustParse(t, "f.yaml", src)
	cfg := defaultConfig()
	if errs := d.Decode("", &cfg); errs != nil {
		t.Fatal(errs)
	}
	want := defaultConfig()
	want.Gateway.Debug = true
	want.Limits.Depth = 9
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got %+v\nwant %+v", cfg, want)
	}
}

func TestDecodeInline(t *testing.T) {
	d := MustParse(t, "f.yaml", "limits: {retries: 5, maxbatch: 7, slots: 2}\n")
	cfg := defaultConfig()
	if errs := d.Decode("", &cfg); errs != nil {
		t.Fatal(errs)
	}
	want := limits{common: common{Retries: 5, Timeout: 1.5}, MaxBatch: 7, Slots: 2}
	if cfg.Limits != want {
		t.Errorf("got %+v, want %+v", cfg.Limits, want)
	}
}

// Shared is exported so that a pointer to it can be embedded and allocated.
type Shared struct {
	Zone string `yaml:"zone"`
}

func TestDecodeInlinePointer(t *testing.T) {
	var v struct {
		*Shared `yaml:",inline"`
		Zone    int `yaml:"zone"` // the outer field wins
		Name    string
	}
	d := MustParse(t, "f.yaml", "zone: 3\nname: x\n")
	if errs := d.Decode("", &v); errs != nil || v.Zone != 3 || v.Name != "x" || v.Shared != nil {
		t.Errorf("got %+v %v", v, errs)
	}
	var w struct {
		*Shared `yaml:",inline"`
	}
	d = MustParse(t, "f.yaml", "zone: z\n")
	if errs := d.Decode("", &w); errs != nil || w.Shared == nil || w.Zone != "z" {
		t.Errorf("got %+v %v", w, errs)
	}
}

func TestDecodeAnyScalars(t *testing.T) {
	src := "[1, -0x10, 18446744073709551615, 99999999999999999999, 0.5, .inf, true, FALSE, null, '5']\n"
	d := MustParse(t, "f.yaml", src)
	var v any
	if errs := d.Decode("", &v); errs != nil {
		t.Fatal(errs)
	}
	want := []any{1, -16, uint64(math.MaxUint64), "99999999999999999999", 0.5, math.Inf(1), true, false, nil, "5"}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("got  %#v\nwant %#v", v, want)
	}
}

func TestDecodeMapMergesOverDefaults(t *testing.T) {
	type point struct {
		Unit  string  `yaml:"unit"`
		Scale float64 `yaml:"scale"`
	}
	m := map[string]point{"gas": {Unit: "%LEL", Scale: 1}, "co": {Unit: "ppm", Scale: 1}}
	d := MustParse(t, "f.yaml", "gas: {scale: 0.1}\ntemp: {unit: C}\n")
	if errs := d.Decode("", &m); errs != nil {
		t.Fatal(errs)
	}
	want := map[string]point{"gas": {Unit: "%LEL", Scale: 0.1}, "co": {Unit: "ppm", Scale: 1}, "temp": {Unit: "C"}}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %+v, want %+v", m, want)
	}
}

func TestDecodeUnknownKey(t *testing.T) {
	type conn struct {
		Host    string        `yaml:"host"`
		Port    int           `yaml:"port"`
		Timeout time.Duration `yaml:"timeout"`
	}
	tests := []struct {
		name, src, want string
	}{
		{"typo swap", "host: a\nprot: 502\n",
			`f.yaml:2:1: prot: unknown field "prot", did you mean "port"? (valid: host, port, timeout)`},
		{"typo case", "host: a\n  \nTimeOut: 1s\n",
			`f.yaml:3:1: TimeOut: unknown field "TimeOut", did you mean "timeout"? (valid: host, port, timeout)`},
		{"no suggestion", "  unit: 3\n",
			`f.yaml:1:3: unit: unknown field "unit" (valid: host, port, timeout)`},
		{"flow", "{host: a, portt: 1}",
			`f.yaml:1:11: portt: unknown field "portt", did you mean "port"? (valid: host, port, timeout)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := MustParse(t, "f.yaml", tt.src)
			var c conn
			if got := lines(d.Decode("", &c).Err()); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestDecodeDuplicateKeys(t *testing.T) {
	src := `gateway:
  name: a
  debug: true
  name: b
  name: c
extra: {x: 1, x: 2}
`
	d := MustParse(t, "f.yaml", src)
	cfg := defaultConfig()
	want := `f.yaml:4:3: gateway.name: duplicate key "name" (first set on line 2; each key may appear once)
f.yaml:5:3: gateway.name: duplicate key "name" (first set on line 2; each key may appear once)
f.yaml:6:15: extra.x: duplicate key "x" (first set on line 6; each key may appear once)`
	if got := lines(d.Decode("", &cfg).Err()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if cfg.Gateway.Name != "a" || !cfg.Gateway.Debug {
		t.Errorf("the first of duplicate keys should win and siblings decode: %+v", cfg.Gateway)
	}
}

func TestDecodeAliases(t *testing.T) {
	src := `base: &base
  retries: 5
  timeout: 2.5
limits:
  <<: *base
  timeout: 9
gateway:
  name: &n edge-1
  labels: [*n, b]
devices:
  - &dev {id: d1, type: gas}
  - *dev
`
	type file struct {
		Base    common            `yaml:"base"`
		Limits  limits            `yaml:"limits"`
		Gateway gatewayConf       `yaml:"gateway"`
		Devices []shouwang.Device `yaml:"devices"`
	}
	d := MustParse(t, "f.yaml", src)
	var f file
	if errs := d.Decode("", &f); errs != nil {
		t.Fatal(errs)
	}
	if f.Limits.Retries != 5 || f.Limits.Timeout != 9 {
		t.Errorf("merge: got %+v, want retries 5 (merged) and timeout 9 (written wins)", f.Limits)
	}
	if f.Gateway.Name != "edge-1" || !reflect.DeepEqual(f.Gateway.Labels, []string{"edge-1", "b"}) {
		t.Errorf("scalar alias: got %+v", f.Gateway)
	}
	if len(f.Devices) != 2 || f.Devices[1].ID != "d1" || f.Devices[1].Type != "gas" {
		t.Errorf("mapping alias: got %+v", f.Devices)
	}
	if !d.Has("limits.retries") || !d.Has("devices[1].type") {
		t.Error("Has should follow merges and aliases")
	}
	if line, col := d.Pos("devices[1]"); line != 12 || col != 5 {
		t.Errorf("Pos of an alias is where the alias is: got %d:%d, want 12:5", line, col)
	}
}

func TestDecodeAliasErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown anchor", "gateway:\n  name: *nope\n",
			`f.yaml:2:9: gateway.name: unknown anchor "nope" (an alias *nope needs an anchor &nope earlier in the file)`},
		{"alias before anchor", "gateway:\n  name: *n\n  token: &n x\n",
			`f.yaml:2:9: gateway.name: unknown anchor "n" (an alias *n needs an anchor &n earlier in the file)`},
		{"type error through alias is at the alias", "base: &b {x: 1}\ngateway:\n  debug: *b\n",
			`f.yaml:1:1: base: unknown field "base" (valid: devices, drivers, extra, gateway, limits, sinks, templates)
f.yaml:3:10: gateway.debug: want true or false, found a mapping`},
		{"merge of a scalar", "limits:\n  <<: 5\n",
			`f.yaml:2:7: limits.<<: the merge key << takes a mapping or a list of mappings, found 5`},
		{"merge of unknown", "limits:\n  <<: [*a]\n",
			`f.yaml:2:8: limits.<<: unknown anchor "a" (an alias *a needs an anchor &a earlier in the file)`},
		{"merged keys are checked", "x: &x {retries: 1, bogus: 2}\nlimits:\n  <<: *x\n",
			`f.yaml:1:1: x: unknown field "x" (valid: devices, drivers, extra, gateway, limits, sinks, templates)
f.yaml:1:20: limits.bogus: unknown field "bogus" (valid: depth, maxbatch, retries, slots, timeout)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := MustParse(t, "f.yaml", tt.src)
			cfg := defaultConfig()
			if got := lines(d.Decode("", &cfg).Err()); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestDecodeRaw(t *testing.T) {
	src := `drivers:
  - name: line-1
    type: driver.modbus
    host: 10.0.0.7
    port: 502
  - name: panel
    type: driver.gbt26875
    baud: 9600
    parity: x
sinks:
  influx: {type: sink.influxdb, url: "http://db"}
`
	type modbus struct {
		Host string `yaml:"host"`
		Port int    `yaml:"port"`
	}
	type serial struct {
		Baud int `yaml:"baud"`
	}
	d := MustParse(t, "f.yaml", src)
	cfg := defaultConfig()
	if errs := d.Decode("", &cfg); errs != nil {
		t.Fatal(errs)
	}
	if len(cfg.Drivers) != 2 || cfg.Drivers[0].String("type") != "driver.modbus" || cfg.Drivers[1].String("name") != "panel" {
		t.Fatalf("drivers: %+v", cfg.Drivers)
	}
	m := modbus{Port: 1502}
	if errs := cfg.Drivers[0].Decode(&m, "name", "type"); errs != nil {
		t.Fatal(errs)
	}
	if m != (modbus{Host: "10.0.0.7", Port: 502}) {
		t.Errorf("got %+v", m)
	}
	var s serial
	want := `f.yaml:9:5: drivers[1].parity: unknown field "parity" (valid: baud, name, type)`
	if got := lines(cfg.Drivers[1].Decode(&s, "name", "type").Err()); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if s.Baud != 9600 {
		t.Errorf("siblings of an unknown key still decode: got %+v", s)
	}
	influx := cfg.Sinks["influx"]
	if influx.Path != "sinks.influx" || !influx.Has("url") || influx.Has("token") || influx.String("type") != "sink.influxdb" {
		t.Errorf("sink raw: %+v", influx)
	}
	var zero Raw
	if zero.Decode(&m) != nil || zero.Has("") || zero.String("type") != "" {
		t.Error("a zero Raw should decode nothing")
	}
}

func TestDecodeRoots(t *testing.T) {
	tests := []struct {
		name, src string
		target    any
		want      string
	}{
		{"scalar root into struct", "hello\n", new(testConfig), `f.yaml:1:1: want a mapping, found "hello"`},
		{"list root into struct", "- a\n- b\n", new(testConfig), "f.yaml:1:1: want a mapping, found a list"},
		{"list root into slice", "- a\n- b\n", new([]string), ""},
		{"empty file", "", new(testConfig), ""},
		{"comments only", "# nothing\n", new(testConfig), ""},
		{"not a pointer", "a: 1\n", testConfig{}, "f.yaml:1:1: cannot decode into yamlconf.testConfig (want a non-nil pointer; a bug in the program, not in the config)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := MustParse(t, "f.yaml", tt.src)
			if got := lines(d.Decode("", tt.target).Err()); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	t.Run("deep nesting", func(t *testing.T) {
		src := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
		d := MustParse(t, "f.yaml", "extra: "+src+"\n")
		cfg := defaultConfig()
		errs := d.Decode("", &cfg)
		if len(errs) != 1 || !strings.Contains(errs[0].Msg, "nested more than") {
			t.Errorf("got %v", errs)
		}
	})
	t.Run("billion laughs", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x]\n")
		for i := 1; i < 10; i++ {
			b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
			for j := range 9 {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString("*a" + string(rune('0'+i-1)))
			}
			b.WriteString("]\n")
		}
		d := MustParse(t, "f.yaml", b.String())
		var v any
		errs := d.Decode("", &v)
		if len(errs) != 1 || !strings.Contains(errs[0].Msg, "too many values") {
			t.Errorf("got %v", errs)
		}
	})
}
