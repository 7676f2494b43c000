package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latchkey/latchkey/tenants"
)

// AddHost adds h to the tenant. A primary host becomes the canonical host and
// the only primary one. Every change to the hosts bumps the tenant's
// ResourceVersion, so caches of host → tenant notice.
func (ts tenantStore) AddHost(ctx context.Context, h tenants.Host) error {
	if err := validateHost(h.Host); err != nil {
		return fmt.Errorf("add host: %w", err)
	}
	err := ts.s.write(ctx, func(tx *sql.Tx) error {
		if err := ts.exists(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO tenant_hosts (tenant_id, host, is_primary, created_at) VALUES (?, ?, 0, ?)`,
			ts.id, h.Host, ts.s.clock().UnixNano()); err != nil {
			return mapErr("insert host", err)
		}
		if !h.Primary {
			return ts.touch(ctx, tx, "")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tenant_hosts SET is_primary = (host = ?) WHERE tenant_id = ?`,
			h.Host, ts.id); err != nil {
			return mapErr("mark primary host", err)
		}
		return ts.touch(ctx, tx, "canonical_host = ?", h.Host)
	})
	if err != nil {
		return fmt.Errorf("add host %q to tenant %s: %w", h.Host, ts.id, err)
	}
	return nil
}

// ListHosts returns the tenant's hosts, ordered by host.
func (ts tenantStore) ListHosts(ctx context.Context) ([]tenants.Host, error) {
	rows, err := ts.s.db.QueryContext(ctx,
		`SELECT host, is_primary, created_at FROM tenant_hosts WHERE tenant_id = ? ORDER BY host`, ts.id)
	if err != nil {
		return nil, fmt.Errorf("list hosts of tenant %s: %w", ts.id, err)
	}
	defer rows.Close()
	var out []tenants.Host
	for rows.Next() {
		h := tenants.Host{TenantID: tenants.ID(ts.id)}
		var created int64
		if err := rows.Scan(&h.Host, &h.Primary, &created); err != nil {
			return nil, fmt.Errorf("list hosts of tenant %s: %w", ts.id, err)
		}
		h.CreatedAt = fromNanos(created)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list hosts of tenant %s: %w", ts.id, err)
	}
	return out, nil
}

// RemoveHost removes one of the tenant's hosts. When it was the canonical host
// the tenant falls back to its platform host (CanonicalHost empty).
func (ts tenantStore) RemoveHost(ctx context.Context, host string) error {
	err := ts.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM tenant_hosts WHERE tenant_id = ? AND host = ?`, ts.id, host)
		if err != nil {
			return mapErr("delete host", err)
		}
		if err := affected("delete host", res); err != nil {
			return err
		}
		return ts.touch(ctx, tx, `canonical_host = CASE WHEN canonical_host = ? THEN '' ELSE canonical_host END`, host)
	})
	if err != nil {
		return fmt.Errorf("remove host %q from tenant %s: %w", host, ts.id, err)
	}
	return nil
}
