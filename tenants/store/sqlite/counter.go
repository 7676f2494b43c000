package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/tenants/store/internal/check"
)

// counterWindow checks a counter's arguments and returns its window in
// nanoseconds.
func counterWindow(what, key string, window time.Duration, now time.Time, n int64) (start, end int64, err error) {
	if err := check.Counter(key, window, now, n); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", what, err)
	}
	s, e := check.Window(window, now)
	if start, err = toNanos(what, s); err != nil {
		return 0, 0, err
	}
	if end, err = toNanos(what, e); err != nil {
		return 0, 0, err
	}
	return start, end, nil
}

// Hit adds n to the counter of key in the window containing now, with one
// upsert, and returns the new count.
func (ts tenantStore) Hit(ctx context.Context, key string, window time.Duration, now time.Time, n int64) (int64, error) {
	start, end, err := counterWindow("hit counter", key, window, now, n)
	if err != nil {
		return 0, err
	}
	var count int64
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		if err := ts.exists(ctx, tx); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO counters (tenant_id, counter_key, window_start, window_end, count)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, counter_key, window_start, window_end) DO UPDATE SET count = count + excluded.count
			RETURNING count`, ts.id, key, start, end, n).Scan(&count)
		return mapErr("upsert counter", err)
	})
	if err != nil {
		return 0, fmt.Errorf("hit counter: %w", err)
	}
	return count, nil
}

// Count returns the counter of key in the window containing now (0 when
// there is none).
func (ts tenantStore) Count(ctx context.Context, key string, window time.Duration, now time.Time) (int64, error) {
	start, end, err := counterWindow("count", key, window, now, 1)
	if err != nil {
		return 0, err
	}
	var count int64
	err = ts.s.db.QueryRowContext(ctx, `SELECT count FROM counters
		WHERE tenant_id = ? AND counter_key = ? AND window_start = ? AND window_end = ?`,
		ts.id, key, start, end).Scan(&count)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return count, nil
}

// PurgeCounters deletes the tenant's counters whose window ended before
// before.
func (ts tenantStore) PurgeCounters(ctx context.Context, before time.Time) (int, error) {
	return ts.purge(ctx, "purge counters", `DELETE FROM counters WHERE tenant_id = ? AND window_end < ?`, before)
}
