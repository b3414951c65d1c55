package yamlconf

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary bytes through Parse and Decode into a
// representative nested config: nothing may panic, and every problem must
// point at a real line and column.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/config.yaml")
	for _, p := range seeds {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
	for _, s := range []string{
		"", "~", "- a\n- b\n", "a: &x [*x]\n", "a: *x\n", "<<: 5\n", "a: {<<: [*a]}\n",
		"gateway: {listen: '[::1]:80', interval: 1h, level: 99999999999999999999}\n",
		"devices: [{location: {floor: 0x7fffffffffffffff}}]\n",
		"extra: !!binary aGk=\n", "limits: {retries: .inf, timeout: -.nan}\n",
		"gateway:\n  name: ${env:HOME}${file:}$${x}${\n",
		"drivers: [{name: a, type: b, host: c, <<: {port: 1}}]\n",
		"\x00\xff: \xfe\n", "%YAML 1.2\n---\na: 1\n", "? a\n: b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		d, err := Parse("fuzz.yaml", src)
		if err != nil {
			errs, ok := err.(Errors)
			if !ok || len(errs) == 0 {
				t.Fatalf("Parse error is %T, want Errors", err)
			}
			checkErrors(t, errs)
			return
		}
		cfg := defaultConfig()
		errs := d.Decode("", &cfg)
		for _, r := range cfg.Drivers {
			var mb modbusConfig
			errs = append(errs, r.Decode(&mb, "name", "type")...)
			_ = r.String("type") + r.String("name")
			_ = r.Has("port")
		}
		var v any
		errs = append(errs, d.Decode("", &v)...)
		for _, p := range []string{"", "gateway", "devices[0].location.floor", "drivers[1]", `tags["a.b"]`, "[0]"} {
			_ = d.Has(p)
			if line, col := d.Pos(p); line < 1 || col < 1 {
				t.Errorf("Pos(%q) = %d:%d", p, line, col)
			}
			errs = append(errs, d.Errorf(p, "x"))
		}
		checkErrors(t, errs)
	})
}

func checkErrors(t *testing.T, errs Errors) {
	t.Helper()
	for _, e := range errs {
		if e.Line < 1 || e.Col < 1 {
			t.Errorf("error without a position: %#v", e)
		}
		if e.File != "fuzz.yaml" || e.Msg == "" {
			t.Errorf("malformed error: %#v", e)
		}
		_ = e.Error()
	}
}
