package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

const orgColumns = `org_id, name, rules, priority, policy, resource_version, created_at, updated_at`

func (ts tenantStore) scanOrg(r scanner) (tenants.Organisation, error) {
	o := tenants.Organisation{TenantID: tenants.ID(ts.id)}
	var rules, policy string
	var created, updated int64
	if err := r.Scan(&o.ID, &o.Name, &rules, &o.Priority, &policy, &o.ResourceVersion, &created, &updated); err != nil {
		return o, err
	}
	var err error
	if o.Rules, err = decodeRules(rules); err != nil {
		return o, err
	}
	if o.Policy, err = decodePolicy(policy); err != nil {
		return o, err
	}
	o.CreatedAt, o.UpdatedAt = fromNanos(created), fromNanos(updated)
	return o, nil
}

// orgArgs returns name, rules, priority, policy, resource_version, updated_at.
func orgArgs(o tenants.Organisation) ([]any, error) {
	rules, err := encodeRules(o.Rules)
	if err != nil {
		return nil, err
	}
	policy, err := encodePolicy(o.Policy)
	if err != nil {
		return nil, err
	}
	return []any{o.Name, rules, o.Priority, policy, o.ResourceVersion, o.UpdatedAt.UnixNano()}, nil
}

// CreateOrganisation stores a new organisation; the tenant's first one
// becomes its default organisation.
func (ts tenantStore) CreateOrganisation(ctx context.Context, o tenants.Organisation) (tenants.Organisation, error) {
	if err := validateOrganisation(o); err != nil {
		return tenants.Organisation{}, fmt.Errorf("create organisation: %w", err)
	}
	now := ts.s.clock()
	o.TenantID, o.ID = tenants.ID(ts.id), uuid.NewString()
	o.ResourceVersion, o.CreatedAt, o.UpdatedAt = 1, now, now
	if len(o.Rules) == 0 {
		o.Rules = nil
	}
	err := ts.s.write(ctx, func(tx *sql.Tx) error {
		var defaultOrg sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT default_org_id FROM tenants WHERE tenant_id = ?`, ts.id).Scan(&defaultOrg); err != nil {
			return mapErr(fmt.Sprintf("tenant %s", ts.id), err)
		}
		args, err := orgArgs(o)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO organisations (tenant_id, org_id, created_at,
			name, rules, priority, policy, resource_version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			append([]any{ts.id, o.ID, now.UnixNano()}, args...)...); err != nil {
			return mapErr("insert organisation", err)
		}
		if defaultOrg.String == "" {
			return ts.touch(ctx, tx, "default_org_id = ?", o.ID)
		}
		return nil
	})
	if err != nil {
		return tenants.Organisation{}, fmt.Errorf("create organisation %q in tenant %s: %w", o.Name, ts.id, err)
	}
	return o, nil
}

// GetOrganisation returns one of the tenant's organisations.
func (ts tenantStore) GetOrganisation(ctx context.Context, id string) (tenants.Organisation, error) {
	return ts.getOrg(ctx, ts.s.db, id)
}

func (ts tenantStore) getOrg(ctx context.Context, q querier, id string) (tenants.Organisation, error) {
	o, err := ts.scanOrg(q.QueryRowContext(ctx,
		`SELECT `+orgColumns+` FROM organisations WHERE tenant_id = ? AND org_id = ?`, ts.id, id))
	if err != nil {
		return tenants.Organisation{}, mapErr(fmt.Sprintf("get organisation %q of tenant %s", id, ts.id), err)
	}
	return o, nil
}

// ListOrganisations returns the tenant's organisations by Priority, then Name.
func (ts tenantStore) ListOrganisations(ctx context.Context) ([]tenants.Organisation, error) {
	rows, err := ts.s.db.QueryContext(ctx,
		`SELECT `+orgColumns+` FROM organisations WHERE tenant_id = ? ORDER BY priority, name`, ts.id)
	if err != nil {
		return nil, fmt.Errorf("list organisations of tenant %s: %w", ts.id, err)
	}
	defer rows.Close()
	var out []tenants.Organisation
	for rows.Next() {
		o, err := ts.scanOrg(rows)
		if err != nil {
			return nil, fmt.Errorf("list organisations of tenant %s: %w", ts.id, err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list organisations of tenant %s: %w", ts.id, err)
	}
	return out, nil
}

// UpdateOrganisation loads an organisation, applies fn and saves it with
// ResourceVersion+1, in one IMMEDIATE transaction.
func (ts tenantStore) UpdateOrganisation(ctx context.Context, id string, fn func(*tenants.Organisation) error) (tenants.Organisation, error) {
	var out tenants.Organisation
	err := ts.s.write(ctx, func(tx *sql.Tx) error {
		old, err := ts.getOrg(ctx, tx, id)
		if err != nil {
			return err
		}
		o := old
		o.Rules = append([]tenants.MatchRule(nil), old.Rules...)
		if err := fn(&o); err != nil {
			return err
		}
		o.TenantID, o.ID, o.CreatedAt = old.TenantID, old.ID, old.CreatedAt
		o.ResourceVersion = old.ResourceVersion + 1
		o.UpdatedAt = ts.s.clock()
		if err := validateOrganisation(o); err != nil {
			return err
		}
		args, err := orgArgs(o)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE organisations SET name = ?, rules = ?, priority = ?, policy = ?,
			resource_version = ?, updated_at = ? WHERE tenant_id = ? AND org_id = ? AND resource_version = ?`,
			append(args, ts.id, id, old.ResourceVersion)...)
		if err != nil {
			return mapErr("update organisation", err)
		}
		if err := affected("update organisation", res); err != nil {
			return fmt.Errorf("update organisation: %w", store.ErrConflict)
		}
		out = o
		return nil
	})
	if err != nil {
		return tenants.Organisation{}, fmt.Errorf("update organisation %q of tenant %s: %w", id, ts.id, err)
	}
	if len(out.Rules) == 0 {
		out.Rules = nil
	}
	return out, nil
}

// DeleteOrganisation deletes an organisation that is neither the tenant's
// default nor has users (ErrConflict otherwise).
func (ts tenantStore) DeleteOrganisation(ctx context.Context, id string) error {
	err := ts.s.write(ctx, func(tx *sql.Tx) error {
		if _, err := ts.getOrg(ctx, tx, id); err != nil {
			return err
		}
		var defaultOrg sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT default_org_id FROM tenants WHERE tenant_id = ?`, ts.id).Scan(&defaultOrg); err != nil {
			return mapErr("read default organisation", err)
		}
		if defaultOrg.String == id {
			return fmt.Errorf("it is the tenant's default organisation: %w", store.ErrConflict)
		}
		var users int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE tenant_id = ? AND org_id = ?`, ts.id, id).Scan(&users); err != nil {
			return fmt.Errorf("count users: %w", err)
		}
		if users > 0 {
			return fmt.Errorf("%d users still belong to it: %w", users, store.ErrConflict)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM organisations WHERE tenant_id = ? AND org_id = ?`, ts.id, id)
		if err != nil {
			return mapErr("delete organisation", err)
		}
		return affected("delete organisation", res)
	})
	if err != nil {
		return fmt.Errorf("delete organisation %q of tenant %s: %w", id, ts.id, err)
	}
	return nil
}
