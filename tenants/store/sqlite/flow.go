package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/internal/check"
)

const flowColumns = `flow_id, action, channel, user_id, state, version, expires_at, created_at, updated_at`

func (ts tenantStore) scanFlow(r scanner) (tenants.Flow, error) {
	f := tenants.Flow{TenantID: tenants.ID(ts.id)}
	var (
		action, channel           string
		user                      sql.NullString
		expires, created, updated int64
	)
	if err := r.Scan(&f.ID, &action, &channel, &user, &f.State, &f.Version, &expires, &created, &updated); err != nil {
		return f, err
	}
	f.Action, f.Channel, f.UserID = tenants.Action(action), tenants.Channel(channel), user.String
	if len(f.State) == 0 {
		f.State = nil
	}
	f.ExpiresAt, f.CreatedAt, f.UpdatedAt = fromNanos(expires), fromNanos(created), fromNanos(updated)
	return f, nil
}

// CreateFlow stores a new flow at version 1.
func (ts tenantStore) CreateFlow(ctx context.Context, f tenants.Flow) (tenants.Flow, error) {
	if err := check.Flow(f, true); err != nil {
		return tenants.Flow{}, fmt.Errorf("create flow: %w", err)
	}
	expires, err := toNanos("create flow", f.ExpiresAt)
	if err != nil {
		return tenants.Flow{}, err
	}
	now := ts.s.clock()
	var out tenants.Flow
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		if err := ts.exists(ctx, tx); err != nil {
			return err
		}
		var err error
		out, err = ts.scanFlow(tx.QueryRowContext(ctx, `INSERT INTO flows (tenant_id, `+flowColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?) RETURNING `+flowColumns,
			ts.id, f.ID, string(f.Action), string(f.Channel), nullable(f.UserID), check.NotNil(f.State), expires,
			now.UnixNano(), now.UnixNano()))
		return mapErr("insert flow", err)
	})
	if err != nil {
		return tenants.Flow{}, fmt.Errorf("create flow: %w", err)
	}
	return out, nil
}

// GetFlow returns one of the tenant's flows, expired or not.
func (ts tenantStore) GetFlow(ctx context.Context, id string) (tenants.Flow, error) {
	f, err := ts.scanFlow(ts.s.db.QueryRowContext(ctx, `SELECT `+flowColumns+` FROM flows
		WHERE tenant_id = ? AND flow_id = ?`, ts.id, id))
	if err != nil {
		return tenants.Flow{}, mapErr("get flow", err)
	}
	return f, nil
}

// UpdateFlow saves a step with one conditional UPDATE on the version. The
// transaction is IMMEDIATE, so concurrent steps queue and only the first
// finds its version current (R5).
func (ts tenantStore) UpdateFlow(ctx context.Context, f tenants.Flow) (tenants.Flow, error) {
	if err := check.Flow(f, false); err != nil {
		return tenants.Flow{}, fmt.Errorf("update flow: %w", err)
	}
	expires, err := toNanos("update flow", f.ExpiresAt)
	if err != nil {
		return tenants.Flow{}, err
	}
	var out tenants.Flow
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = ts.scanFlow(tx.QueryRowContext(ctx, `UPDATE flows
			SET user_id = ?, state = ?, expires_at = ?, version = version + 1, updated_at = ?
			WHERE tenant_id = ? AND flow_id = ? AND version = ? RETURNING `+flowColumns,
			nullable(f.UserID), check.NotNil(f.State), expires, ts.s.clock().UnixNano(), ts.id, f.ID, f.Version))
		if errors.Is(err, sql.ErrNoRows) {
			return ts.flowMissingOrConflict(ctx, tx, f.ID)
		}
		return mapErr("update flow", err)
	})
	if err != nil {
		return tenants.Flow{}, fmt.Errorf("update flow: %w", err)
	}
	return out, nil
}

// flowMissingOrConflict tells why a conditional update matched nothing.
func (ts tenantStore) flowMissingOrConflict(ctx context.Context, q querier, id string) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM flows WHERE tenant_id = ? AND flow_id = ?`,
		ts.id, id).Scan(&n); err != nil {
		return fmt.Errorf("look up flow: %w", err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return fmt.Errorf("flow was changed concurrently: %w", store.ErrConflict)
}

// DeleteFlow removes one of the tenant's flows.
func (ts tenantStore) DeleteFlow(ctx context.Context, id string) error {
	err := ts.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM flows WHERE tenant_id = ? AND flow_id = ?`, ts.id, id)
		if err != nil {
			return mapErr("delete flow", err)
		}
		return affected("delete flow", res)
	})
	if err != nil {
		return fmt.Errorf("delete flow: %w", err)
	}
	return nil
}

// PurgeFlows deletes the tenant's flows that expired before before.
func (ts tenantStore) PurgeFlows(ctx context.Context, before time.Time) (int, error) {
	return ts.purge(ctx, "purge flows", `DELETE FROM flows WHERE tenant_id = ? AND expires_at < ?`, before)
}

// purge runs a DELETE whose arguments are the tenant and a time and returns
// how many rows it deleted.
func (ts tenantStore) purge(ctx context.Context, what, query string, before time.Time) (int, error) {
	if err := check.Time(what, before); err != nil {
		return 0, err
	}
	n, err := toNanos(what, before)
	if err != nil {
		return 0, err
	}
	var deleted int64
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, ts.id, n)
		if err != nil {
			return mapErr(what, err)
		}
		deleted, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return int(deleted), nil
}
