package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store/internal/check"
)

const deviceColumns = `device_id, user_id, name, platform, key_id, public_key, push_token, push_token_updated_at,
	created_at, last_seen_at`

func (ts tenantStore) scanDevice(r scanner) (tenants.Device, error) {
	d := tenants.Device{TenantID: tenants.ID(ts.id)}
	var (
		tokenUpdated, lastSeen sql.NullInt64
		created                int64
	)
	if err := r.Scan(&d.ID, &d.UserID, &d.Name, &d.Platform, &d.KeyID, &d.PublicKey, &d.PushToken, &tokenUpdated,
		&created, &lastSeen); err != nil {
		return d, err
	}
	d.PushTokenUpdatedAt, d.LastSeenAt = fromNullNanos(tokenUpdated), fromNullNanos(lastSeen)
	d.CreatedAt = fromNanos(created)
	return d, nil
}

// deviceTimes returns the nullable times a device update saves, in the order
// of the statements below.
func deviceTimes(what string, d tenants.Device) (tokenUpdated, lastSeen any, err error) {
	if tokenUpdated, err = nullNanos(what, d.PushTokenUpdatedAt); err != nil {
		return nil, nil, err
	}
	if lastSeen, err = nullNanos(what, d.LastSeenAt); err != nil {
		return nil, nil, err
	}
	return tokenUpdated, lastSeen, nil
}

// CreateDevice stores a new device; the ID is chosen when empty and
// CreatedAt is now.
func (ts tenantStore) CreateDevice(ctx context.Context, d tenants.Device) (tenants.Device, error) {
	if err := check.NewDevice(d); err != nil {
		return tenants.Device{}, fmt.Errorf("create device: %w", err)
	}
	if d.ID == "" {
		d.ID = uuid.NewString()
	}
	tokenUpdated, lastSeen, err := deviceTimes("create device", d)
	if err != nil {
		return tenants.Device{}, err
	}
	var out tenants.Device
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		if err := ts.exists(ctx, tx); err != nil {
			return err
		}
		var err error
		out, err = ts.scanDevice(tx.QueryRowContext(ctx, `INSERT INTO devices (tenant_id, `+deviceColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+deviceColumns,
			ts.id, d.ID, d.UserID, d.Name, d.Platform, d.KeyID, d.PublicKey, d.PushToken, tokenUpdated,
			ts.s.clock().UnixNano(), lastSeen))
		return mapErr("insert device", err)
	})
	if err != nil {
		return tenants.Device{}, fmt.Errorf("create device: %w", err)
	}
	return out, nil
}

func (ts tenantStore) getDevice(ctx context.Context, q querier, id string) (tenants.Device, error) {
	d, err := ts.scanDevice(q.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices
		WHERE tenant_id = ? AND device_id = ?`, ts.id, id))
	if err != nil {
		return tenants.Device{}, mapErr("get device", err)
	}
	return d, nil
}

// GetDevice returns one of the tenant's devices.
func (ts tenantStore) GetDevice(ctx context.Context, id string) (tenants.Device, error) {
	return ts.getDevice(ctx, ts.s.db, id)
}

// ListDevices returns the user's devices, oldest first.
func (ts tenantStore) ListDevices(ctx context.Context, userID string) ([]tenants.Device, error) {
	rows, err := ts.s.db.QueryContext(ctx, `SELECT `+deviceColumns+` FROM devices
		WHERE tenant_id = ? AND user_id = ? ORDER BY created_at, device_id`, ts.id, userID)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	out, err := collectRows(rows, ts.scanDevice)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return out, nil
}

// UpdateDevice loads a device, applies fn and saves its name, push token and
// times, in one IMMEDIATE transaction; the other fields are kept.
func (ts tenantStore) UpdateDevice(ctx context.Context, id string, fn func(*tenants.Device) error) (tenants.Device, error) {
	var out tenants.Device
	err := ts.s.write(ctx, func(tx *sql.Tx) error {
		old, err := ts.getDevice(ctx, tx, id)
		if err != nil {
			return err
		}
		d := old
		if err := fn(&d); err != nil {
			return err
		}
		if err := check.DeviceUpdate(d); err != nil {
			return err
		}
		tokenUpdated, lastSeen, err := deviceTimes("update device", d)
		if err != nil {
			return err
		}
		out, err = ts.scanDevice(tx.QueryRowContext(ctx, `UPDATE devices
			SET name = ?, push_token = ?, push_token_updated_at = ?, last_seen_at = ?
			WHERE tenant_id = ? AND device_id = ? RETURNING `+deviceColumns,
			d.Name, d.PushToken, tokenUpdated, lastSeen, ts.id, id))
		return mapErr("update device", err)
	})
	if err != nil {
		return tenants.Device{}, fmt.Errorf("update device: %w", err)
	}
	return out, nil
}

// DeleteDevice removes one of the tenant's devices and its challenges.
func (ts tenantStore) DeleteDevice(ctx context.Context, id string) error {
	err := ts.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM devices WHERE tenant_id = ? AND device_id = ?`, ts.id, id)
		if err != nil {
			return mapErr("delete device", err)
		}
		return affected("delete device", res)
	})
	if err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	return nil
}
