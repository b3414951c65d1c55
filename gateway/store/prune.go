package store

import (
	"context"
	"fmt"
	"time"
)

// defaultPruneChunk is how many rows one prune transaction deletes at most:
// a few tens of milliseconds of write lock on an SD card.
const defaultPruneChunk = 2000

const (
	// sqlDeleteReadings deletes the oldest ?4 readings of one series older
	// than ?3: those before the series' (?4+1)th oldest timestamp, a single
	// range of the primary key.
	sqlDeleteReadings = `DELETE FROM readings
WHERE device = ?1 AND point = ?2 AND ts < min(?3, coalesce(
	(SELECT ts FROM readings WHERE device = ?1 AND point = ?2 ORDER BY ts LIMIT 1 OFFSET ?4), ?3))`

	// sqlDeleteEvents deletes the oldest ?2 events older than ?1.
	sqlDeleteEvents = `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts < ?1 ORDER BY ts LIMIT ?2)`
)

// Prune deletes the readings and events older than now minus Retention and
// returns how many it deleted. It deletes in transactions of at most a few
// thousand rows, so Write and readers wait for it only briefly;
// the freed pages are reused by later writes. It returns what it deleted
// so far with ctx.Err() if ctx ends, or with the database's error.
func (s *Store) Prune(ctx context.Context) (deleted int64, err error) {
	cutoff := s.now().Add(-s.cfg.Retention)
	deleted, err = s.prune(ctx, ceilMilli(cutoff))
	if err != nil {
		return deleted, fmt.Errorf("history store %s: prune before %s: %w", s.path, cutoff.Format(time.RFC3339), err)
	}
	if deleted > 0 {
		s.log.Debug("history pruned", "before", cutoff, "deleted", deleted)
	}
	return deleted, nil
}

func (s *Store) prune(ctx context.Context, cutoff int64) (int64, error) {
	series, err := s.series(ctx, nil, nil)
	if err != nil {
		return 0, err
	}
	var total int64
	eventsDone := false
	for !eventsDone {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, rest, done, err := s.pruneChunkTx(ctx, cutoff, series)
		total += n
		if err != nil {
			return total, err
		}
		series, eventsDone = rest, done
	}
	return total, nil
}

// pruneChunkTx deletes up to s.pruneChunk rows in one transaction: from the
// series in order, then from the events once no series is left. It returns
// the series not yet exhausted and whether the events are done too.
func (s *Store) pruneChunkTx(ctx context.Context, cutoff int64, series [][2]string) (n int64, rest [][2]string, eventsDone bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, series, false, err
	}
	defer tx.Rollback()
	budget := int64(s.pruneChunk)
	del := tx.StmtContext(ctx, s.delReadings)
	for len(series) > 0 && budget > 0 {
		res, err := del.ExecContext(ctx, series[0][0], series[0][1], cutoff, budget)
		if err != nil {
			return 0, series, false, fmt.Errorf("device %q point %q: %w", series[0][0], series[0][1], err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, series, false, err
		}
		if k < budget {
			series = series[1:] // nothing older is left in this series
		}
		budget -= k
		n += k
	}
	if len(series) == 0 && budget > 0 {
		res, err := tx.StmtContext(ctx, s.delEvents).ExecContext(ctx, cutoff, budget)
		if err != nil {
			return 0, series, false, fmt.Errorf("events: %w", err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, series, false, err
		}
		eventsDone = k < budget
		n += k
	}
	if err := tx.Commit(); err != nil {
		return 0, series, false, err
	}
	return n, series, eventsDone, nil
}

// pruneLoop prunes at once, then every PruneInterval until ctx ends.
func (s *Store) pruneLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.PruneInterval)
	defer t.Stop()
	for {
		if _, err := s.Prune(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("history prune failed; retrying at the next interval", "interval", s.cfg.PruneInterval, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
