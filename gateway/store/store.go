package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/gateway/internal/sqlitedb"
)

// Config is the history store's section of the gateway config.
type Config struct {
	// Path is the database file. Empty in DefaultConfig: the gateway fills
	// in "<data_dir>/history.db" before calling Open.
	Path string `yaml:"path"`
	// Retention is how long readings and events are kept. GB/T 45839 asks
	// for at least 30 days when the gateway reports to a remote platform.
	Retention time.Duration `yaml:"retention"`
	// PruneInterval is how often the background pruner deletes what is
	// older than Retention. 0 turns the background pruning off.
	PruneInterval time.Duration `yaml:"prune_interval"`
	// Synchronous is SQLite's synchronous mode: "normal" (an fsync per
	// checkpoint; a power cut may lose the last commits) or "full" (an
	// fsync per commit; more SD card wear and slower writes).
	Synchronous string `yaml:"synchronous"`
}

// Defaults, in one place.
const (
	DefaultRetention     = 30 * 24 * time.Hour
	DefaultPruneInterval = 10 * time.Minute
	DefaultSynchronous   = "normal"

	// minRetention guards against a unit typo ("30" read as 30ns).
	minRetention = time.Hour
	// standardRetention is GB/T 45839's minimum; shorter is allowed but
	// logged.
	standardRetention = 30 * 24 * time.Hour
	minPruneInterval  = time.Second
	maxConns          = 4
)

// DefaultConfig returns the store's defaults; Path stays empty.
func DefaultConfig() Config {
	return Config{
		Retention:     DefaultRetention,
		PruneInterval: DefaultPruneInterval,
		Synchronous:   DefaultSynchronous,
	}
}

// Validate reports every problem with the section as shouwang.FieldErrors.
// It does no I/O. An empty Path is valid: the gateway fills it in.
func (c *Config) Validate() error {
	var fe shouwang.FieldErrors
	switch {
	case c.Path == "":
	case c.Path == ":memory:" || strings.HasPrefix(c.Path, "file:"):
		fe.Add("path", "%q is not a file path (a file path such as /var/lib/shouwang/history.db; the history must survive a restart)", c.Path)
	case strings.ContainsRune(c.Path, 0):
		fe.Add("path", "contains a NUL byte (a file path such as /var/lib/shouwang/history.db)")
	case strings.HasSuffix(c.Path, "/") || strings.HasSuffix(c.Path, string(filepath.Separator)):
		fe.Add("path", "%q names a directory (a file path such as %s)", c.Path, filepath.Join(c.Path, "history.db"))
	}
	if c.Retention < minRetention {
		fe.Add("retention", "%s is too short (at least %s; 720h keeps the 30 days GB/T 45839 asks for)", c.Retention, minRetention)
	}
	if c.PruneInterval < 0 || (c.PruneInterval > 0 && c.PruneInterval < minPruneInterval) {
		fe.Add("prune_interval", "%s is not usable (0 turns background pruning off, otherwise at least %s, e.g. 10m)", c.PruneInterval, minPruneInterval)
	}
	if c.Synchronous != "normal" && c.Synchronous != "full" {
		fe.Add("synchronous", "%q is not a mode (normal or full)", c.Synchronous)
	}
	return fe.Err()
}

// Store is an open history database.
type Store struct {
	cfg  Config
	path string // absolute path of the database file
	now  func() time.Time
	log  *slog.Logger
	db   *sql.DB

	insRecent   [len(insertSizes)]*sql.Stmt
	insEvent    *sql.Stmt
	selDevices  *sql.Stmt
	selSeries   *sql.Stmt
	selReadings *sql.Stmt
	selEvents   [4]*sql.Stmt // indexed by eventsByDevice|eventsByKind
	delReadings *sql.Stmt
	delRecent   *sql.Stmt
	delEvents   *sql.Stmt
	stmts       []*sql.Stmt // every statement above, for Close
	pruneChunk  int         // rows per prune transaction; a field so tests can shrink it
	mergeRows   int         // readings in recent that start a merge; a field so tests can change it

	// wmu serializes the writers (Write, which merges, and the pruner's
	// transactions) and guards the fields below.
	wmu           sync.Mutex
	recent        int   // readings in the recent table
	mergeFailedAt int   // recent when the last merge failed; 0 after one succeeds
	args          []any // one INSERT's parameters

	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Open opens the database at cfg.Path, creating the file and its directory
// if needed, switches it to WAL mode and applies any migrations not yet
// recorded in its user_version. now is the clock used to decide what is
// older than the retention (time.Now if nil); log may be nil.
//
// Open returns the config's FieldErrors if cfg is invalid, and an error
// naming the path if the file cannot be created, opened or migrated, or if
// it was written by a newer gateway with migrations this one does not know.
func Open(ctx context.Context, cfg Config, now func() time.Time, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Path == "" {
		return nil, errors.New("history store: no path (the gateway sets <data_dir>/history.db)")
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("history store %s: %w", cfg.Path, err)
	}
	db, from, to, err := sqlitedb.Open(ctx, path, cfg.Synchronous, maxConns, migrations)
	if err != nil {
		return nil, fmt.Errorf("history store %s: %w", path, err)
	}
	if from != to {
		log.Info("history schema migrated", "path", path, "from", from, "to", to)
	}
	s := &Store{
		cfg:        cfg,
		path:       path,
		now:        now,
		log:        log.With("path", path),
		db:         db,
		pruneChunk: defaultPruneChunk,
		mergeRows:  defaultMergeRows,
	}
	if err := s.init(ctx, to); err != nil {
		db.Close()
		return nil, fmt.Errorf("history store %s: %w", path, err)
	}
	if cfg.Retention < standardRetention {
		s.log.Warn("history retention is shorter than the 30 days GB/T 45839 asks for", "retention", cfg.Retention)
	}
	return s, nil
}

func (s *Store) init(ctx context.Context, schema int) error {
	if err := s.prepare(ctx); err != nil {
		return err
	}
	if err := s.db.QueryRowContext(ctx, sqlCountRecent).Scan(&s.recent); err != nil {
		return fmt.Errorf("count recent readings: %w", err)
	}
	s.log.Info("history store opened", "schema", schema, "retention", s.cfg.Retention, "synchronous", s.cfg.Synchronous)
	return nil
}

func (s *Store) prepare(ctx context.Context) error {
	stmts := []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.insEvent, sqlInsertEvent},
		{&s.selDevices, sqlDevices},
		{&s.selSeries, sqlSeries},
		{&s.selReadings, sqlReadings},
		{&s.delReadings, sqlDeleteReadings},
		{&s.delRecent, sqlDeleteRecent},
		{&s.delEvents, sqlDeleteEvents},
	}
	for k, n := range insertSizes {
		stmts = append(stmts, struct {
			dst **sql.Stmt
			sql string
		}{&s.insRecent[k], insertRecentSQL(n)})
	}
	for v := range s.selEvents {
		stmts = append(stmts, struct {
			dst **sql.Stmt
			sql string
		}{&s.selEvents[v], eventsSQL(v)})
	}
	for _, st := range stmts {
		p, err := s.db.PrepareContext(ctx, st.sql)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", firstLine(st.sql), err)
		}
		*st.dst = p
		s.stmts = append(s.stmts, p)
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Start starts the background pruner if PruneInterval > 0: it prunes at
// once (the gateway may have been off for days), then every
// PruneInterval, until ctx ends or Close is called. Calling Start again, or
// after Close, does nothing.
func (s *Store) Start(ctx context.Context) {
	if s.cfg.PruneInterval <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Go(func() { s.pruneLoop(ctx) })
}

// Close stops the pruner, waits for it, and closes the database. It is
// idempotent: later calls return nil. Calls on the Store after Close fail.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.wg.Wait()
	// Closing the statements first releases them on every pooled
	// connection; closing the last connection checkpoints the WAL into the
	// database file and removes it.
	for _, st := range s.stmts {
		st.Close()
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("history store %s: close: %w", s.path, err)
	}
	return nil
}

// Path is the absolute path of the database file.
func (s *Store) Path() string { return s.path }
