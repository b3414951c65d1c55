package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
)

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
