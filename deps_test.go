package shouwang_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestDependencyDirection enforces the layout's one-way arrows: the root
// package is vocabulary on the standard library alone; rules and drivers
// never reach into the gateway, and rules does no I/O of its own.
func TestDependencyDirection(t *testing.T) {
	const mod = "github.com/shouwang-iot/shouwang"
	for _, tc := range []struct {
		pkg       string
		stdOnly   bool
		forbidden []string
	}{
		{pkg: ".", stdOnly: true, forbidden: []string{"net/http", "database/sql", "net"}},
		{pkg: "./rules/...", forbidden: []string{mod + "/gateway", mod + "/drivers", "net/http", "database/sql"}},
		{pkg: "./drivers/...", forbidden: []string{mod + "/gateway", mod + "/rules", "database/sql"}},
	} {
		out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps",
			"-f", "{{.ImportPath}} {{.Standard}}", tc.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", tc.pkg, err, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			path, std, _ := strings.Cut(line, " ")
			if tc.stdOnly && std != "true" && path != mod {
				t.Errorf("%s imports %s: the root package may use the standard library only", tc.pkg, path)
			}
			for _, f := range tc.forbidden {
				if path == f || strings.HasPrefix(path, f+"/") {
					t.Errorf("%s imports %s", tc.pkg, path)
				}
			}
		}
	}
}
