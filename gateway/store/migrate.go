package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order, each in its own transaction, and the
// number applied is recorded in PRAGMA user_version. A later change appends
// to this list; an entry that has been released is never edited.
var migrations = []string{
	// 1: readings and events.
	`
CREATE TABLE readings (
	device  TEXT    NOT NULL,
	point   TEXT    NOT NULL,
	ts      INTEGER NOT NULL, -- unix milliseconds
	value   REAL,             -- NULL stores NaN
	unit    TEXT    NOT NULL,
	quality INTEGER NOT NULL, -- shouwang.Quality
	PRIMARY KEY (device, point, ts)
) WITHOUT ROWID, STRICT;

CREATE TABLE events (
	id       INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused, so the alarm journal may refer to it
	device   TEXT    NOT NULL,
	kind     TEXT    NOT NULL,
	severity INTEGER NOT NULL, -- shouwang.Severity
	message  TEXT    NOT NULL,
	attrs    TEXT,             -- JSON object of strings; NULL when there are none
	ts       INTEGER NOT NULL, -- unix milliseconds
	-- One event per (device, kind, ms), for idempotence; in this column
	-- order the same index serves the (device, time range) lookups.
	UNIQUE (device, ts, kind)
) STRICT;

CREATE INDEX events_ts ON events (ts);
`,
	// 2: the alarm journal (gateway/alarms). Every transition of every alarm,
	// in order; the open alarms as the book last left them; closed alarms.
	`
CREATE TABLE alarm_transitions (
	alarm_id INTEGER NOT NULL,
	seq      INTEGER NOT NULL, -- per alarm, from 1
	ts       INTEGER NOT NULL, -- unix milliseconds
	kind     TEXT    NOT NULL,
	body     TEXT    NOT NULL, -- rules.Transition as JSON
	PRIMARY KEY (alarm_id, seq)
) WITHOUT ROWID, STRICT;

CREATE INDEX alarm_transitions_ts ON alarm_transitions (ts);

CREATE TABLE alarm_book (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	snapshot TEXT    NOT NULL -- rules.AlarmSnapshot as JSON
) STRICT;

CREATE TABLE alarms_closed (
	id        INTEGER PRIMARY KEY,
	closed_at INTEGER NOT NULL, -- unix milliseconds
	body      TEXT    NOT NULL  -- rules.Alarm as JSON
) STRICT;

CREATE INDEX alarms_closed_at ON alarms_closed (closed_at);
`,
	// 3: the alarm feed the notifiers (MQTT, webhooks) read from, in commit
	// order, and how far each has delivered, so that a message committed
	// before a crash is still sent after it.
	`
CREATE TABLE alarm_feed (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	alarm_id INTEGER NOT NULL,
	seq      INTEGER NOT NULL -- with alarm_id, a row of alarm_transitions
) STRICT;

CREATE TABLE notify_cursors (
	name    TEXT    PRIMARY KEY, -- the notifier's name in the config
	feed_id INTEGER NOT NULL     -- the last alarm_feed row it delivered
) STRICT;
`,
}

// migrate brings db up to len(list) migrations and returns the schema
// version it found and the one it left. A database whose version is above
// len(list) was written by a newer gateway and is refused.
func migrate(ctx context.Context, db *sql.DB, list []string) (from, to int, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	from = -1
	for {
		version, applied, err := migrateOne(ctx, conn, list)
		if from < 0 {
			from = version
		}
		if err != nil || !applied {
			return from, version, err
		}
	}
}

// migrateOne applies the next migration, if any, in one transaction, and
// returns the version it found. The transaction takes the write lock before
// reading user_version, so two processes opening the same file cannot both
// apply a migration.
func migrateOne(ctx context.Context, conn *sql.Conn, list []string) (version int, applied bool, err error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return 0, false, fmt.Errorf("migrate: read schema version: %w", err)
	}
	switch {
	case version > len(list):
		return version, false, fmt.Errorf("schema version %d is newer than this gateway knows (%d): was the file written by a newer release?", version, len(list))
	case version == len(list):
		return version, false, nil
	}
	if _, err := tx.ExecContext(ctx, list[version]); err != nil {
		return version, false, fmt.Errorf("migration %d: %w", version+1, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version+1)); err != nil {
		return version, false, fmt.Errorf("migration %d: record version: %w", version+1, err)
	}
	if err := tx.Commit(); err != nil {
		return version, false, fmt.Errorf("migration %d: commit: %w", version+1, err)
	}
	return version, true, nil
}
