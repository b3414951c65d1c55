package yamlconf

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestDecodeSecrets(t *testing.T) {
	dir := t.TempDir()
	MustWriteFile(t, dir, "secrets/token", "tok-FILE-SECRET\n")
	MustWriteFile(t, dir, "secrets/two-newlines", "x\n\n")
	MustWriteFile(t, dir, "big", strings.Repeat("x", maxFileRef+1))
	t.Setenv("YC_PASSWORD", "pw-ENV-SECRET")
	t.Setenv("YC_PORT", "1883")
	t.Setenv("YC_EMPTY", "")
	file := filepath.Join(dir, "gateway.yaml")

	tests := []struct {
		name, src string
		want      string // the decoded string, when no error
		port      int
		err       string
	}{
		{"env", `s: ${env:YC_PASSWORD}`, "pw-ENV-SECRET", 0, ""},
		{"env inside a longer string", `s: "mqtt://u:${env:YC_PASSWORD}@host:${env:YC_PORT}"`, "mqtt://u:pw-ENV-SECRET@host:1883", 0, ""},
		{"env into an integer", `port: ${env:YC_PORT}`, "", 1883, ""},
		{"file relative to the config", `s: ${file:secrets/token}`, "tok-FILE-SECRET", 0, ""},
		{"file absolute", `s: ${file:` + filepath.Join(dir, "secrets/token") + `}`, "tok-FILE-SECRET", 0, ""},
		{"file trims one newline only", `s: ${file:secrets/two-newlines}`, "x\n", 0, ""},
		{"escape", `s: "cost $${HOME} and $$ and $5"`, "cost ${HOME} and $$ and $5", 0, ""},
		{"single quoted expands too", `s: '${env:YC_PORT}'`, "1883", 0, ""},
		{"env unset", `s: ${env:YC_UNSET_VAR}`, "", 0,
			"gateway.yaml:1:4: s: environment variable YC_UNSET_VAR is not set"},
		{"env empty", `s: ${env:YC_EMPTY}`, "", 0,
			"gateway.yaml:1:4: s: environment variable YC_EMPTY is empty"},
		{"two bad references", `s: ${env:YC_A1}-${env:YC_A2}`, "", 0,
			"gateway.yaml:1:4: s: environment variable YC_A1 is not set\ngateway.yaml:1:4: s: environment variable YC_A2 is not set"},
		{"bad env name", `s: ${env:A-B}`, "", 0,
			`gateway.yaml:1:4: s: bad environment variable name "A-B" in ${env:...} (want letters, digits and _, like ${env:MQTT_PASSWORD})`},
		{"file missing", `s: ${file:nope.txt}`, "", 0,
			`gateway.yaml:1:4: s: cannot read file "` + filepath.Join(dir, "nope.txt") + `" for ${file:...}: no such file`},
		{"file too big", `s: ${file:big}`, "", 0,
			`gateway.yaml:1:4: s: cannot read file "` + filepath.Join(dir, "big") + `" for ${file:...}: larger than 64 KiB (${file:...} is for a token or password)`},
		{"file empty path", `s: ${file:}`, "", 0,
			"gateway.yaml:1:4: s: empty path in ${file:} (want ${file:PATH}, relative to the config file's folder)"},
		{"other form", `s: ${HOME}`, "", 0,
			`gateway.yaml:1:4: s: unknown reference "${HOME}" (valid: ${env:NAME}, ${file:PATH}; write $${ for a literal ${)`},
		{"unterminated", `s: "${env:X"`, "", 0,
			`gateway.yaml:1:4: s: unterminated "${env:X" (valid: ${env:NAME}, ${file:PATH}; write $${ for a literal ${)`},
		{"expanded value is never shown", `port: ${env:YC_PASSWORD}`, "", 0,
			`gateway.yaml:1:7: port: cannot use "${env:YC_PASSWORD}" as an integer (want a whole number like 502)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v struct {
				S    string `yaml:"s"`
				Port int    `yaml:"port"`
			}
			d := MustParse(t, file, tt.src+"\n")
			errs := d.Decode("", &v)
			if got := strings.ReplaceAll(lines(errs.Err()), dir+string(filepath.Separator), ""); got != strings.ReplaceAll(tt.err, dir+string(filepath.Separator), "") {
				t.Errorf("errors:\n got %s\nwant %s", got, tt.err)
			}
			if msg := lines(errs.Err()); strings.Contains(msg, "SECRET") || strings.Contains(msg, "1883") {
				t.Errorf("an error shows an expanded value: %s", msg)
			}
			if v.S != tt.want || v.Port != tt.port {
				t.Errorf("got s=%q port=%d, want s=%q port=%d", v.S, v.Port, tt.want, tt.port)
			}
		})
	}
}

func TestSecretsNotShownByTextUnmarshaler(t *testing.T) {
	t.Setenv("YC_LEVEL", "LEAKED-VALUE")
	d := MustParse(t, "f.yaml", "v: ${env:YC_LEVEL}\n")
	var l level
	got := lines(d.Decode("v", &l).Err())
	want := `f.yaml:1:4: v: cannot use "${env:YC_LEVEL}" as yamlconf.level (the value it expands to is not valid; it is not shown as it may be secret)`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestSecretsInAny(t *testing.T) {
	t.Setenv("YC_TOKEN", "abc")
	d := MustParse(t, "f.yaml", "v: {t: '${env:YC_TOKEN}', n: 5, bad: '${env:YC_NOT_THERE}'}\n")
	var v any
	errs := d.Decode("v", &v)
	if got, want := lines(errs.Err()), "f.yaml:1:38: v.bad: environment variable YC_NOT_THERE is not set"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	m, _ := v.(map[string]any)
	if m["t"] != "abc" || m["n"] != 5 {
		t.Errorf("got %#v", v)
	}
}
