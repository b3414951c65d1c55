package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/internal/sqlitedb"
	"github.com/shouwang-iot/shouwang/mock"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want []string // substrings, one per expected FieldError, in order
	}{
		{"defaults", func(*Config) {}, nil},
		{"path set", func(c *Config) { c.Path = "/var/lib/shouwang/history.db" }, nil},
		{"full", func(c *Config) { c.Synchronous = "full" }, nil},
		{"pruning off", func(c *Config) { c.PruneInterval = 0 }, nil},
		{"memory", func(c *Config) { c.Path = ":memory:" }, []string{"path: \":memory:\" is not a file path"}},
		{"uri", func(c *Config) { c.Path = "file:x.db" }, []string{"path: \"file:x.db\" is not a file path"}},
		{"directory", func(c *Config) { c.Path = "/var/lib/shouwang/" }, []string{"path: \"/var/lib/shouwang/\" names a directory (a file path such as /var/lib/shouwang/history.db)"}},
		{"nul", func(c *Config) { c.Path = "a\x00b" }, []string{"path: contains a NUL byte"}},
		{"retention typo", func(c *Config) { c.Retention = 30 }, []string{"retention: 30ns is too short (at least 1h0m0s; 720h keeps the 30 days"}},
		{"negative interval", func(c *Config) { c.PruneInterval = -time.Second }, []string{"prune_interval: -1s is not usable (0 turns background pruning off, otherwise at least 1s"}},
		{"tiny interval", func(c *Config) { c.PruneInterval = time.Millisecond }, []string{"prune_interval: 1ms is not usable"}},
		{"synchronous", func(c *Config) { c.Synchronous = "NORMAL" }, []string{`synchronous: "NORMAL" is not a mode (normal or full)`}},
		{"empty synchronous", func(c *Config) { c.Synchronous = "" }, []string{`synchronous: "" is not a mode (normal or full)`}},
		{"all reported", func(c *Config) {
			*c = Config{Path: ":memory:", PruneInterval: -1}
		}, []string{"path:", "retention:", "prune_interval:", "synchronous:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.edit(&cfg)
			err := cfg.Validate()
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
			if len(fe) != len(tt.want) {
				t.Fatalf("Validate: %d errors (%v), want %d", len(fe), err, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(fe[i].Error(), w) {
					t.Errorf("error %d = %q, want it to contain %q", i, fe[i].Error(), w)
				}
			}
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	got := DefaultConfig()
	want := Config{Retention: 30 * 24 * time.Hour, PruneInterval: 10 * time.Minute, Synchronous: "normal"}
	if got != want {
		t.Fatalf("DefaultConfig() = %+v, want %+v", got, want)
	}
}

func TestOpenRejects(t *testing.T) {
	cfg := testConfig(t)
	cfg.Path = ""
	if _, err := Open(context.Background(), cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "no path") {
		t.Errorf("Open with no path: %v, want a no-path error", err)
	}

	cfg = testConfig(t)
	cfg.Synchronous = "off"
	var fe shouwang.FieldErrors
	if _, err := Open(context.Background(), cfg, nil, nil); !errors.As(err, &fe) {
		t.Errorf("Open with an invalid config: %v, want FieldErrors", err)
	}

	// A directory that cannot be created: a file is in the way.
	dir := t.TempDir()
	blocker := filepath.Join(dir, "blocker")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = testConfig(t)
	cfg.Path = filepath.Join(blocker, "history.db")
	_, err := Open(context.Background(), cfg, nil, nil)
	if err == nil || !strings.Contains(err.Error(), cfg.Path) {
		t.Errorf("Open under a file: %v, want an error naming %s", err, cfg.Path)
	}
}

// TestOpenOddPath checks that a path with URI syntax in it is taken as a
// plain file name.
func TestOpenOddPath(t *testing.T) {
	cfg := testConfig(t)
	cfg.Path = filepath.Join(t.TempDir(), "数据 50%?#x", "history?.db")
	s := MustOpen(t, cfg, nil)
	if err := s.Write(context.Background(), shouwang.Batch{Readings: []shouwang.Reading{{Device: "d", Point: "p", Time: base}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.Path); err != nil {
		t.Fatalf("database file not at the configured path: %v", err)
	}
	if s.Path() != cfg.Path {
		t.Errorf("Path() = %q, want %q", s.Path(), cfg.Path)
	}
}

func TestOpenPragmas(t *testing.T) {
	cfg := testConfig(t)
	cfg.Synchronous = "full"
	s := MustOpen(t, cfg, nil)
	// Every pooled connection gets the pragmas: hold two at once.
	ctx := context.Background()
	c1, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	for i, c := range []*sql.Conn{c1, c2} {
		var mode string
		var sync, busy, fk int
		for _, p := range []struct {
			pragma string
			dst    any
		}{{"journal_mode", &mode}, {"synchronous", &sync}, {"busy_timeout", &busy}, {"foreign_keys", &fk}} {
			if err := c.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(p.dst); err != nil {
				t.Fatalf("conn %d: PRAGMA %s: %v", i, p.pragma, err)
			}
		}
		if mode != "wal" || sync != 2 || busy != 10000 || fk != 1 {
			t.Errorf("conn %d: journal_mode %s, synchronous %d, busy_timeout %d, foreign_keys %d; want wal, 2 (full), 10000, 1", i, mode, sync, busy, fk)
		}
	}
}

// sampleBatch has every field worth a round trip: floats that print badly,
// every quality and severity, Chinese text, attrs and none.
func sampleBatch() shouwang.Batch {
	shanghai := time.FixedZone("CST", 8*3600)
	values := []float64{
		12.345678901234567, math.Pi, oddFloat, -273.15, math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, 1e-300, 1 << 53, math.Nextafter(1, 2), math.Inf(1), math.Inf(-1), math.NaN(), 0,
	}
	var b shouwang.Batch
	for i, v := range values {
		b.Readings = append(b.Readings, shouwang.Reading{
			Device:  fmt.Sprintf("3号楼-2单元-%02d", i%3),
			Point:   []string{"gas", "co", "temperature"}[i%3],
			Value:   v,
			Unit:    []string{"%LEL", "ppm", "°C"}[i%3],
			Quality: shouwang.Quality(i % 3),
			Time:    base.Add(time.Duration(i) * time.Second).In(shanghai),
		})
	}
	for i, sev := range []shouwang.Severity{shouwang.Info, shouwang.Fault, shouwang.Warning, shouwang.Alarm, shouwang.Fire} {
		e := shouwang.Event{
			Device:   "1202-厨房燃气探测器",
			Kind:     []string{"reset", "fault", "gas_warning", "gas_alarm", "smoke_alarm"}[i],
			Severity: sev,
			Message:  fmt.Sprintf("第%d条 message, with \"quotes\", commas\nand a newline", i),
			Time:     base.Add(time.Duration(i) * time.Minute),
		}
		if i%2 == 0 {
			e.Attrs = map[string]string{"loop": "1", "address": "23", "位置": "12F 厨房", "evidence": "https://cam.local/1.jpg?a=1&b=2"}
		}
		b.Events = append(b.Events, e)
	}
	return b
}

// sortReadings and sortEvents give the order the store promises.
func sortReadings(rs []shouwang.Reading) {
	slices.SortStableFunc(rs, func(a, b shouwang.Reading) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Device, b.Device), cmp.Compare(a.Point, b.Point))
	})
}

func sortEvents(es []shouwang.Event) {
	slices.SortStableFunc(es, func(a, b shouwang.Event) int { return a.Time.Compare(b.Time) })
}

// sameReadings compares exactly: float bits (NaN with NaN), time instants.
func sameReadings(t *testing.T, got, want []shouwang.Reading) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d readings, want %d:\ngot  %v\nwant %v", len(got), len(want), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		sameValue := math.Float64bits(g.Value) == math.Float64bits(w.Value) || (math.IsNaN(g.Value) && math.IsNaN(w.Value))
		if g.Device != w.Device || g.Point != w.Point || !sameValue || g.Unit != w.Unit || g.Quality != w.Quality || !g.Time.Equal(w.Time) {
			t.Errorf("reading %d:\ngot  %+v\nwant %+v", i, g, w)
		}
		if g.Time.Location() != time.UTC {
			t.Errorf("reading %d: time %v is not in UTC", i, g.Time)
		}
	}
}

// holdsExactly fails t unless s holds b's readings and events and nothing
// else.
func holdsExactly(t *testing.T, s *Store, b shouwang.Batch) {
	t.Helper()
	got, err := s.Readings(context.Background(), Query{})
	if err != nil {
		t.Fatalf("Readings: %v", err)
	}
	want := slices.Clone(b.Readings)
	sortReadings(want)
	sameReadings(t, got, want)
	events, err := s.Events(context.Background(), Query{})
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	sameEvents(t, events, b.Events)
}

func sameEvents(t *testing.T, got, want []shouwang.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d:\ngot  %v\nwant %v", len(got), len(want), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Device != w.Device || g.Kind != w.Kind || g.Severity != w.Severity || g.Message != w.Message ||
			!g.Time.Equal(w.Time) || !reflect.DeepEqual(g.Attrs, w.Attrs) {
			t.Errorf("event %d:\ngot  %+v\nwant %+v", i, g, w)
		}
	}
}

// layouts are where a test's readings are read from: recent, where Write
// puts them, or readings, where a merge moves them (mergeRows 1 merges
// after every Write). Tests that write and read run in both.
var layouts = []struct {
	name      string
	mergeRows int
}{{"recent", defaultMergeRows}, {"merged", 1}}

// mustMerge moves what recent holds into readings.
func mustMerge(tb testing.TB, s *Store) {
	tb.Helper()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.merge(context.Background()); err != nil {
		tb.Fatalf("merge: %v", err)
	}
	if n := rows(tb, s, "recent"); n != 0 {
		tb.Fatalf("%d rows left in recent after a merge", n)
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			s := MustOpen(t, testConfig(t), nil)
			s.mergeRows = l.mergeRows
			ctx := context.Background()
			b := sampleBatch()
			if err := s.Write(ctx, b); err != nil {
				t.Fatalf("Write: %v", err)
			}
			holdsExactly(t, s, b)
		})
	}
}

func TestWriteTimePrecision(t *testing.T) {
	s := MustOpen(t, testConfig(t), nil)
	ctx := context.Background()
	// Sub-millisecond parts are dropped, also before 1970.
	in := []time.Time{base.Add(1500 * time.Microsecond), time.Unix(-1, 999_999_999)}
	var b shouwang.Batch
	for i, tm := range in {
		b.Readings = append(b.Readings, shouwang.Reading{Device: "d", Point: fmt.Sprint(i), Time: tm})
	}
	b.Events = []shouwang.Event{{Device: "d", Kind: "k", Time: in[0]}}
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := s.Readings(ctx, Query{})
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Time{time.Unix(-1, 999_000_000), base.Add(time.Millisecond)}
	if len(got) != 2 || !got[0].Time.Equal(want[0]) || !got[1].Time.Equal(want[1]) {
		t.Fatalf("times = %v, want %v", got, want)
	}
	events, err := s.Events(ctx, Query{})
	if err != nil || len(events) != 1 || !events[0].Time.Equal(want[1]) {
		t.Fatalf("event times = %v, %v; want %v", events, err, want[1])
	}
	// An empty attrs map reads back as nil, like none.
	if err := s.Write(ctx, shouwang.Batch{Events: []shouwang.Event{{Device: "d", Kind: "k2", Time: base, Attrs: map[string]string{}}}}); err != nil {
		t.Fatal(err)
	}
	if events, _ = s.Events(ctx, Query{Kinds: []string{"k2"}}); len(events) != 1 || events[0].Attrs != nil {
		t.Fatalf("empty attrs read back as %#v, want nil", events)
	}
}

func TestWriteIdempotent(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			s := MustOpen(t, testConfig(t), nil)
			s.mergeRows = l.mergeRows
			ctx := context.Background()
			b := sampleBatch()
			for range 3 { // a crash replays the batch, maybe more than once
				if err := s.Write(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			if n := count(t, s, "readings"); n != len(b.Readings) {
				t.Errorf("%d readings stored, want %d", n, len(b.Readings))
			}
			if n := count(t, s, "events"); n != len(b.Events) {
				t.Errorf("%d events stored, want %d", n, len(b.Events))
			}

			// Same keys with other values, and duplicates inside one
			// batch: the first write stays.
			changed := sampleBatch()
			for i := range changed.Readings {
				changed.Readings[i].Value = -1
				changed.Readings[i].Time = changed.Readings[i].Time.Add(300 * time.Microsecond) // same millisecond
			}
			for i := range changed.Events {
				changed.Events[i].Message = "replayed"
				changed.Events[i].Severity = shouwang.Info
			}
			changed.Readings = append(changed.Readings, changed.Readings...)
			changed.Events = append(changed.Events, changed.Events...)
			if err := s.Write(ctx, changed); err != nil {
				t.Fatal(err)
			}
			holdsExactly(t, s, b)

			// The same kind of event from the same device in another
			// millisecond, or another kind in the same one, is another
			// event.
			more := []shouwang.Event{
				{Device: b.Events[0].Device, Kind: b.Events[0].Kind, Time: b.Events[0].Time.Add(time.Millisecond)},
				{Device: b.Events[0].Device, Kind: "tamper", Time: b.Events[0].Time},
			}
			if err := s.Write(ctx, shouwang.Batch{Events: more}); err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, "events"); n != len(b.Events)+2 {
				t.Errorf("%d events stored, want %d", n, len(b.Events)+2)
			}
		})
	}
}

// TestMergeKeepsFirstWrite checks that the first write of a key wins
// wherever its copies are, before and after a merge.
func TestMergeKeepsFirstWrite(t *testing.T) {
	s := MustOpen(t, testConfig(t), nil)
	ctx := context.Background()
	at := func(v float64, ms int) shouwang.Reading {
		return shouwang.Reading{Device: "d", Point: "gas", Value: v, Unit: "%LEL", Time: base.Add(time.Duration(ms) * time.Millisecond)}
	}
	values := func() []float64 {
		t.Helper()
		rs, err := s.Readings(ctx, Query{})
		if err != nil {
			t.Fatal(err)
		}
		var vs []float64
		for _, r := range rs {
			vs = append(vs, r.Value)
		}
		return vs
	}
	check := func(step string, want ...float64) {
		t.Helper()
		if got := values(); !slices.Equal(got, want) {
			t.Errorf("%s: values %v, want %v", step, got, want)
		}
	}
	// Two copies of ms 0 in recent, in two Writes and within one.
	mustWrite(t, s, shouwang.Batch{Readings: []shouwang.Reading{at(1, 0), at(10, 1)}})
	mustWrite(t, s, shouwang.Batch{Readings: []shouwang.Reading{at(2, 0), at(20, 2), at(21, 2)}})
	check("in recent", 1, 10, 20)
	mustMerge(t, s)
	check("merged", 1, 10, 20)
	if n := rows(t, s, "readings"); n != 3 {
		t.Errorf("%d rows in readings after the merge, want 3", n)
	}
	// A replay of what readings holds, beside something new.
	mustWrite(t, s, shouwang.Batch{Readings: []shouwang.Reading{at(3, 0), at(30, 3)}})
	check("replayed into recent", 1, 10, 20, 30)
	mustMerge(t, s)
	check("merged again", 1, 10, 20, 30)
}

// TestMergeWhenRecentIsFull checks that a Write merges once recent holds
// mergeRows readings, and that a reopened store counts what recent holds.
func TestMergeWhenRecentIsFull(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	s, err := Open(ctx, cfg, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s.mergeRows = 10
	batch := func(from int) shouwang.Batch {
		var b shouwang.Batch
		for i := range 4 {
			b.Readings = append(b.Readings, shouwang.Reading{Device: "d", Point: "gas", Time: base.Add(time.Duration(from+i) * time.Second)})
		}
		return b
	}
	mustWrite(t, s, batch(0))
	mustWrite(t, s, batch(4))
	if n := rows(t, s, "recent"); n != 8 || s.recent != 8 || rows(t, s, "readings") != 0 {
		t.Fatalf("after 8 readings: %d rows in recent (counted %d), %d in readings; want 8, 8, 0", n, s.recent, rows(t, s, "readings"))
	}
	mustWrite(t, s, batch(8))
	if n := rows(t, s, "readings"); n != 12 || s.recent != 0 || rows(t, s, "recent") != 0 {
		t.Fatalf("after 12 readings: %d rows in readings, %d in recent (counted %d); want 12, 0, 0", n, rows(t, s, "recent"), s.recent)
	}
	mustWrite(t, s, batch(12))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = MustOpen(t, cfg, nil)
	if s.recent != 4 {
		t.Errorf("reopened: recent counted %d, want 4", s.recent)
	}
	if n := count(t, s, "readings"); n != 16 {
		t.Errorf("reopened: %d readings, want 16", n)
	}
}

// TestMergeFails checks that a Write whose merge fails still stores its
// batch, and that the merge is tried again only after more readings.
func TestMergeFails(t *testing.T) {
	s := MustOpen(t, testConfig(t), nil)
	s.mergeRows = 16
	n := 0
	write := func(k int) {
		t.Helper()
		var b shouwang.Batch
		for range k {
			b.Readings = append(b.Readings, shouwang.Reading{Device: "d", Point: "gas", Time: base.Add(time.Duration(n) * time.Second)})
			n++
		}
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatalf("Write with a failing merge: %v", err)
		}
	}
	if _, err := s.db.Exec(`CREATE TRIGGER no_merge BEFORE INSERT ON readings BEGIN SELECT RAISE(ABORT, 'no merge in this test'); END`); err != nil {
		t.Fatal(err)
	}
	write(16)
	if rows(t, s, "recent") != 16 || s.mergeFailedAt != 16 {
		t.Fatalf("after a failed merge: %d rows in recent, merge failed at %d; want 16, 16", rows(t, s, "recent"), s.mergeFailedAt)
	}
	write(1) // 17: not yet another eighth of mergeRows
	if s.mergeFailedAt != 16 {
		t.Fatalf("merge tried again after one reading (failed at %d)", s.mergeFailedAt)
	}
	if _, err := s.db.Exec(`DROP TRIGGER no_merge`); err != nil {
		t.Fatal(err)
	}
	write(1) // 18
	if rows(t, s, "recent") != 0 || rows(t, s, "readings") != 18 || s.mergeFailedAt != 0 {
		t.Fatalf("after the merge: %d rows in recent, %d in readings, failed at %d; want 0, 18, 0", rows(t, s, "recent"), rows(t, s, "readings"), s.mergeFailedAt)
	}
}

func TestWriteRejectsWholeBatch(t *testing.T) {
	s := MustOpen(t, testConfig(t), nil)
	ctx := context.Background()
	good := shouwang.Reading{Device: "d1", Point: "gas", Time: base}
	tests := []struct {
		name  string
		batch shouwang.Batch
		want  string
	}{
		{"no device", shouwang.Batch{Readings: []shouwang.Reading{good, {Point: "gas", Time: base}}}, `reading 1 (device "", point "gas")`},
		{"no point", shouwang.Batch{Readings: []shouwang.Reading{{Device: "d2", Time: base}}}, `reading 0 (device "d2", point "")`},
		{"no kind", shouwang.Batch{Readings: []shouwang.Reading{good}, Events: []shouwang.Event{{Device: "d1", Time: base}}}, `event 0 (device "d1", kind "")`},
		{"not UTF-8", shouwang.Batch{Events: []shouwang.Event{{Device: "d1", Kind: "k", Time: base}, {Device: "\xb9\xca\xd5\xcf", Kind: "fault", Time: base}}}, `event 1 (device "\xb9\xca\xd5\xcf", kind "fault"): device and kind must be non-empty UTF-8 text`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Write(ctx, tt.batch)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), s.Path()) {
				t.Fatalf("Write: %v, want an error naming the store and %s", err, tt.want)
			}
			if n := count(t, s, "readings") + count(t, s, "events"); n != 0 {
				t.Fatalf("%d rows stored from a rejected batch", n)
			}
		})
	}
	if err := s.Write(ctx, shouwang.Batch{}); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Write(cancelled, shouwang.Batch{Readings: []shouwang.Reading{good}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write with a cancelled context: %v, want context.Canceled", err)
	}
}

// queryData is three devices; d3 has another point than the others, so
// the series listing is exercised.
func queryData() shouwang.Batch {
	var b shouwang.Batch
	for m := range 10 {
		for _, dp := range [][2]string{{"d1", "gas"}, {"d1", "co"}, {"d2", "gas"}, {"d2", "co"}, {"d3", "temperature"}} {
			b.Readings = append(b.Readings, shouwang.Reading{Device: dp[0], Point: dp[1], Value: float64(m), Time: base.Add(time.Duration(m) * time.Minute)})
		}
		for _, dk := range [][2]string{{"d1", "gas_alarm"}, {"d2", "fault"}, {"d3", "smoke_alarm"}} {
			b.Events = append(b.Events, shouwang.Event{Device: dk[0], Kind: dk[1], Severity: shouwang.Alarm, Time: base.Add(time.Duration(m) * time.Minute)})
		}
	}
	return b
}

// matches is the reference model of a Query's filters.
func matches(q Query, device, pointOrKind string, tm time.Time) bool {
	filter := slices.Concat(q.Points, q.Kinds)
	return (len(q.Devices) == 0 || slices.Contains(q.Devices, device)) &&
		(len(filter) == 0 || slices.Contains(filter, pointOrKind)) &&
		(q.From.IsZero() || !tm.Before(q.From)) &&
		(q.To.IsZero() || tm.Before(q.To))
}

func minute(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }

func TestQueries(t *testing.T) {
	data := queryData()
	// Where the readings are: all in recent, all merged, or the first half
	// merged and the rest in recent, with series in both.
	writes := map[string]func(t *testing.T, s *Store){
		"recent": func(t *testing.T, s *Store) { mustWrite(t, s, data) },
		"merged": func(t *testing.T, s *Store) { mustWrite(t, s, data); mustMerge(t, s) },
		"split": func(t *testing.T, s *Store) {
			half := len(data.Readings) / 2
			mustWrite(t, s, shouwang.Batch{Readings: data.Readings[:half], Events: data.Events})
			mustMerge(t, s)
			mustWrite(t, s, shouwang.Batch{Readings: data.Readings[half:]})
			if rows(t, s, "readings") == 0 || rows(t, s, "recent") == 0 {
				t.Fatal("split layout: a table is empty")
			}
		},
	}
	for _, layout := range []string{"recent", "merged", "split"} {
		t.Run(layout, func(t *testing.T) {
			s := MustOpen(t, testConfig(t), nil)
			writes[layout](t, s)
			testQueries(t, s, data)
		})
	}
}

func mustWrite(tb testing.TB, s *Store, b shouwang.Batch) {
	tb.Helper()
	if err := s.Write(context.Background(), b); err != nil {
		tb.Fatal(err)
	}
}

func testQueries(t *testing.T, s *Store, data shouwang.Batch) {
	ctx := context.Background()
	tests := []struct {
		name string
		q    Query
	}{
		{"all", Query{}},
		{"one device", Query{Devices: []string{"d1"}}},
		{"two devices", Query{Devices: []string{"d2", "d1"}}},
		{"repeated device", Query{Devices: []string{"d1", "d1"}}},
		{"unknown device", Query{Devices: []string{"nope"}}},
		{"point", Query{Points: []string{"gas"}}},
		{"device and point", Query{Devices: []string{"d1", "d3"}, Points: []string{"co", "temperature", "co"}}},
		{"unknown point", Query{Points: []string{"nope"}}},
		{"kind", Query{Kinds: []string{"fault", "smoke_alarm"}}},
		{"device and kind", Query{Devices: []string{"d1", "d2"}, Kinds: []string{"fault"}}},
		{"range", Query{From: minute(3), To: minute(5)}},
		{"range of a device", Query{Devices: []string{"d2"}, From: minute(3), To: minute(5)}},
		{"from only", Query{From: minute(8)}},
		{"to only", Query{To: minute(1)}},
		{"sub-ms bounds", Query{From: minute(3).Add(time.Nanosecond), To: minute(5).Add(time.Nanosecond)}},
		{"limit", Query{Limit: 7}},
		{"limit in a range", Query{From: minute(2), Limit: 3}},
		{"empty range", Query{From: minute(3), To: minute(3).Add(time.Millisecond / 2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := cmp.Or(tt.q.Limit, DefaultLimit)
			if len(tt.q.Kinds) == 0 {
				var want []shouwang.Reading
				for _, r := range data.Readings {
					if matches(tt.q, r.Device, r.Point, r.Time) {
						want = append(want, r)
					}
				}
				sortReadings(want)
				want = want[:min(len(want), limit)]
				got, err := s.Readings(ctx, tt.q)
				if err != nil {
					t.Fatalf("Readings: %v", err)
				}
				sameReadings(t, got, want)
			}
			if len(tt.q.Points) == 0 {
				var want []shouwang.Event
				for _, e := range data.Events {
					if matches(tt.q, e.Device, e.Kind, e.Time) {
						want = append(want, e)
					}
				}
				sortEvents(want)
				want = want[:min(len(want), limit)]
				got, err := s.Events(ctx, tt.q)
				if err != nil {
					t.Fatalf("Events: %v", err)
				}
				sameEvents(t, got, want)
			}
		})
	}
}

func TestQueryInvalid(t *testing.T) {
	s := MustOpen(t, testConfig(t), nil)
	ctx := context.Background()
	tests := []struct {
		name     string
		q        Query
		readings bool
		want     string
	}{
		{"kinds on readings", Query{Kinds: []string{"fault"}}, true, "Kinds filters events"},
		{"points on events", Query{Points: []string{"gas"}}, false, "Points filters readings"},
		{"reversed range", Query{From: minute(5), To: minute(3)}, true, "is not before To"},
		{"empty range", Query{From: minute(5), To: minute(5)}, false, "is not before To"},
		{"negative limit", Query{Limit: -1}, true, "Limit -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.readings {
				_, err = s.Readings(ctx, tt.q)
			} else {
				_, err = s.Events(ctx, tt.q)
			}
			if !errors.Is(err, ErrInvalidQuery) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want ErrInvalidQuery mentioning %q", err, tt.want)
			}
		})
	}
}

// TestQueryPlans guards the SD card: no statement reads a whole table.
func TestQueryPlans(t *testing.T) {
	s := MustOpen(t, testConfig(t), nil)
	ctx := context.Background()
	if err := s.Write(ctx, queryData()); err != nil {
		t.Fatal(err)
	}
	// A table scan shows as "SCAN readings", "SCAN r" or "SCAN events";
	// scans of json_each (j, s) and of CTEs (d, s) are of the arguments,
	// and those of recent are meant: it holds at most some mergeRows
	// readings.
	fullScan := regexp.MustCompile(`^SCAN (readings|events|r)\b`)
	plans := []struct {
		sql  string
		args []any
	}{
		{sqlDevices, nil},
		{sqlSeries, []any{`["d1","d2"]`}},
		{sqlReadings, []any{`[["d1","gas"]]`, 0, 1, 10}},
		{sqlDeleteReadings, []any{"d1", "gas", 5, 100}},
		{sqlDeleteEvents, []any{5, 100}},
		{insertRecentSQL(2), []any{"d", "p", 1, 1.0, "", 0, "d", "p", 2, nil, "", 0}},
		{sqlMergeRecent, nil},
		{sqlClearRecent, nil},
		{sqlCountRecent, nil},
		{sqlDeleteRecent, []any{5, 100}},
		{sqlInsertEvent, []any{"d", "k", 0, "", nil, 1}},
	}
	for v := range s.selEvents {
		plans = append(plans, struct {
			sql  string
			args []any
		}{eventsSQL(v), []any{0, 1, `["d1"]`, `["fault"]`, 10}})
	}
	for _, p := range plans {
		rows, err := s.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+p.sql, p.args...)
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", p.sql, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, d := range plan {
			if fullScan.MatchString(d) {
				t.Errorf("full table scan in\n%s\nplan:\n  %s", p.sql, strings.Join(plan, "\n  "))
			}
		}
	}
}

func TestPrune(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			clock := mock.NewClock(base)
			s := MustOpen(t, testConfig(t), clock.Now)
			s.mergeRows = l.mergeRows
			ctx := context.Background()
			// One reading per series and one event per day, from 40 days ago to now.
			var b shouwang.Batch
			for day := -40; day <= 0; day++ {
				tm := base.Add(time.Duration(day) * 24 * time.Hour)
				for _, dp := range [][2]string{{"d1", "gas"}, {"d1", "co"}, {"d2", "gas"}} {
					b.Readings = append(b.Readings, shouwang.Reading{Device: dp[0], Point: dp[1], Time: tm})
				}
				b.Events = append(b.Events, shouwang.Event{Device: "d1", Kind: "fault", Time: tm})
			}
			// Exactly at the cutoff is kept; a millisecond before is not.
			cutoff := base.Add(-DefaultRetention)
			b.Readings = append(b.Readings,
				shouwang.Reading{Device: "d3", Point: "gas", Time: cutoff},
				shouwang.Reading{Device: "d3", Point: "gas", Time: cutoff.Add(-time.Millisecond)})
			if err := s.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
			s.pruneChunk = 4 // many transactions, crossing series and into events

			deleted, err := s.Prune(ctx)
			if err != nil {
				t.Fatalf("Prune: %v", err)
			}
			// Days -40..-31 are older than 30 days: 10 days × (3 readings + 1 event), plus d3's one.
			if deleted != 10*4+1 {
				t.Errorf("Prune deleted %d, want %d", deleted, 10*4+1)
			}
			checkOldest := func(want time.Time) {
				t.Helper()
				rs, err := s.Readings(ctx, Query{})
				if err != nil {
					t.Fatal(err)
				}
				es, err := s.Events(ctx, Query{})
				if err != nil {
					t.Fatal(err)
				}
				if rs[0].Time.Before(want) || es[0].Time.Before(want) {
					t.Errorf("oldest reading %s, event %s; want none before %s", rs[0].Time, es[0].Time, want)
				}
			}
			checkOldest(cutoff)
			if deleted, err = s.Prune(ctx); err != nil || deleted != 0 {
				t.Errorf("second Prune: %d, %v; want 0, nil", deleted, err)
			}

			// Five days later, five more days go.
			clock.Set(base.Add(5 * 24 * time.Hour))
			if deleted, err = s.Prune(ctx); err != nil || deleted != 5*4+1 {
				t.Errorf("Prune five days later: %d, %v; want %d, nil", deleted, err, 5*4+1)
			}
			checkOldest(cutoff.Add(5 * 24 * time.Hour))

			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := s.Prune(cancelled); !errors.Is(err, context.Canceled) {
				t.Errorf("Prune with a cancelled context: %v, want context.Canceled", err)
			}
		})
	}
}

// TestPruneChunkBounded checks that one prune transaction deletes at most
// pruneChunk rows, however much is due, from recent and from readings.
func TestPruneChunkBounded(t *testing.T) {
	clock := mock.NewClock(base)
	s := MustOpen(t, testConfig(t), clock.Now)
	ctx := context.Background()
	var b shouwang.Batch
	for i := range 500 {
		tm := base.Add(-40*24*time.Hour + time.Duration(i)*time.Second)
		b.Readings = append(b.Readings, shouwang.Reading{Device: "d1", Point: "gas", Time: tm}, shouwang.Reading{Device: "d2", Point: "gas", Time: tm})
		b.Events = append(b.Events, shouwang.Event{Device: "d1", Kind: "fault", Time: tm})
	}
	mustWrite(t, s, shouwang.Batch{Readings: b.Readings[:500]})
	mustMerge(t, s)
	mustWrite(t, s, shouwang.Batch{Readings: b.Readings[500:], Events: b.Events})
	s.pruneChunk = 300
	series, err := s.series(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	todo := pruneTodo{series: series}
	cutoff := ceilMilli(base.Add(-DefaultRetention))
	var total int64
	for txs := 0; !todo.eventsDone; txs++ {
		if txs > 10 {
			t.Fatal("prune does not finish")
		}
		n, err := s.pruneChunkTx(ctx, cutoff, &todo)
		if err != nil {
			t.Fatal(err)
		}
		if n > 300 {
			t.Fatalf("one transaction deleted %d rows, want at most 300", n)
		}
		total += n
	}
	if total != 1500 || count(t, s, "readings")+count(t, s, "events") != 0 || s.recent != 0 {
		t.Fatalf("deleted %d, want 1500 and nothing left (recent counted %d)", total, s.recent)
	}
}

func TestBackgroundPrune(t *testing.T) {
	before := goroutinesBefore(t)
	clock := mock.NewClock(base)
	cfg := testConfig(t)
	s, err := Open(context.Background(), cfg, clock.Now, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.PruneInterval = 5 * time.Millisecond // below what Validate allows, for the test
	ctx := context.Background()
	old := shouwang.Reading{Device: "d1", Point: "gas", Time: base.Add(-31 * 24 * time.Hour)}
	if err := s.Write(ctx, shouwang.Batch{Readings: []shouwang.Reading{old}}); err != nil {
		t.Fatal(err)
	}
	s.Start(ctx)
	s.Start(ctx) // a second Start does nothing
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if n := count(t, s, "readings"); n != 0 {
			return fmt.Errorf("%d readings left", n)
		}
		return nil
	})
	// Later data ages with the clock, and the loop keeps pruning.
	recent := shouwang.Reading{Device: "d1", Point: "gas", Time: base}
	if err := s.Write(ctx, shouwang.Batch{Readings: []shouwang.Reading{recent}}); err != nil {
		t.Fatal(err)
	}
	clock.Set(base.Add(31 * 24 * time.Hour))
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if n := count(t, s, "readings"); n != 0 {
			return fmt.Errorf("%d readings left", n)
		}
		return nil
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkGoroutinesSettle(t, before)
}

func TestStartStopsWithContext(t *testing.T) {
	before := goroutinesBefore(t)
	cfg := testConfig(t)
	cfg.PruneInterval = time.Hour
	s := MustOpen(t, cfg, nil)
	ctx, cancel := context.WithCancel(context.Background())
	s.Start(ctx)
	cancel()
	// The pruner is gone before Close: only the pool's goroutine is left.
	s.wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkGoroutinesSettle(t, before)
}

func TestCloseIdempotent(t *testing.T) {
	before := goroutinesBefore(t)
	cfg := testConfig(t)
	cfg.PruneInterval = time.Hour
	s, err := Open(context.Background(), cfg, mock.NewClock(base).Now, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.Start(ctx)
	if err := s.Write(ctx, sampleBatch()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Readings(ctx, Query{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	s.Start(ctx) // after Close: starts nothing
	if err := s.Write(ctx, sampleBatch()); err == nil {
		t.Error("Write after Close succeeded")
	}
	if _, err := s.Readings(ctx, Query{}); err == nil {
		t.Error("Readings after Close succeeded")
	}
	checkGoroutinesSettle(t, before)
	// Closing checkpointed the WAL into the database file.
	if _, err := os.Stat(cfg.Path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WAL file left after Close: %v", err)
	}
}

func TestReopen(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	s, err := Open(ctx, cfg, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	b := sampleBatch()
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = MustOpen(t, cfg, nil)
	var version int
	if err := s.db.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != len(migrations) {
		t.Fatalf("user_version = %d, %v; want %d", version, err, len(migrations))
	}
	holdsExactly(t, s, b)
}

// TestMigrationAppended is what a later change does: append a
// migration; an existing database gets only the new one.
func TestMigrationAppended(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	s, err := Open(ctx, cfg, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, sampleBatch()); err != nil {
		t.Fatal(err)
	}
	s.Close()

	saved := migrations
	t.Cleanup(func() { migrations = saved })
	migrations = append(slices.Clip(saved), `CREATE TABLE journal_test (id INTEGER PRIMARY KEY, event_id INTEGER REFERENCES events (id));`)
	s = MustOpen(t, cfg, nil)
	var version int
	if err := s.db.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != len(saved)+1 {
		t.Fatalf("user_version = %d, %v; want %d", version, err, len(saved)+1)
	}
	if _, err := s.db.Exec("INSERT INTO journal_test (event_id) SELECT id FROM events LIMIT 1"); err != nil {
		t.Fatalf("new table: %v", err)
	}
	if n := count(t, s, "readings"); n != len(sampleBatch().Readings) {
		t.Fatalf("%d readings after migrating, want %d", n, len(sampleBatch().Readings))
	}
}

// TestMigrateFromReadingsOnly opens a database of the first schema, which
// wrote readings straight into readings: they read back, and a new write
// of the same key keeps them.
func TestMigrateFromReadingsOnly(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	db, _, _, err := sqlitedb.Open(ctx, cfg.Path, "normal", 1, migrations[:1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO readings (device, point, ts, value, unit, quality) VALUES ('d', 'gas', ?1, 1.5, '%LEL', 0)`, base.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := MustOpen(t, cfg, nil)
	var version int
	if err := s.db.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != len(migrations) {
		t.Fatalf("user_version = %d, %v; want %d", version, err, len(migrations))
	}
	mustWrite(t, s, shouwang.Batch{Readings: []shouwang.Reading{
		{Device: "d", Point: "gas", Value: 9, Unit: "%LEL", Time: base},
		{Device: "d", Point: "gas", Value: 2.5, Unit: "%LEL", Time: base.Add(time.Second)},
	}})
	want := []shouwang.Reading{
		{Device: "d", Point: "gas", Value: 1.5, Unit: "%LEL", Time: base},
		{Device: "d", Point: "gas", Value: 2.5, Unit: "%LEL", Time: base.Add(time.Second)},
	}
	for _, step := range []string{"unmerged", "merged"} {
		if step == "merged" {
			mustMerge(t, s)
		}
		got, err := s.Readings(ctx, Query{})
		if err != nil {
			t.Fatal(err)
		}
		sameReadings(t, got, want)
	}
}

func TestOpenNewerSchema(t *testing.T) {
	cfg := testConfig(t)
	s, err := Open(context.Background(), cfg, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(context.Background(), cfg, nil, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "newer than this gateway knows") || !strings.Contains(err.Error(), cfg.Path) {
		t.Fatalf("Open of a newer schema: %v, want an error naming the path and the versions", err)
	}
}

// TestConcurrentWriters checks that writers, readers and the pruner share
// the file without SQLITE_BUSY errors.
func TestConcurrentWriters(t *testing.T) {
	s := MustOpen(t, testConfig(t), mock.NewClock(base).Now)
	ctx := context.Background()
	errs := make(chan error, 8)
	for w := range 4 {
		go func() {
			var err error
			for i := range 50 {
				b := shouwang.Batch{}
				for j := range 20 {
					b.Readings = append(b.Readings, shouwang.Reading{Device: fmt.Sprintf("d%d", w), Point: "gas", Time: base.Add(time.Duration(i*20+j) * time.Millisecond)})
				}
				if err = s.Write(ctx, b); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 2 {
		go func() {
			var err error
			for range 50 {
				if _, err = s.Readings(ctx, Query{Limit: 100}); err != nil {
					break
				}
				if _, err = s.Prune(ctx); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := count(t, s, "readings"); n != 4*50*20 {
		t.Errorf("%d readings, want %d", n, 4*50*20)
	}
}
