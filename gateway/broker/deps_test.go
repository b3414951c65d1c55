package broker

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestNoStorageBackends keeps mochi's storage backends (badger, bolt,
// pebble, redis) out of the binary: the broker keeps sessions in memory,
// and they are too heavy for an ARM board.
func TestNoStorageBackends(t *testing.T) {
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "mochi-mqtt/server/v2/hooks/storage/") || strings.Contains(pkg, "mochi-mqtt/server/v2/hooks/auth") {
			t.Errorf("the broker imports %s", pkg)
		}
	}
}
