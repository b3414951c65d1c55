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

	// sqlDeleteRecent deletes ?2 of the readings in recent older than ?1
	// (it scans recent, which holds no more than about mergeRows readings).
	sqlDeleteRecent = `DELETE FROM recent WHERE rowid IN (SELECT rowid FROM recent WHERE ts < ?1 LIMIT ?2)`

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
	todo := pruneTodo{series: series}
	var total int64
	for !todo.eventsDone {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := s.pruneChunkTx(ctx, cutoff, &todo)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// pruneTodo is what a prune has left to do, in order: recent, the series
// of readings, the events.
type pruneTodo struct {
	recentDone bool
	series     [][2]string // not yet exhausted
	eventsDone bool
}

// pruneChunkTx deletes up to s.pruneChunk rows in one transaction, from
// where todo says, and once it commits, moves todo on.
func (s *Store) pruneChunkTx(ctx context.Context, cutoff int64, todo *pruneTodo) (n int64, err error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	next := *todo
	budget := int64(s.pruneChunk)
	var fromRecent int64
	if !next.recentDone {
		res, err := tx.StmtContext(ctx, s.delRecent).ExecContext(ctx, cutoff, budget)
		if err != nil {
			return 0, fmt.Errorf("recent readings: %w", err)
		}
		if fromRecent, err = res.RowsAffected(); err != nil {
			return 0, err
		}
		next.recentDone = fromRecent < budget
		budget -= fromRecent
		n += fromRecent
	}
	del := tx.StmtContext(ctx, s.delReadings)
	for next.recentDone && len(next.series) > 0 && budget > 0 {
		series := next.series[0]
		res, err := del.ExecContext(ctx, series[0], series[1], cutoff, budget)
		if err != nil {
			return 0, fmt.Errorf("device %q point %q: %w", series[0], series[1], err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		if k < budget {
			next.series = next.series[1:] // nothing older is left in this series
		}
		budget -= k
		n += k
	}
	if next.recentDone && len(next.series) == 0 && budget > 0 {
		res, err := tx.StmtContext(ctx, s.delEvents).ExecContext(ctx, cutoff, budget)
		if err != nil {
			return 0, fmt.Errorf("events: %w", err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		next.eventsDone = k < budget
		n += k
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	*todo = next
	s.recent -= int(fromRecent)
	return n, nil
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
