package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// CreateOrganisation stores a new organisation; the tenant's first one becomes
// its default organisation.
func (ts tenantStore) CreateOrganisation(ctx context.Context, o tenants.Organisation) (tenants.Organisation, error) {
	if err := validateOrganisation(o); err != nil {
		return tenants.Organisation{}, fmt.Errorf("create organisation: %w", err)
	}
	rules, policy, err := orgDocs(o)
	if err != nil {
		return tenants.Organisation{}, fmt.Errorf("create organisation: %w", err)
	}
	id, err := ts.s.newID()
	if err != nil {
		return tenants.Organisation{}, fmt.Errorf("create organisation: %w", err)
	}
	err = ts.run(ctx, func(tx pgx.Tx) error {
		t, err := ts.lock(ctx, tx)
		if err != nil {
			return err
		}
		now := ts.s.timestamp()
		o.TenantID, o.ID, o.ResourceVersion, o.CreatedAt, o.UpdatedAt = tenants.ID(ts.id), id, 1, now, now
		_, err = tx.Exec(ctx, `INSERT INTO organisations (`+orgColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
			ts.id, o.ID, o.Name, rules, o.Priority, policy, o.ResourceVersion, now)
		if err != nil {
			return classify(err)
		}
		if t.defaultOrg == "" {
			_, err := tx.Exec(ctx, `UPDATE tenants SET default_org_id = $2 WHERE tenant_id = $1`, ts.id, o.ID)
			if err != nil {
				return fmt.Errorf("set default organisation: %w", classify(err))
			}
			return ts.bump(ctx, tx, now)
		}
		return nil
	})
	if err != nil {
		return tenants.Organisation{}, fmt.Errorf("create organisation %q: %w", o.Name, err)
	}
	return o, nil
}

// GetOrganisation returns one of the tenant's organisations.
func (ts tenantStore) GetOrganisation(ctx context.Context, id string) (tenants.Organisation, error) {
	if !validID(id) {
		return tenants.Organisation{}, fmt.Errorf("get organisation %q: %w", id, store.ErrNotFound)
	}
	var o tenants.Organisation
	err := ts.run(ctx, func(tx pgx.Tx) error {
		var err error
		o, err = scanOrg(tx.QueryRow(ctx,
			`SELECT `+orgColumns+` FROM organisations WHERE tenant_id = $1 AND org_id = $2`, ts.id, id))
		return err
	})
	if err != nil {
		return tenants.Organisation{}, fmt.Errorf("get organisation %q: %w", id, classify(err))
	}
	return o, nil
}

// ListOrganisations returns the tenant's organisations by priority, then name.
func (ts tenantStore) ListOrganisations(ctx context.Context) ([]tenants.Organisation, error) {
	if !validID(ts.id) {
		return nil, nil
	}
	var out []tenants.Organisation
	err := ts.run(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx,
			`SELECT `+orgColumns+` FROM organisations WHERE tenant_id = $1 ORDER BY priority, name`, ts.id)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanOrg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list organisations: %w", classify(err))
	}
	return out, nil
}

// UpdateOrganisation applies fn under the organisation's row lock and saves the
// result with the next ResourceVersion.
func (ts tenantStore) UpdateOrganisation(ctx context.Context, id string, fn func(*tenants.Organisation) error) (tenants.Organisation, error) {
	if !validID(id) {
		return tenants.Organisation{}, fmt.Errorf("update organisation %q: %w", id, store.ErrNotFound)
	}
	var out tenants.Organisation
	err := ts.run(ctx, func(tx pgx.Tx) error {
		cur, err := scanOrg(tx.QueryRow(ctx,
			`SELECT `+orgColumns+` FROM organisations WHERE tenant_id = $1 AND org_id = $2 FOR NO KEY UPDATE`,
			ts.id, id))
		if err != nil {
			return classify(err)
		}
		tenantID, created, version := cur.TenantID, cur.CreatedAt, cur.ResourceVersion
		next := cur
		if err := fn(&next); err != nil {
			return err
		}
		next.TenantID, next.ID, next.CreatedAt = tenantID, id, created
		if err := validateOrganisation(next); err != nil {
			return err
		}
		next.ResourceVersion, next.UpdatedAt = version+1, ts.s.timestamp()
		rules, policy, err := orgDocs(next)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE organisations SET name = $3, rules = $4, priority = $5, policy = $6,
				resource_version = $7, updated_at = $8
			WHERE tenant_id = $1 AND org_id = $2`,
			ts.id, id, next.Name, rules, next.Priority, policy, next.ResourceVersion, next.UpdatedAt)
		if err != nil {
			return classify(err)
		}
		out = next
		return nil
	})
	if err != nil {
		return tenants.Organisation{}, fmt.Errorf("update organisation %q: %w", id, err)
	}
	return out, nil
}

// DeleteOrganisation deletes an organisation that is neither the tenant's
// default nor still home to users (ErrConflict otherwise).
func (ts tenantStore) DeleteOrganisation(ctx context.Context, id string) error {
	if !validID(id) {
		return fmt.Errorf("delete organisation %q: %w", id, store.ErrNotFound)
	}
	err := ts.run(ctx, func(tx pgx.Tx) error {
		t, err := ts.lock(ctx, tx)
		if err != nil {
			return err
		}
		// FOR UPDATE (a key lock) waits for, and then blocks, inserts of users
		// that reference the organisation.
		var exists bool
		err = tx.QueryRow(ctx,
			`SELECT true FROM organisations WHERE tenant_id = $1 AND org_id = $2 FOR UPDATE`, ts.id, id).Scan(&exists)
		if err != nil {
			return classify(err)
		}
		if t.defaultOrg == id {
			return fmt.Errorf("%w: it is the tenant's default organisation", store.ErrConflict)
		}
		var members bool
		err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND org_id = $2)`,
			ts.id, id).Scan(&members)
		if err != nil {
			return fmt.Errorf("count members: %w", classify(err))
		}
		if members {
			return fmt.Errorf("%w: users still belong to it", store.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM organisations WHERE tenant_id = $1 AND org_id = $2`, ts.id, id); err != nil {
			return classify(err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete organisation %q: %w", id, err)
	}
	return nil
}
