package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCLI(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"version"}, 0, "shouwang dev", ""},
		{[]string{"config", "check", "../../../deploy/shouwang.example.yaml"}, 0, "ok: 1 sites, 10 devices, 1 drivers, 0 sinks", ""},
		{[]string{"config", "check", "../../testdata/config/broken/config.yaml"}, 1, "",
			"../../testdata/config/broken/config.yaml:19:47: devices[0].location.floor: 19 is not a floor of building 3 (valid: 1 to 18)\n"},
		{[]string{"config", "check", "../../testdata/config/broken/config.yaml"}, 1, "", "21 problems; the gateway was not started"},
		{[]string{"config", "check", "no-such.yaml"}, 1, "", "no such file"},
		{[]string{"config", "check"}, 2, "", "Usage: shouwang config check FILE"},
		{[]string{"config"}, 2, "", "Usage"},
		{[]string{"run", "-c", "../../testdata/config/broken/config.yaml"}, 1, "", "the gateway was not started"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{nil, 2, "", "Usage: shouwang <command>"},
		{[]string{"help"}, 0, "config check FILE", ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.err) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant stdout containing %q and stderr containing %q",
					code, tc.code, out.String(), errb.String(), tc.out, tc.err)
			}
		})
	}
}
