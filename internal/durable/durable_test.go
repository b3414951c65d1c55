package durable

import (
	"os"
	"path/filepath"
	"testing"
)

func TestAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "dir", "dead.jsonl")
	for _, line := range []string{"one\n", "two\n"} {
		if err := Append(path, []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != "one\ntwo\n" {
		t.Fatalf("file holds %q (%v), want both lines in order", data, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600: the lines hold alarm and reading data", fi.Mode().Perm())
	}
	if err := Append(filepath.Join(path, "under-a-file"), []byte("x")); err == nil {
		t.Error("appending below a regular file succeeded")
	}
}
