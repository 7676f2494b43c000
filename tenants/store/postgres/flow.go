package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/internal/check"
)

const flowColumns = `tenant_id, flow_id, action, channel, user_id, state, version, expires_at, created_at, updated_at`

func scanFlow(row pgx.Row) (tenants.Flow, error) {
	var (
		f               tenants.Flow
		tid             string
		action, channel string
		user            *string
	)
	if err := row.Scan(&tid, &f.ID, &action, &channel, &user, &f.State, &f.Version,
		&f.ExpiresAt, &f.CreatedAt, &f.UpdatedAt); err != nil {
		return tenants.Flow{}, err
	}
	f.TenantID, f.Action, f.Channel, f.UserID = tenants.ID(tid), tenants.Action(action), tenants.Channel(channel), deref(user)
	if len(f.State) == 0 {
		f.State = nil
	}
	f.ExpiresAt, f.CreatedAt, f.UpdatedAt = f.ExpiresAt.UTC(), f.CreatedAt.UTC(), f.UpdatedAt.UTC()
	return f, nil
}

// CreateFlow stores a new flow at version 1.
func (ts tenantStore) CreateFlow(ctx context.Context, f tenants.Flow) (tenants.Flow, error) {
	if err := check.Flow(f, true); err != nil {
		return tenants.Flow{}, fmt.Errorf("create flow: %w", err)
	}
	out, err := one(ctx, ts, true, scanFlow, `INSERT INTO flows (`+flowColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $8) RETURNING `+flowColumns,
		ts.id, f.ID, string(f.Action), string(f.Channel), nullable(f.UserID), check.NotNil(f.State),
		storedTime(f.ExpiresAt), ts.s.timestamp())
	if err != nil {
		return tenants.Flow{}, fmt.Errorf("create flow: %w", err)
	}
	return out, nil
}

// GetFlow returns one of the tenant's flows, expired or not.
func (ts tenantStore) GetFlow(ctx context.Context, id string) (tenants.Flow, error) {
	if !check.HexID(id) {
		return tenants.Flow{}, fmt.Errorf("get flow: %w", store.ErrNotFound)
	}
	f, err := one(ctx, ts, false, scanFlow, `SELECT `+flowColumns+` FROM flows WHERE tenant_id = $1 AND flow_id = $2`,
		ts.id, id)
	if err != nil {
		return tenants.Flow{}, fmt.Errorf("get flow: %w", err)
	}
	return f, nil
}

// UpdateFlow saves a step with one conditional UPDATE on the version.
// Concurrent steps queue on the row lock; once the winner commits, the others
// re-check "version = $n" against the new row and match nothing (R5).
func (ts tenantStore) UpdateFlow(ctx context.Context, f tenants.Flow) (tenants.Flow, error) {
	if err := check.Flow(f, false); err != nil {
		return tenants.Flow{}, fmt.Errorf("update flow: %w", err)
	}
	if !check.HexID(f.ID) {
		return tenants.Flow{}, fmt.Errorf("update flow: %w", store.ErrNotFound)
	}
	var out tenants.Flow
	err := ts.run(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanFlow(tx.QueryRow(ctx, `UPDATE flows
			SET user_id = $4, state = $5, expires_at = $6, version = version + 1, updated_at = $7
			WHERE tenant_id = $1 AND flow_id = $2 AND version = $3 RETURNING `+flowColumns,
			ts.id, f.ID, f.Version, nullable(f.UserID), check.NotNil(f.State), storedTime(f.ExpiresAt),
			ts.s.timestamp()))
		if !errors.Is(err, pgx.ErrNoRows) {
			return classify(err)
		}
		var found bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM flows WHERE tenant_id = $1 AND flow_id = $2)`,
			ts.id, f.ID).Scan(&found); err != nil {
			return classify(err)
		}
		if !found {
			return store.ErrNotFound
		}
		return fmt.Errorf("flow was changed concurrently: %w", store.ErrConflict)
	})
	if err != nil {
		return tenants.Flow{}, fmt.Errorf("update flow: %w", err)
	}
	return out, nil
}

// DeleteFlow removes one of the tenant's flows.
func (ts tenantStore) DeleteFlow(ctx context.Context, id string) error {
	if !check.HexID(id) {
		return fmt.Errorf("delete flow: %w", store.ErrNotFound)
	}
	n, err := ts.exec(ctx, `DELETE FROM flows WHERE tenant_id = $1 AND flow_id = $2`, id)
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete flow: %w", err)
	}
	return nil
}

// PurgeFlows deletes the tenant's flows that expired before before.
func (ts tenantStore) PurgeFlows(ctx context.Context, before time.Time) (int, error) {
	return ts.purge(ctx, "purge flows", `DELETE FROM flows WHERE tenant_id = $1 AND expires_at < $2`, before)
}

// purge runs a DELETE whose arguments are the tenant and a time and returns
// how many rows it deleted.
func (ts tenantStore) purge(ctx context.Context, what, query string, before time.Time) (int, error) {
	if err := check.Time(what, before); err != nil {
		return 0, err
	}
	n, err := ts.exec(ctx, query, storedTime(before))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return int(n), nil
}
