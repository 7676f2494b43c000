package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/migrations"
)

// migrateLockKey is the pg_advisory_lock key that serialises migrators of
// one database ("latchkey" in ASCII).
const migrateLockKey int64 = 0x6c617463686b6579

// Migrate brings the database at ownerURL to the newest schema in
// migrations.Postgres(). It must connect as the owner role (the role that owns,
// or may create, the tables); the application role cannot run it.
//
// Migrators of one database are serialised by a session advisory lock held on a
// dedicated connection, so several replicas may call Migrate at start. Each
// migration runs in its own transaction together with the row that records it
// in schema_migrations. Migrate returns early when the schema is current and
// refuses a database whose schema is newer than this binary's.
func Migrate(ctx context.Context, ownerURL string) error {
	ms, err := migrations.Postgres()
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("connect to migrate: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()

	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		// Closing the connection releases the lock as well; unlocking keeps a
		// pooled or slow-closing connection from holding it.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", migrateLockKey)
	}()

	current, err := schemaVersion(ctx, conn)
	if err != nil {
		return err
	}
	if current > len(ms) {
		return fmt.Errorf("migrate: database schema version %d is newer than this binary's %d: run a newer latchkey", current, len(ms))
	}
	for _, m := range ms[current:] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// No arguments: pgx sends the file with the simple protocol, so
			// it may hold several statements.
			if _, err := tx.Exec(ctx, m.Up); err != nil {
				return err
			}
			_, err := tx.Exec(ctx,
				"INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())",
				m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// querier is what schemaVersion needs of a connection or pool.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// schemaVersion returns the highest applied migration, 0 on an empty database.
func schemaVersion(ctx context.Context, q querier) (int, error) {
	var exists bool
	if err := q.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := q.QueryRow(ctx, "SELECT COALESCE(max(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// latestVersion is the version of the newest migration this binary carries.
func latestVersion() (int, error) {
	ms, err := migrations.Postgres()
	if err != nil {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	return len(ms), nil
}
