package store

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// base is the test data's time origin: 2025-03-01 14:00 in Beijing.
var base = time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC)

// testConfig is DefaultConfig in a fresh temp dir, with background pruning
// off.
func testConfig(tb testing.TB) Config {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Path = filepath.Join(tb.TempDir(), "data", "history.db")
	cfg.PruneInterval = 0
	return cfg
}

func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// MustOpen opens a store on cfg and closes it when the test ends.
func MustOpen(tb testing.TB, cfg Config, now func() time.Time) *Store {
	tb.Helper()
	return mustOpenLogging(tb, cfg, now, testLogger(tb))
}

// mustOpenLogging is MustOpen with its own logger (benchmarks discard).
func mustOpenLogging(tb testing.TB, cfg Config, now func() time.Time, logger *slog.Logger) *Store {
	tb.Helper()
	s, err := Open(context.Background(), cfg, now, logger)
	if err != nil {
		tb.Fatalf("Open(%s): %v", cfg.Path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// checkFor polls f every sleep until it returns nil, failing the test with
// f's last error after total.
func checkFor(tb testing.TB, total, sleep time.Duration, f func() error) {
	tb.Helper()
	deadline := time.Now().Add(total)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(sleep)
	}
	tb.Fatalf("still failing after %s: %v", total, err)
}

// goroutinesBefore opens and closes a store, so that whatever the driver
// starts once per process is running, waits until the pool's own
// goroutines have exited, and returns the goroutine count.
func goroutinesBefore(tb testing.TB) int {
	tb.Helper()
	s, err := Open(context.Background(), testConfig(tb), nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	checkFor(tb, 5*time.Second, time.Millisecond, noStoreGoroutines)
	return runtime.NumGoroutine()
}

// checkGoroutinesSettle waits until no goroutine of a Store or of its
// database/sql pool is left, and no more goroutines run than before.
// Tests in this package do not run in parallel, so the count is theirs.
func checkGoroutinesSettle(tb testing.TB, before int) {
	tb.Helper()
	checkFor(tb, 5*time.Second, 5*time.Millisecond, func() error {
		if err := noStoreGoroutines(); err != nil {
			return err
		}
		if n := runtime.NumGoroutine(); n > before {
			return fmt.Errorf("%d goroutines running, %d before:\n%s", n, before, stacks())
		}
		return nil
	})
}

// noStoreGoroutines fails while a goroutine runs a Store method (the
// pruner) or a database/sql pool goroutine.
func noStoreGoroutines() error {
	all := stacks()
	for _, g := range strings.Split(all, "\n\n") {
		if strings.Contains(g, "store.(*Store)") || strings.Contains(g, "database/sql.(*DB)") {
			return fmt.Errorf("goroutine left:\n%s", g)
		}
	}
	return nil
}

func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// count returns the number of rows in a table; for "readings", the number
// of readings stored, merged or not.
func count(tb testing.TB, s *Store, table string) int {
	tb.Helper()
	q := "SELECT count(*) FROM " + table
	if table == "readings" {
		q = "SELECT count(*) FROM (SELECT device, point, ts FROM readings UNION SELECT device, point, ts FROM recent)"
	}
	var n int
	if err := s.db.QueryRow(q).Scan(&n); err != nil {
		tb.Fatalf("count %s: %v", table, err)
	}
	return n
}

// rows returns the number of rows in a table as it is, with no merging
// of readings and recent.
func rows(tb testing.TB, s *Store, table string) int {
	tb.Helper()
	var n int
	if err := s.db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		tb.Fatalf("count %s: %v", table, err)
	}
	return n
}

// oddFloat is 0.30000000000000004, computed at run time (the constant
// expression 0.1 + 0.2 is exactly 0.3).
var oddFloat = func() float64 { a, b := 0.1, 0.2; return a + b }()
