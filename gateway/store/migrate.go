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
	// 4: the alarm journal moved to a database of its own (alarms.db, see
	// gateway/alarms), so that its fsynced commits never wait for the
	// history's write lock behind a batch of readings or a prune.
	`
DROP TABLE alarm_transitions;
DROP TABLE alarm_book;
DROP TABLE alarms_closed;
DROP TABLE alarm_feed;
DROP TABLE notify_cursors;
`,
}
