package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// exec runs one statement whose first parameter is the tenant in a
// transaction scoped to it and returns how many rows it changed (none for a
// malformed tenant id, which names no tenant).
func (ts tenantStore) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	if !validID(ts.id) {
		return 0, nil
	}
	var n int64
	err := ts.run(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sql, append([]any{ts.id}, args...)...)
		if err != nil {
			return classify(err)
		}
		n = tag.RowsAffected()
		return nil
	})
	return n, err
}

// one runs a query for one row in a transaction scoped to the tenant, after
// checking that the tenant exists when mustExist is set, and scans the row.
func one[T any](ctx context.Context, ts tenantStore, mustExist bool, scan func(pgx.Row) (T, error),
	sql string, args ...any) (T, error) {
	var v T
	err := ts.run(ctx, func(tx pgx.Tx) error {
		if mustExist {
			if err := ts.mustExist(ctx, tx); err != nil {
				return err
			}
		}
		var err error
		v, err = scan(tx.QueryRow(ctx, sql, args...))
		return err
	})
	return v, classify(err)
}
