package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shouwang-iot/shouwang"
)

// Readings are written in two steps. Write appends them to recent, a
// plain rowid table, in the order they come: a few pages at the end of one
// b-tree, however many series the batch spans. Once recent holds
// mergeRows readings, a merge moves them into readings in key order, each
// series' new samples one after the other on its last page. Inserting a
// batch straight into readings costs a page per series it touches, and a
// batch of the MQTT driver touches each of two thousand series once: a
// commit then wrote, and the checkpoint after it copied, about a page per
// reading (6 to 10 KB written per reading in BenchmarkWriteManySeries).
//
// The first write of a (device, point, ms) or (device, kind, ms) wins. A
// reading's key is unique in readings; in recent it may repeat (a replay),
// and the copy with the lowest rowid, the first written, counts. A merge
// inserts in (device, point, ts, rowid) order and ignores what readings
// already holds, and queries show a row of recent only if readings has no
// row with its key, so a merge changes nothing a query returns.
const (
	sqlInsertEvent = `INSERT INTO events (device, kind, severity, message, attrs, ts)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (device, ts, kind) DO NOTHING`

	// sqlMergeRecent moves recent into readings. OR IGNORE only skips a
	// key readings holds: recent's NOT NULL columns are readings' own, so
	// no other constraint can fail, and a statement that cannot abort
	// needs no statement journal.
	sqlMergeRecent = `INSERT OR IGNORE INTO readings (device, point, ts, value, unit, quality)
SELECT device, point, ts, value, unit, quality FROM recent ORDER BY device, point, ts, rowid`
	sqlClearRecent = `DELETE FROM recent`
	sqlCountRecent = `SELECT count(*) FROM recent`
)

// defaultMergeRows is how many readings recent holds before a merge: 8
// samples of each of 2,000 series. A merge sorts them in SQLite's sorter,
// which keeps up to the page cache's size (2 MB) in memory and spills the
// rest to a temp file; 16k readings of short names take about 1 MB, which
// left the peak RSS of BenchmarkWriteManySeries where it was before recent
// existed. 32k cost a fifth less CPU per reading and 0.9 MB more peak RSS;
// fewer merge more often and cost more per reading. Every readings query
// also scans recent, about 2 ms for 16k readings.
const defaultMergeRows = 16 << 10

// insertSizes are the rows per INSERT into recent, largest first: a batch
// goes in statements of 64 readings, the rest in 8s and then 1s. A
// statement per reading cost 2 µs more CPU per reading in
// BenchmarkWriteManySeries/batch; 256 rows saved nothing measurable over 64.
var insertSizes = [...]int{64, 8, 1}

// insertRecentSQL is the statement that appends rows readings to recent.
func insertRecentSQL(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO recent (device, point, ts, value, unit, quality) VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?)")
	}
	return b.String()
}

// Write stores the batches in one transaction: all of them or, on error, none
// (a follower that fell behind hands a group at once, without a copy).
// Times are kept to the millisecond and read back in UTC; values
// exactly, NaN and the infinities included (only -0 reads back as 0).
// Writing a reading or an event
// that is already stored (same device, point or kind, and millisecond)
// keeps the stored one, so replaying a batch after a crash duplicates
// nothing.
//
// Once recent holds mergeRows readings, the Write that filled it goes on to
// merge them into readings in a second transaction, which takes longer
// (0.1 to 0.2 s for 16k readings in BenchmarkWriteManySeries). Its batch is
// stored either way: a merge that fails is logged and tried again later.
//
// Write rejects a batch holding a reading whose device or point, or an
// event whose device or kind, is empty or not UTF-8, naming the first such
// item; otherwise it
// fails only if the database does (the error wraps the driver's, or
// ctx.Err()).
func (s *Store) Write(ctx context.Context, batches ...shouwang.Batch) error {
	readings, events := 0, 0
	for _, b := range batches {
		if err := checkBatch(b); err != nil {
			return fmt.Errorf("history store %s: %w", s.path, err)
		}
		readings, events = readings+len(b.Readings), events+len(b.Events)
	}
	if readings+events == 0 {
		return nil
	}
	if err := s.write(ctx, batches, readings); err != nil {
		return fmt.Errorf("history store %s: write %d readings and %d events: %w", s.path, readings, events, err)
	}
	return nil
}

// checkBatch rejects the names queries could not find: empty, or not
// UTF-8 (queries pass names to SQLite as JSON, which has no other text).
func checkBatch(b shouwang.Batch) error {
	for i, r := range b.Readings {
		if !validName(r.Device) || !validName(r.Point) {
			return fmt.Errorf("reading %d (device %q, point %q): device and point must be non-empty UTF-8 text", i, r.Device, r.Point)
		}
	}
	for i, e := range b.Events {
		if !validName(e.Device) || !validName(e.Kind) {
			return fmt.Errorf("event %d (device %q, kind %q): device and kind must be non-empty UTF-8 text", i, e.Device, e.Kind)
		}
	}
	return nil
}

func validName(s string) bool { return s != "" && utf8.ValidString(s) }

func (s *Store) write(ctx context.Context, batches []shouwang.Batch, readings int) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, b := range batches {
		if err := s.insertRecent(ctx, tx, b.Readings); err != nil {
			return err
		}
		if len(b.Events) == 0 {
			continue
		}
		st := tx.StmtContext(ctx, s.insEvent)
		for _, e := range b.Events {
			attrs, err := encodeAttrs(e.Attrs)
			if err != nil {
				return fmt.Errorf("event %q of device %q: %w", e.Kind, e.Device, err)
			}
			if _, err := st.ExecContext(ctx, e.Device, e.Kind, int64(e.Severity), e.Message, attrs, e.Time.UnixMilli()); err != nil {
				return fmt.Errorf("event %q of device %q: %w", e.Kind, e.Device, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.recent += readings
	// The batch is stored either way: a merge that fails leaves recent as
	// it was, and the next is tried once another eighth of mergeRows has
	// come, not on every Write.
	if s.recent >= max(s.mergeRows, s.mergeFailedAt+s.mergeRows/8) {
		if err := s.merge(ctx); err != nil && ctx.Err() == nil {
			s.mergeFailedAt = s.recent
			s.log.Warn("history merge failed; the readings stay in recent, where queries find them, until a later merge", "readings", s.recent, "err", err)
		}
	}
	return nil
}

// insertRecent appends rs to recent. s.wmu must be held.
func (s *Store) insertRecent(ctx context.Context, tx *sql.Tx, rs []shouwang.Reading) error {
	args := s.args[:0]
	defer func() {
		clear(args) // let the strings go
		s.args = args[:0]
	}()
	for k, size := range insertSizes {
		if len(rs) < size {
			continue
		}
		st := tx.StmtContext(ctx, s.insRecent[k])
		for ; len(rs) >= size; rs = rs[size:] {
			args = args[:0]
			for i := range rs[:size] {
				r := &rs[i]
				var v any // NULL stores NaN, as SQLite would make of it anyway
				if !math.IsNaN(r.Value) {
					v = r.Value
				}
				args = append(args, r.Device, r.Point, r.Time.UnixMilli(), v, r.Unit, int64(r.Quality))
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("%d readings, the first of device %q point %q: %w", size, rs[0].Device, rs[0].Point, err)
			}
		}
	}
	return nil
}

// merge moves every reading in recent into readings in one transaction.
// s.wmu must be held.
func (s *Store) merge(ctx context.Context) error {
	start := time.Now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, sqlMergeRecent); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, sqlClearRecent); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.log.Debug("history merged", "readings", s.recent, "took", time.Since(start))
	s.recent, s.mergeFailedAt = 0, 0
	return nil
}

// encodeAttrs gives the JSON object, or NULL for no attributes.
func encodeAttrs(attrs map[string]string) (sql.NullString, error) {
	if len(attrs) == 0 {
		return sql.NullString{}, nil
	}
	buf, err := json.Marshal(attrs)
	if err != nil {
		return sql.NullString{}, err
	}
	return sql.NullString{String: string(buf), Valid: true}, nil
}

func decodeAttrs(s sql.NullString) (map[string]string, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s.String), &m); err != nil {
		return nil, fmt.Errorf("attrs %q: %w", s.String, err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}
