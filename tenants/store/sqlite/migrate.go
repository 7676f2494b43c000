package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latchkey/latchkey/migrations"
)

// migrate applies the embedded migrations the database lacks, each in its own
// IMMEDIATE transaction together with its schema_migrations row, so that a
// second Store opening the same file at the same moment waits and then finds
// the work done. The first transaction refuses a database whose schema is
// newer than the binary's migrations.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations.SQLite()
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	for _, m := range ms {
		applied := false
		err := s.write(ctx, func(tx *sql.Tx) error {
			current, err := schemaVersion(ctx, tx)
			if err != nil {
				return err
			}
			if current > len(ms) {
				return fmt.Errorf("database schema version %d is newer than this binary's %d: upgrade Latchkey (or restore a backup) before using this database", current, len(ms))
			}
			if current >= m.Version {
				return nil
			}
			if current != m.Version-1 {
				return fmt.Errorf("database schema version %d cannot take migration %d", current, m.Version)
			}
			if _, err := tx.ExecContext(ctx, m.Up); err != nil {
				return fmt.Errorf("apply migration %04d_%s: %w", m.Version, m.Name, err)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, s.clock().UnixNano()); err != nil {
				return fmt.Errorf("record migration %04d_%s: %w", m.Version, m.Name, err)
			}
			applied = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if applied {
			s.log.InfoContext(ctx, "applied database migration", "backend", "sqlite", "version", m.Version, "name", m.Name)
		}
	}
	return nil
}

// schemaVersion returns the highest applied migration, 0 for a new database.
func schemaVersion(ctx context.Context, q querier) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("look for schema_migrations: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}
