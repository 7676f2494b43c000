package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// tenantStore is one tenant's view of the database. Every statement it runs
// filters on (or writes) id, whatever the caller passes in.
type tenantStore struct {
	s  *Store
	id string
}

const tenantColumns = `tenant_id, slug, name, canonical_host, branding, logo, logo_content_type,
	default_locale, policy, selfservice, default_org_id, resource_version, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanTenant(r scanner) (tenants.Tenant, error) {
	var (
		t                                           tenants.Tenant
		id, branding, logoType, policy, selfService string
		logo                                        []byte
		defaultOrg                                  sql.NullString
		created, updated                            int64
	)
	if err := r.Scan(&id, &t.Slug, &t.Name, &t.CanonicalHost, &branding, &logo, &logoType,
		&t.DefaultLocale, &policy, &selfService, &defaultOrg, &t.ResourceVersion, &created, &updated); err != nil {
		return t, err
	}
	var err error
	if t.Branding, err = decodeBranding(branding, logo, logoType); err != nil {
		return t, err
	}
	if t.Policy, err = decodePolicy(policy); err != nil {
		return t, err
	}
	if err := fromJSONText("self-service settings", selfService, &t.SelfService); err != nil {
		return t, err
	}
	t.ID = tenants.ID(id)
	t.DefaultOrganisationID = defaultOrg.String
	t.CreatedAt, t.UpdatedAt = fromNanos(created), fromNanos(updated)
	return t, nil
}

// tenantArgs returns the columns a tenant's row holds beyond its key and
// timestamps, in the order of the statements below.
func tenantArgs(t tenants.Tenant) ([]any, error) {
	branding, err := encodeBranding(t.Branding)
	if err != nil {
		return nil, err
	}
	policy, err := encodePolicy(t.Policy)
	if err != nil {
		return nil, err
	}
	selfService, err := jsonText("self-service settings", t.SelfService)
	if err != nil {
		return nil, err
	}
	var logo any
	if len(t.Branding.Logo) > 0 {
		logo = t.Branding.Logo
	}
	return []any{t.Name, t.CanonicalHost, branding, logo, t.Branding.LogoContentType,
		t.DefaultLocale, policy, selfService, nullable(t.DefaultOrganisationID), t.ResourceVersion, t.UpdatedAt.UnixNano()}, nil
}

func insertTenant(ctx context.Context, tx *sql.Tx, t tenants.Tenant) error {
	args, err := tenantArgs(t)
	if err != nil {
		return err
	}
	args = append([]any{string(t.ID), t.Slug, t.CreatedAt.UnixNano()}, args...)
	_, err = tx.ExecContext(ctx, `INSERT INTO tenants (tenant_id, slug, created_at, name, canonical_host,
		branding, logo, logo_content_type, default_locale, policy, selfservice, default_org_id, resource_version,
		updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	return mapErr("insert tenant", err)
}

// Get returns the tenant itself.
func (ts tenantStore) Get(ctx context.Context) (tenants.Tenant, error) {
	return ts.get(ctx, ts.s.db)
}

func (ts tenantStore) get(ctx context.Context, q querier) (tenants.Tenant, error) {
	t, err := scanTenant(q.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE tenant_id = ?`, ts.id))
	if err != nil {
		return tenants.Tenant{}, mapErr(fmt.Sprintf("get tenant %s", ts.id), err)
	}
	return t, nil
}

// Update loads the tenant, applies fn and saves it with ResourceVersion+1,
// all in one IMMEDIATE transaction.
func (ts tenantStore) Update(ctx context.Context, fn func(*tenants.Tenant) error) (tenants.Tenant, error) {
	var out tenants.Tenant
	err := ts.s.write(ctx, func(tx *sql.Tx) error {
		old, err := ts.get(ctx, tx)
		if err != nil {
			return err
		}
		t := old
		t.Branding.Logo = append([]byte(nil), old.Branding.Logo...)
		if err := fn(&t); err != nil {
			return err
		}
		t.ID, t.Slug, t.CreatedAt = old.ID, old.Slug, old.CreatedAt
		t.ResourceVersion = old.ResourceVersion + 1
		t.UpdatedAt = ts.s.clock()
		if err := validateTenant(t); err != nil {
			return err
		}
		if err := ts.checkReferences(ctx, tx, t); err != nil {
			return err
		}
		args, err := tenantArgs(t)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE tenants SET name = ?, canonical_host = ?, branding = ?, logo = ?,
			logo_content_type = ?, default_locale = ?, policy = ?, selfservice = ?, default_org_id = ?,
			resource_version = ?, updated_at = ?
			WHERE tenant_id = ? AND resource_version = ?`, append(args, ts.id, old.ResourceVersion)...)
		if err != nil {
			return mapErr("update tenant", err)
		}
		if err := affected("update tenant", res); err != nil {
			return fmt.Errorf("update tenant: %w", store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tenant_hosts SET is_primary = (host = ?) WHERE tenant_id = ?`,
			t.CanonicalHost, ts.id); err != nil {
			return mapErr("mark primary host", err)
		}
		out = t
		return nil
	})
	if err != nil {
		return tenants.Tenant{}, fmt.Errorf("update tenant %s: %w", ts.id, err)
	}
	if len(out.Branding.Logo) == 0 {
		out.Branding.Logo = nil
	}
	return out, nil
}

// checkReferences refuses a default organisation or canonical host that is
// not the tenant's own (there is no foreign key for either).
func (ts tenantStore) checkReferences(ctx context.Context, tx *sql.Tx, t tenants.Tenant) error {
	var n int
	if t.DefaultOrganisationID != "" {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM organisations WHERE tenant_id = ? AND org_id = ?`,
			ts.id, t.DefaultOrganisationID).Scan(&n); err != nil {
			return fmt.Errorf("check default organisation: %w", err)
		}
		if n == 0 {
			return invalidf("default organisation %q is not one of the tenant's", t.DefaultOrganisationID)
		}
	}
	if t.CanonicalHost != "" {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tenant_hosts WHERE tenant_id = ? AND host = ?`,
			ts.id, t.CanonicalHost).Scan(&n); err != nil {
			return fmt.Errorf("check canonical host: %w", err)
		}
		if n == 0 {
			return invalidf("canonical host %q is not one of the tenant's hosts", t.CanonicalHost)
		}
	}
	return nil
}

// touch bumps the tenant's ResourceVersion and UpdatedAt inside tx (after a
// change to its hosts or default organisation); ErrNotFound when the tenant
// does not exist.
func (ts tenantStore) touch(ctx context.Context, tx *sql.Tx, set string, args ...any) error {
	q := `UPDATE tenants SET resource_version = resource_version + 1, updated_at = ?`
	if set != "" {
		q += ", " + set
	}
	q += ` WHERE tenant_id = ?`
	args = append(append([]any{ts.s.clock().UnixNano()}, args...), ts.id)
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return mapErr("update tenant", err)
	}
	return affected(fmt.Sprintf("tenant %s", ts.id), res)
}

// exists returns ErrNotFound unless the tenant exists.
func (ts tenantStore) exists(ctx context.Context, q querier) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM tenants WHERE tenant_id = ?`, ts.id).Scan(&n); err != nil {
		return fmt.Errorf("look up tenant: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("tenant %s: %w", ts.id, store.ErrNotFound)
	}
	return nil
}
