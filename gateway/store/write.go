package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/shouwang-iot/shouwang"
)

// The first write of a (device, point, ms) or (device, kind, ms) wins: a
// replay writes no page at all, where an upsert would rewrite each row.
const (
	sqlInsertReading = `INSERT INTO readings (device, point, ts, value, unit, quality)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (device, point, ts) DO NOTHING`

	sqlInsertEvent = `INSERT INTO events (device, kind, severity, message, attrs, ts)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (device, ts, kind) DO NOTHING`
)

// Write stores the batch in one transaction: all of it or, on error, none
// of it. Times are kept to the millisecond and read back in UTC; values
// exactly, NaN and the infinities included (only -0 reads back as 0).
// Writing a reading or an event
// that is already stored (same device, point or kind, and millisecond)
// keeps the stored one, so replaying a batch after a crash duplicates
// nothing.
//
// Write rejects a batch holding a reading whose device or point, or an
// event whose device or kind, is empty or not UTF-8, naming the first such
// item; otherwise it
// fails only if the database does (the error wraps the driver's, or
// ctx.Err()).
func (s *Store) Write(ctx context.Context, b shouwang.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	if err := checkBatch(b); err != nil {
		return fmt.Errorf("history store %s: %w", s.path, err)
	}
	if err := s.write(ctx, b); err != nil {
		return fmt.Errorf("history store %s: write %d readings and %d events: %w", s.path, len(b.Readings), len(b.Events), err)
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

func (s *Store) write(ctx context.Context, b shouwang.Batch) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if len(b.Readings) > 0 {
		st := tx.StmtContext(ctx, s.insReading)
		for _, r := range b.Readings {
			if _, err := st.ExecContext(ctx, r.Device, r.Point, r.Time.UnixMilli(), nullNaN(r.Value), r.Unit, int64(r.Quality)); err != nil {
				return fmt.Errorf("reading of device %q point %q: %w", r.Device, r.Point, err)
			}
		}
	}
	if len(b.Events) > 0 {
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
	return tx.Commit()
}

// nullNaN stores NaN as NULL, which is what SQLite would make of it anyway
// (it has no NaN); infinities are stored as they are.
func nullNaN(v float64) sql.NullFloat64 {
	return sql.NullFloat64{Float64: v, Valid: !math.IsNaN(v)}
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
