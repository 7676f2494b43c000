package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/internal/check"
)

const deviceColumns = `tenant_id, device_id, user_id, name, platform, key_id, public_key, push_token,
	push_token_updated_at, created_at, last_seen_at`

func scanDevice(row pgx.Row) (tenants.Device, error) {
	var (
		d                      tenants.Device
		tid                    string
		tokenUpdated, lastSeen *time.Time
	)
	if err := row.Scan(&tid, &d.ID, &d.UserID, &d.Name, &d.Platform, &d.KeyID, &d.PublicKey, &d.PushToken,
		&tokenUpdated, &d.CreatedAt, &lastSeen); err != nil {
		return tenants.Device{}, err
	}
	d.TenantID = tenants.ID(tid)
	d.PushTokenUpdatedAt, d.LastSeenAt = utcOrZero(tokenUpdated), utcOrZero(lastSeen)
	d.CreatedAt = d.CreatedAt.UTC()
	return d, nil
}

// CreateDevice stores a new device; the ID is chosen when empty and
// CreatedAt is now.
func (ts tenantStore) CreateDevice(ctx context.Context, d tenants.Device) (tenants.Device, error) {
	if err := check.NewDevice(d); err != nil {
		return tenants.Device{}, fmt.Errorf("create device: %w", err)
	}
	if d.ID == "" {
		id, err := ts.s.newID()
		if err != nil {
			return tenants.Device{}, fmt.Errorf("create device: %w", err)
		}
		d.ID = id
	}
	out, err := one(ctx, ts, true, scanDevice, `INSERT INTO devices (`+deviceColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING `+deviceColumns,
		ts.id, d.ID, d.UserID, d.Name, d.Platform, d.KeyID, d.PublicKey, d.PushToken,
		nullTime(d.PushTokenUpdatedAt), ts.s.timestamp(), nullTime(d.LastSeenAt))
	if err != nil {
		return tenants.Device{}, fmt.Errorf("create device: %w", err)
	}
	return out, nil
}

// GetDevice returns one of the tenant's devices.
func (ts tenantStore) GetDevice(ctx context.Context, id string) (tenants.Device, error) {
	if !validID(id) {
		return tenants.Device{}, fmt.Errorf("get device: %w", store.ErrNotFound)
	}
	d, err := one(ctx, ts, false, scanDevice, `SELECT `+deviceColumns+` FROM devices
		WHERE tenant_id = $1 AND device_id = $2`, ts.id, id)
	if err != nil {
		return tenants.Device{}, fmt.Errorf("get device: %w", err)
	}
	return d, nil
}

// ListDevices returns the user's devices, oldest first.
func (ts tenantStore) ListDevices(ctx context.Context, userID string) ([]tenants.Device, error) {
	if !validID(ts.id) || !validID(userID) {
		return nil, nil // names no user
	}
	var out []tenants.Device
	err := ts.run(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+deviceColumns+` FROM devices
			WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, device_id`, ts.id, userID)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanDevice)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", classify(err))
	}
	return out, nil
}

// UpdateDevice applies fn under the device's row lock and saves its name,
// push token and times; the other fields are kept.
func (ts tenantStore) UpdateDevice(ctx context.Context, id string, fn func(*tenants.Device) error) (tenants.Device, error) {
	if !validID(id) {
		return tenants.Device{}, fmt.Errorf("update device: %w", store.ErrNotFound)
	}
	var out tenants.Device
	err := ts.run(ctx, func(tx pgx.Tx) error {
		cur, err := scanDevice(tx.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices
			WHERE tenant_id = $1 AND device_id = $2 FOR NO KEY UPDATE`, ts.id, id))
		if err != nil {
			return classify(err)
		}
		next := cur
		if err := fn(&next); err != nil {
			return err
		}
		if err := check.DeviceUpdate(next); err != nil {
			return err
		}
		out, err = scanDevice(tx.QueryRow(ctx, `UPDATE devices
			SET name = $3, push_token = $4, push_token_updated_at = $5, last_seen_at = $6
			WHERE tenant_id = $1 AND device_id = $2 RETURNING `+deviceColumns,
			ts.id, id, next.Name, next.PushToken, nullTime(next.PushTokenUpdatedAt), nullTime(next.LastSeenAt)))
		return classify(err)
	})
	if err != nil {
		return tenants.Device{}, fmt.Errorf("update device: %w", err)
	}
	return out, nil
}

// DeleteDevice removes one of the tenant's devices and its challenges.
func (ts tenantStore) DeleteDevice(ctx context.Context, id string) error {
	if !validID(id) {
		return fmt.Errorf("delete device: %w", store.ErrNotFound)
	}
	n, err := ts.exec(ctx, `DELETE FROM devices WHERE tenant_id = $1 AND device_id = $2`, id)
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	return nil
}
