package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/internal/check"
)

// Hit adds n to the counter of key in the window containing now, with one
// upsert (concurrent hits queue on the row and each adds its own n), and
// returns the new count.
func (ts tenantStore) Hit(ctx context.Context, key string, window time.Duration, now time.Time, n int64) (int64, error) {
	if err := check.Counter(key, window, now, n); err != nil {
		return 0, fmt.Errorf("hit counter: %w", err)
	}
	start, end := check.Window(window, now)
	var count int64
	err := ts.run(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO counters AS c (tenant_id, counter_key, window_start, window_end, count)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (tenant_id, counter_key, window_start, window_end) DO UPDATE SET count = c.count + EXCLUDED.count
			RETURNING c.count`, ts.id, key, storedTime(start), storedTime(end), n).Scan(&count)
	})
	if err != nil {
		// The only foreign key is the tenant's.
		if isInvalidRef(err) {
			return 0, fmt.Errorf("hit counter: %w", store.ErrNotFound)
		}
		return 0, fmt.Errorf("hit counter: %w", classify(err))
	}
	return count, nil
}

// Count returns the counter of key in the window containing now (0 when
// there is none).
func (ts tenantStore) Count(ctx context.Context, key string, window time.Duration, now time.Time) (int64, error) {
	if err := check.Counter(key, window, now, 1); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	if !validID(ts.id) {
		return 0, nil
	}
	start, end := check.Window(window, now)
	var count int64
	err := ts.run(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count FROM counters
			WHERE tenant_id = $1 AND counter_key = $2 AND window_start = $3 AND window_end = $4`,
			ts.id, key, storedTime(start), storedTime(end)).Scan(&count)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("count: %w", classify(err))
	}
	return count, nil
}

// PurgeCounters deletes the tenant's counters whose window ended before
// before.
func (ts tenantStore) PurgeCounters(ctx context.Context, before time.Time) (int, error) {
	if err := check.Time("purge counters", before); err != nil {
		return 0, err
	}
	n, err := ts.exec(ctx, `DELETE FROM counters WHERE tenant_id = $1 AND window_end < $2`, storedTime(before))
	if err != nil {
		return 0, fmt.Errorf("purge counters: %w", err)
	}
	return int(n), nil
}
