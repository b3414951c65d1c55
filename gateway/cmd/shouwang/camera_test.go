package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang/drivers/camera"
)

// cameraConfig is a community with the camera driver's sample section.
func cameraConfig(t *testing.T, edit func(string) string) string {
	t.Helper()
	src := "gateway: {name: gw, data_dir: " + t.TempDir() + "}\n" +
		"sites:\n  - {id: s, name: 小区, grid: G1, buildings: [{id: \"3\", units: 2, floors: 17}]}\n" +
		"devices:\n  " + strings.ReplaceAll(strings.TrimSpace(string(camera.SampleDevices)), "\n", "\n  ") + "\n" +
		"drivers:\n  " + strings.ReplaceAll(strings.TrimSpace(string(camera.Sample)), "\n", "\n  ") + "\n"
	src = strings.Replace(src, "  mqtt:\n    topic: cameras/{device}/events   # broker left out: the embedded one\n", "", 1)
	if edit != nil {
		src = edit(src)
	}
	file := filepath.Join(t.TempDir(), "shouwang.yaml")
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestCameraCalibrate(t *testing.T) {
	file := cameraConfig(t, nil)
	var out, errs strings.Builder
	if code := run([]string{"camera", "calibrate", "-c", file, "cam-3-south"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	for _, want := range []string{"17 floors (ground 4.20 m, then 3.00 m); 102 windows", "17F   49.20", "17F-1 (1701)@", "1F-6 (103)@"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	errs.Reset()
	if code := run([]string{"camera", "calibrate", "-c", file, "cam-9"}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "cameras: cam-3-south") {
		t.Errorf("unknown camera: exit %d, %s", code, errs.String())
	}
	crossed := cameraConfig(t, func(s string) string {
		return strings.Replace(s, "top_right: [2664, 96]", "top_right: [3392, 2064]", 1)
	})
	errs.Reset()
	if code := run([]string{"camera", "calibrate", "-c", crossed, "cam-3-south"}, &out, &errs); code != 1 ||
		!strings.Contains(errs.String(), `drivers[0].cameras["cam-3-south"].calibration.corners`) || !strings.Contains(errs.String(), "convex") {
		t.Errorf("crossed corners: exit %d, %s", code, errs.String())
	}
}
