// Package sqlitedb opens the gateway's SQLite files (the history store,
// the alarm journal) the one way they are opened: WAL, a busy timeout,
// immediate write transactions, and a schema brought up by numbered
// migrations recorded in PRAGMA user_version.
package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

const (
	// busyTimeout is how long a statement waits for another connection's
	// write lock before failing.
	busyTimeout = 10 * time.Second
	// journalSizeLimit truncates the WAL file back to this size after a
	// checkpoint, so one burst does not leave a large WAL on the card.
	journalSizeLimit = 16 << 20
)

// Open opens (creating it and its directory if need be) the database at
// path with synchronous ("normal" or "full") and a pool of maxConns
// connections, checks it is in WAL mode and applies migrations. It returns
// the schema version found and the one left.
func Open(ctx context.Context, path, synchronous string, maxConns int, migrations []string) (db *sql.DB, from, to int, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, 0, 0, fmt.Errorf("create directory: %w", err)
	}
	db, err = sql.Open("sqlite", dsn(path, synchronous))
	if err != nil {
		return nil, 0, 0, err
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, 0, 0, err
	}
	if !strings.EqualFold(mode, "wal") {
		db.Close()
		return nil, 0, 0, fmt.Errorf("journal mode is %q, not WAL (does the file system support shared memory?)", mode)
	}
	if from, to, err = migrate(ctx, db, migrations); err != nil {
		db.Close()
		return nil, from, to, err
	}
	return db, from, to, nil
}

// dsn builds the modernc.org/sqlite data source name. The path is escaped
// as a file: URI so that '?', '#' and '%' in it are not taken as URI syntax.
// The pragmas apply to every connection the pool opens; _txlock=immediate
// makes a transaction take the write lock at BEGIN, so two writers queue on
// busy_timeout instead of one failing with SQLITE_BUSY on its first write.
func dsn(path, synchronous string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path)}
	if !strings.HasPrefix(u.Path, "/") {
		u.Path = "/" + u.Path // a Windows drive path, C:/...
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+strings.ToUpper(synchronous)+")")
	q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", journalSizeLimit))
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return "file:" + u.EscapedPath() + "?" + q.Encode()
}
