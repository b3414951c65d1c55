// Package alarms runs the alarm desk: the rule engine and the alarm book
// fed from the bus, every transition committed to the journal before it
// is announced, and the HTTP API the police room works through.
package alarms

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shouwang-iot/shouwang/gateway/internal/sqlitedb"
	"github.com/shouwang-iot/shouwang/rules"
)

// Journal is the audit trail: every transition of every alarm, in order,
// and the open alarms as the book last left them, so that they come back
// after a restart exactly as they were. It is a SQLite database of its own
// (alarms.db beside the history) with synchronous=FULL: a transition is on
// disk before anyone hears of it, and its commit never waits for the
// history's write lock behind a batch of readings.
type Journal struct {
	db *sql.DB
	// noFeed is set when no notifier is configured: nobody would read the
	// feed, so Commit does not write it.
	noFeed bool
}

// journalMigrations are applied in order; a released entry is never
// edited.
var journalMigrations = []string{
	// 1: transitions, the book, closed alarms, and the feed the notifiers
	// read with how far each has delivered.
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

// OpenJournal opens (or creates) the journal at path.
func OpenJournal(ctx context.Context, path string) (*Journal, error) {
	db, _, _, err := sqlitedb.Open(ctx, path, "full", 4, journalMigrations)
	if err != nil {
		return nil, fmt.Errorf("alarm journal %s: %w", path, err)
	}
	return &Journal{db: db}, nil
}

// Commit writes transitions, the book's snapshot and the alarms it closed,
// in one transaction.
func (j *Journal) Commit(ctx context.Context, ts []rules.Transition, snap rules.AlarmSnapshot, closed []rules.Alarm) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("alarm journal: %w", err)
	}
	defer tx.Rollback()
	for _, t := range ts {
		body, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("alarm journal: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alarm_transitions (alarm_id, seq, ts, kind, body) VALUES (?, ?, ?, ?, ?)`,
			int64(t.AlarmID), int64(t.Seq), t.Time.UnixMilli(), t.Kind.String(), string(body)); err != nil {
			return fmt.Errorf("alarm journal: alarm %d transition %d: %w", t.AlarmID, t.Seq, err)
		}
		if j.noFeed {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alarm_feed (alarm_id, seq) VALUES (?, ?)`,
			int64(t.AlarmID), int64(t.Seq)); err != nil {
			return fmt.Errorf("alarm journal: feed: %w", err)
		}
	}
	for _, a := range closed {
		body, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("alarm journal: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO alarms_closed (id, closed_at, body) VALUES (?, ?, ?)`,
			int64(a.ID), a.Closed.Time.UnixMilli(), string(body)); err != nil {
			return fmt.Errorf("alarm journal: closed alarm %d: %w", a.ID, err)
		}
	}
	body, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("alarm journal: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO alarm_book (id, snapshot) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot`, string(body)); err != nil {
		return fmt.Errorf("alarm journal: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("alarm journal: %w", err)
	}
	return nil
}

// Load returns the book as it was last committed; ok is false when the
// journal is new.
func (j *Journal) Load(ctx context.Context) (snap rules.AlarmSnapshot, ok bool, err error) {
	var body string
	err = j.db.QueryRowContext(ctx, `SELECT snapshot FROM alarm_book WHERE id = 1`).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return snap, false, nil
	}
	if err != nil {
		return snap, false, fmt.Errorf("alarm journal: %w", err)
	}
	if err := json.Unmarshal([]byte(body), &snap); err != nil {
		return snap, false, fmt.Errorf("alarm journal: the saved book does not read back: %w", err)
	}
	return snap, true, nil
}

// History returns every transition of one alarm, in order.
func (j *Journal) History(ctx context.Context, id uint64) ([]rules.Transition, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT body FROM alarm_transitions WHERE alarm_id = ? ORDER BY seq`, int64(id))
	return scanTransitions(rows, err)
}

// Between returns the transitions stamped in [from, to) of the given
// devices (all with none), oldest first, at most limit: the alarms' part
// of a building's history.
func (j *Journal) Between(ctx context.Context, from, to time.Time, devices []string, limit int) ([]rules.Transition, error) {
	q := `SELECT body FROM alarm_transitions WHERE ts >= ? AND ts < ?`
	args := []any{from.UnixMilli(), to.UnixMilli()}
	if len(devices) > 0 {
		q += ` AND json_extract(body, '$.device') IN (?` + strings.Repeat(`, ?`, len(devices)-1) + `)`
		for _, d := range devices {
			args = append(args, d)
		}
	}
	rows, err := j.db.QueryContext(ctx, q+` ORDER BY ts, alarm_id, seq LIMIT ?`, append(args, limit)...)
	return scanTransitions(rows, err)
}

func scanTransitions(rows *sql.Rows, err error) ([]rules.Transition, error) {
	if err != nil {
		return nil, fmt.Errorf("alarm journal: %w", err)
	}
	defer rows.Close()
	var out []rules.Transition
	for rows.Next() {
		var body string
		var t rules.Transition
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("alarm journal: %w", err)
		}
		if err := json.Unmarshal([]byte(body), &t); err != nil {
			return nil, fmt.Errorf("alarm journal: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Closed returns a closed alarm; ok is false if there is none with that id.
func (j *Journal) Closed(ctx context.Context, id uint64) (a rules.Alarm, ok bool, err error) {
	var body string
	err = j.db.QueryRowContext(ctx, `SELECT body FROM alarms_closed WHERE id = ?`, int64(id)).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	if err == nil {
		err = json.Unmarshal([]byte(body), &a)
	}
	if err != nil {
		return a, false, fmt.Errorf("alarm journal: %w", err)
	}
	return a, true, nil
}

// ClosedSince returns the alarms closed at or after since, oldest first,
// at most limit.
func (j *Journal) ClosedSince(ctx context.Context, sinceMs int64, limit int) ([]rules.Alarm, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT body FROM alarms_closed WHERE closed_at >= ? ORDER BY closed_at LIMIT ?`, sinceMs, limit)
	if err != nil {
		return nil, fmt.Errorf("alarm journal: %w", err)
	}
	defer rows.Close()
	var out []rules.Alarm
	for rows.Next() {
		var body string
		var a rules.Alarm
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("alarm journal: %w", err)
		}
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			return nil, fmt.Errorf("alarm journal: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// FeedEntry is one committed transition, in commit order.
type FeedEntry struct {
	ID         int64
	Transition rules.Transition
}

// Feed returns up to limit transitions committed after feed row after,
// in commit order.
func (j *Journal) Feed(ctx context.Context, after int64, limit int) ([]FeedEntry, error) {
	rows, err := j.db.QueryContext(ctx, `SELECT f.id, t.body FROM alarm_feed f
		JOIN alarm_transitions t ON t.alarm_id = f.alarm_id AND t.seq = f.seq
		WHERE f.id > ? ORDER BY f.id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("alarm journal: feed: %w", err)
	}
	defer rows.Close()
	var out []FeedEntry
	for rows.Next() {
		var e FeedEntry
		var body string
		if err := rows.Scan(&e.ID, &body); err != nil {
			return nil, fmt.Errorf("alarm journal: feed: %w", err)
		}
		if err := json.Unmarshal([]byte(body), &e.Transition); err != nil {
			return nil, fmt.Errorf("alarm journal: feed row %d: %w", e.ID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Cursors prepares the delivery cursors of the named notifiers and
// returns them: a notifier new to the journal starts at its end (it is not
// sent the past), and cursors of notifiers no longer configured are
// dropped, so they no longer hold the feed back.
func (j *Journal) Cursors(ctx context.Context, names []string) (map[string]int64, error) {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("alarm journal: cursors: %w", err)
	}
	defer tx.Rollback()
	var end int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM alarm_feed`).Scan(&end); err != nil {
		return nil, fmt.Errorf("alarm journal: cursors: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT name, feed_id FROM notify_cursors`)
	if err != nil {
		return nil, fmt.Errorf("alarm journal: cursors: %w", err)
	}
	old := map[string]int64{}
	for rows.Next() {
		var name string
		var id int64
		if err := rows.Scan(&name, &id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("alarm journal: cursors: %w", err)
		}
		old[name] = id
	}
	rows.Close()
	j.noFeed = len(names) == 0
	out := map[string]int64{}
	for _, n := range names {
		id, ok := old[n]
		if !ok {
			id = end
		}
		out[n] = id
		delete(old, n)
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO notify_cursors (name, feed_id) VALUES (?, ?)`, n, id); err != nil {
			return nil, fmt.Errorf("alarm journal: cursors: %w", err)
		}
	}
	for n := range old {
		if _, err := tx.ExecContext(ctx, `DELETE FROM notify_cursors WHERE name = ?`, n); err != nil {
			return nil, fmt.Errorf("alarm journal: cursors: %w", err)
		}
	}
	if err := j.trimFeed(ctx, tx); err != nil {
		return nil, err
	}
	return out, tx.Commit()
}

// Advance records that notifier name has delivered up to feed row id, and
// drops the feed rows every notifier has delivered.
func (j *Journal) Advance(ctx context.Context, name string, id int64) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("alarm journal: cursor %s: %w", name, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE notify_cursors SET feed_id = ? WHERE name = ?`, id, name); err != nil {
		return fmt.Errorf("alarm journal: cursor %s: %w", name, err)
	}
	if err := j.trimFeed(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// trimFeed deletes the feed rows behind every cursor; with no notifier
// configured, all of them.
func (j *Journal) trimFeed(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM alarm_feed WHERE id <=
		coalesce((SELECT min(feed_id) FROM notify_cursors), (SELECT max(id) FROM alarm_feed))`); err != nil {
		return fmt.Errorf("alarm journal: trimming the feed: %w", err)
	}
	return nil
}

// Close closes the journal's database.
func (j *Journal) Close() error { return j.db.Close() }
