package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// AddHost adds a host to the tenant; a primary host becomes the tenant's
// CanonicalHost. Hosts are unique across tenants (ErrAlreadyExists).
func (ts tenantStore) AddHost(ctx context.Context, h tenants.Host) error {
	if err := validateHost(h.Host); err != nil {
		return fmt.Errorf("add host: %w", err)
	}
	err := ts.run(ctx, func(tx pgx.Tx) error {
		if _, err := ts.lock(ctx, tx); err != nil {
			return err
		}
		now := ts.s.timestamp()
		_, err := tx.Exec(ctx, `INSERT INTO tenant_hosts (`+hostColumns+`) VALUES ($1, $2, false, $3)`,
			ts.id, h.Host, now)
		if err != nil {
			return classify(err)
		}
		if h.Primary {
			if _, err := tx.Exec(ctx, `UPDATE tenant_hosts SET is_primary = (host = $2) WHERE tenant_id = $1`,
				ts.id, h.Host); err != nil {
				return fmt.Errorf("mark primary host: %w", classify(err))
			}
			if _, err := tx.Exec(ctx, `UPDATE tenants SET canonical_host = $2 WHERE tenant_id = $1`,
				ts.id, h.Host); err != nil {
				return fmt.Errorf("set canonical host: %w", classify(err))
			}
		}
		return ts.bump(ctx, tx, now)
	})
	if err != nil {
		return fmt.Errorf("add host %q: %w", h.Host, err)
	}
	return nil
}

// ListHosts returns the tenant's hosts by host name.
func (ts tenantStore) ListHosts(ctx context.Context) ([]tenants.Host, error) {
	if !validID(ts.id) {
		return nil, nil
	}
	var out []tenants.Host
	err := ts.run(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+hostColumns+` FROM tenant_hosts WHERE tenant_id = $1 ORDER BY host`, ts.id)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanHost)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list hosts: %w", classify(err))
	}
	return out, nil
}

// RemoveHost removes one of the tenant's hosts; removing the canonical host
// clears CanonicalHost.
func (ts tenantStore) RemoveHost(ctx context.Context, host string) error {
	err := ts.run(ctx, func(tx pgx.Tx) error {
		t, err := ts.lock(ctx, tx)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM tenant_hosts WHERE tenant_id = $1 AND host = $2`, ts.id, host)
		if err != nil {
			return classify(err)
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		if t.canonicalHost == host {
			if _, err := tx.Exec(ctx, `UPDATE tenants SET canonical_host = '' WHERE tenant_id = $1`, ts.id); err != nil {
				return fmt.Errorf("clear canonical host: %w", classify(err))
			}
		}
		return ts.bump(ctx, tx, ts.s.timestamp())
	})
	if err != nil {
		return fmt.Errorf("remove host %q: %w", host, err)
	}
	return nil
}
