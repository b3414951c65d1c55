package store

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
	// 2: recent, where Write appends readings as they come, to be moved
	// into readings in key order once there are enough of them (write.go).
	`
CREATE TABLE recent (
	device  TEXT    NOT NULL,
	point   TEXT    NOT NULL,
	ts      INTEGER NOT NULL,
	value   REAL,
	unit    TEXT    NOT NULL,
	quality INTEGER NOT NULL
) STRICT;
`,
}
