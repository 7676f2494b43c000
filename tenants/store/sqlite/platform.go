package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
)

// platform holds the cross-tenant operations.
type platform struct{ s *Store }

// CreateTenant stores t and its hosts in one transaction.
func (p platform) CreateTenant(ctx context.Context, t tenants.Tenant, hosts []tenants.Host) (tenants.Tenant, error) {
	canonical, err := checkNewTenant(t, hosts)
	if err != nil {
		return tenants.Tenant{}, fmt.Errorf("create tenant: %w", err)
	}
	now := p.s.clock()
	t.ID = tenants.ID(uuid.NewString())
	t.CanonicalHost = canonical
	t.ResourceVersion = 1
	t.CreatedAt, t.UpdatedAt = now, now
	err = p.s.write(ctx, func(tx *sql.Tx) error {
		if err := insertTenant(ctx, tx, t); err != nil {
			return err
		}
		for _, h := range hosts {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO tenant_hosts (tenant_id, host, is_primary, created_at) VALUES (?, ?, ?, ?)`,
				string(t.ID), h.Host, boolInt(h.Host == canonical), now.UnixNano()); err != nil {
				return mapErr(fmt.Sprintf("add host %q", h.Host), err)
			}
		}
		return nil
	})
	if err != nil {
		return tenants.Tenant{}, fmt.Errorf("create tenant %q: %w", t.Slug, err)
	}
	return t, nil
}

// checkNewTenant validates a new tenant and returns its canonical host: the
// host marked Primary or the CanonicalHost named, which must be one of hosts.
func checkNewTenant(t tenants.Tenant, hosts []tenants.Host) (string, error) {
	if err := validateTenant(t); err != nil {
		return "", err
	}
	if t.DefaultOrganisationID != "" {
		return "", invalidf("a new tenant has no organisations to default to")
	}
	if len(hosts) == 0 {
		return "", invalidf("a tenant needs at least its platform host")
	}
	primary, named := "", false
	for _, h := range hosts {
		if err := validateHost(h.Host); err != nil {
			return "", err
		}
		if h.Primary {
			if primary != "" {
				return "", invalidf("hosts %q and %q are both primary", primary, h.Host)
			}
			primary = h.Host
		}
		named = named || h.Host == t.CanonicalHost
	}
	switch {
	case t.CanonicalHost == "":
		return primary, nil
	case !named:
		return "", invalidf("canonical host %q is not one of the tenant's hosts", t.CanonicalHost)
	case primary != "" && primary != t.CanonicalHost:
		return "", invalidf("canonical host %q is not the primary host %q", t.CanonicalHost, primary)
	}
	return t.CanonicalHost, nil
}

// ListTenants returns every tenant, ordered by slug.
func (p platform) ListTenants(ctx context.Context) ([]tenants.Tenant, error) {
	rows, err := p.s.db.QueryContext(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY slug`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []tenants.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}

// TenantBySlug finds a tenant by its slug.
func (p platform) TenantBySlug(ctx context.Context, slug string) (tenants.Tenant, error) {
	t, err := scanTenant(p.s.db.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE slug = ?`, slug))
	if err != nil {
		return tenants.Tenant{}, mapErr(fmt.Sprintf("tenant by slug %q", slug), err)
	}
	return t, nil
}

// ResolveHost returns the tenant that owns host.
func (p platform) ResolveHost(ctx context.Context, host string) (tenants.ID, error) {
	var id string
	err := p.s.db.QueryRowContext(ctx, `SELECT tenant_id FROM tenant_hosts WHERE host = ?`, host).Scan(&id)
	if err != nil {
		return "", mapErr(fmt.Sprintf("resolve host %q", host), err)
	}
	return tenants.ID(id), nil
}
