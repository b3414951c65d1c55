package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// DefaultLimit is the number of rows a Query with Limit 0 returns at most.
const DefaultLimit = 10000

// Query selects readings or events. Empty lists and zero times do not
// filter. Results come in time order (then device and point, or the order
// the events were written) and hold at most Limit rows, the earliest ones.
type Query struct {
	Devices []string
	Points  []string // readings only
	Kinds   []string // events only
	// From is inclusive and To exclusive.
	From, To time.Time
	// Limit 0 means DefaultLimit.
	Limit int
}

// ErrInvalidQuery is wrapped by the errors Readings and Events return for
// a Query that cannot be answered (a filter that does not apply, From not
// before To, a negative Limit).
var ErrInvalidQuery = errors.New("invalid query")

func (q Query) check(readings bool) error {
	var problems []string
	if readings && len(q.Kinds) > 0 {
		problems = append(problems, "Kinds filters events, not readings")
	}
	if !readings && len(q.Points) > 0 {
		problems = append(problems, "Points filters readings, not events")
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		problems = append(problems, fmt.Sprintf("From %s is not before To %s", q.From.Format(time.RFC3339Nano), q.To.Format(time.RFC3339Nano)))
	}
	if q.Limit < 0 {
		problems = append(problems, fmt.Sprintf("Limit %d is negative (0 for %d, or more)", q.Limit, DefaultLimit))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidQuery, strings.Join(problems, "; "))
	}
	return nil
}

// bounds gives the query's [from, to) range in unix ms and its limit.
func (q Query) bounds() (from, to int64, limit int) {
	from, to = math.MinInt64, math.MaxInt64
	if !q.From.IsZero() {
		from = ceilMilli(q.From)
	}
	if !q.To.IsZero() {
		to = ceilMilli(q.To)
	}
	limit = q.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	return from, to, limit
}

// ceilMilli rounds t up to the millisecond, so that a stored ms timestamp
// ts is >= t exactly when ts >= ceilMilli(t) (and < likewise).
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli() // rounds down, also before 1970
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}

func fromMilli(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// dedup returns the distinct values in first-seen order.
func dedup(list []string) []string {
	out := make([]string, 0, len(list))
	seen := make(map[string]bool, len(list))
	for _, v := range list {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// Readings are found through the (device, point, ts) primary key only: the
// series (device, point pairs) a query covers are listed first, by
// skip-scanning the key, then each series' time range is one range scan.
// That needs no index on ts, which would double what every write puts on
// the card. The readings not yet merged (write.go) are read from recent,
// which is scanned whole: it holds no more than about mergeRows readings.
const (
	// sqlDevices lists the distinct devices, one key lookup each, and
	// those in recent.
	sqlDevices = `WITH RECURSIVE d(device) AS (
	SELECT min(device) FROM readings
	UNION ALL
	SELECT (SELECT min(device) FROM readings WHERE device > d.device) FROM d WHERE d.device IS NOT NULL
)
SELECT device FROM d WHERE device IS NOT NULL
UNION
SELECT device FROM recent`

	// sqlSeries lists the (device, point) pairs of the devices in ?1, a
	// JSON array, one key lookup each, and those in recent.
	sqlSeries = `WITH RECURSIVE s(device, point) AS (
	SELECT j.value, (SELECT min(point) FROM readings WHERE device = j.value) FROM json_each(?1) AS j
	UNION ALL
	SELECT s.device, (SELECT min(r.point) FROM readings AS r WHERE r.device = s.device AND r.point > s.point) FROM s WHERE s.point IS NOT NULL
)
SELECT device, point FROM s WHERE point IS NOT NULL
UNION
SELECT device, point FROM recent WHERE device IN (SELECT value FROM json_each(?1))`

	// sqlReadings reads the series in ?1, a JSON array of [device, point]
	// pairs, over [?2, ?3): from readings, and from recent what readings
	// does not hold, the first written of each key (with one min(), SQLite
	// takes the other columns from the row holding the minimum).
	sqlReadings = `WITH s(device, point) AS (SELECT value->>0, value->>1 FROM json_each(?1))
SELECT device, point, ts, value, unit, quality FROM (
	SELECT r.device, r.point, r.ts, r.value, r.unit, r.quality
	FROM s CROSS JOIN readings AS r
	WHERE r.device = s.device AND r.point = s.point AND r.ts >= ?2 AND r.ts < ?3
	UNION ALL
	SELECT n.device, n.point, n.ts, n.value, n.unit, n.quality FROM (
		SELECT device, point, ts, value, unit, quality, min(rowid)
		FROM recent
		WHERE ts >= ?2 AND ts < ?3 AND (device, point) IN (SELECT device, point FROM s)
		GROUP BY device, point, ts
	) AS n
	WHERE NOT EXISTS (SELECT 1 FROM readings AS o WHERE o.device = n.device AND o.point = n.point AND o.ts = n.ts)
)
ORDER BY ts, device, point
LIMIT ?4`
)

// Readings returns the readings the query selects, in time order. It
// returns an error wrapping ErrInvalidQuery for a query that cannot be
// answered, and otherwise fails only if the database does.
func (s *Store) Readings(ctx context.Context, q Query) ([]shouwang.Reading, error) {
	if err := q.check(true); err != nil {
		return nil, err
	}
	out, err := s.readings(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("history store %s: read readings: %w", s.path, err)
	}
	return out, nil
}

func (s *Store) readings(ctx context.Context, q Query) ([]shouwang.Reading, error) {
	series, err := s.series(ctx, dedup(q.Devices), dedup(q.Points))
	if err != nil || len(series) == 0 {
		return nil, err
	}
	arg, err := json.Marshal(series)
	if err != nil {
		return nil, err
	}
	from, to, limit := q.bounds()
	rows, err := s.selReadings.QueryContext(ctx, string(arg), from, to, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []shouwang.Reading
	for rows.Next() {
		var (
			r       shouwang.Reading
			ts      int64
			value   sql.NullFloat64
			quality int64
		)
		if err := rows.Scan(&r.Device, &r.Point, &ts, &value, &r.Unit, &quality); err != nil {
			return nil, err
		}
		r.Time = fromMilli(ts)
		r.Value = math.NaN()
		if value.Valid {
			r.Value = value.Float64
		}
		r.Quality = shouwang.Quality(quality)
		out = append(out, r)
	}
	return out, rows.Err()
}

// series lists the [device, point] pairs that hold readings among the
// given devices (all if none) and points (all if none).
func (s *Store) series(ctx context.Context, devices, points []string) ([][2]string, error) {
	if len(devices) == 0 {
		var err error
		if devices, err = s.devices(ctx); err != nil {
			return nil, err
		}
	}
	if len(points) > 0 {
		// A pair that holds nothing costs one key lookup: cheaper than
		// listing which do.
		out := make([][2]string, 0, len(devices)*len(points))
		for _, d := range devices {
			for _, p := range points {
				out = append(out, [2]string{d, p})
			}
		}
		return out, nil
	}
	if len(devices) == 0 {
		return nil, nil
	}
	arg, err := json.Marshal(devices)
	if err != nil {
		return nil, err
	}
	rows, err := s.selSeries.QueryContext(ctx, string(arg))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var p [2]string
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *Store) devices(ctx context.Context) ([]string, error) {
	rows, err := s.selDevices.QueryContext(ctx)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Events are few next to readings and have their own indexes: (device, ts,
// kind) for a device's history, ts for everything in a time range. Each
// filter combination is its own prepared statement, so that the planner
// can use them (an "?1 IS NULL OR ..." filter would defeat it).
const (
	eventsByDevice = 1 << iota
	eventsByKind
)

func eventsSQL(variant int) string {
	var b strings.Builder
	b.WriteString("SELECT device, kind, severity, message, attrs, ts FROM events WHERE ts >= ?1 AND ts < ?2")
	if variant&eventsByDevice != 0 {
		b.WriteString(" AND device IN (SELECT value FROM json_each(?3))")
	}
	if variant&eventsByKind != 0 {
		b.WriteString(" AND kind IN (SELECT value FROM json_each(?4))")
	}
	b.WriteString(" ORDER BY ts, id LIMIT ?5")
	return b.String()
}

// Events returns the events the query selects, in time order and, at the
// same millisecond, in the order they were written. It returns an error
// wrapping ErrInvalidQuery for a query that cannot be answered, and
// otherwise fails only if the database does.
func (s *Store) Events(ctx context.Context, q Query) ([]shouwang.Event, error) {
	if err := q.check(false); err != nil {
		return nil, err
	}
	out, err := s.events(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("history store %s: read events: %w", s.path, err)
	}
	return out, nil
}

func (s *Store) events(ctx context.Context, q Query) ([]shouwang.Event, error) {
	variant := 0
	devices, kinds := []byte("[]"), []byte("[]")
	var err error
	if len(q.Devices) > 0 {
		variant |= eventsByDevice
		if devices, err = json.Marshal(q.Devices); err != nil {
			return nil, err
		}
	}
	if len(q.Kinds) > 0 {
		variant |= eventsByKind
		if kinds, err = json.Marshal(q.Kinds); err != nil {
			return nil, err
		}
	}
	from, to, limit := q.bounds()
	rows, err := s.selEvents[variant].QueryContext(ctx, from, to, string(devices), string(kinds), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []shouwang.Event
	for rows.Next() {
		var (
			e        shouwang.Event
			severity int64
			attrs    sql.NullString
			ts       int64
		)
		if err := rows.Scan(&e.Device, &e.Kind, &severity, &e.Message, &attrs, &ts); err != nil {
			return nil, err
		}
		e.Severity = shouwang.Severity(severity)
		e.Time = fromMilli(ts)
		if e.Attrs, err = decodeAttrs(attrs); err != nil {
			return nil, fmt.Errorf("event %q of device %q at %s: %w", e.Kind, e.Device, e.Time.Format(time.RFC3339Nano), err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
