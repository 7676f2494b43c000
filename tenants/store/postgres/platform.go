package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// platform holds the operations that are not scoped to one tenant. Each runs
// with the one setting its lookup policy requires, never app.tenant_id of some
// other tenant.
type platform struct{ s *Store }

// CreateTenant stores t and its hosts in one transaction scoped to the new
// tenant's freshly generated id.
func (p platform) CreateTenant(ctx context.Context, t tenants.Tenant, hosts []tenants.Host) (tenants.Tenant, error) {
	if err := validateTenant(t); err != nil {
		return tenants.Tenant{}, fmt.Errorf("create tenant: %w", err)
	}
	if len(hosts) == 0 {
		return tenants.Tenant{}, fmt.Errorf("create tenant: %w", invalidf("a tenant needs at least one host"))
	}
	if t.DefaultOrganisationID != "" {
		return tenants.Tenant{}, fmt.Errorf("create tenant: %w", invalidf("a new tenant has no organisation to default to"))
	}
	id, err := p.s.newID()
	if err != nil {
		return tenants.Tenant{}, fmt.Errorf("create tenant: %w", err)
	}
	now := p.s.timestamp()
	t.ID, t.ResourceVersion, t.CreatedAt, t.UpdatedAt = tenants.ID(id), 1, now, now
	canonical, rows, err := planHosts(t.CanonicalHost, hosts)
	if err != nil {
		return tenants.Tenant{}, fmt.Errorf("create tenant: %w", err)
	}
	t.CanonicalHost = canonical
	branding, policy, err := tenantDocs(t)
	if err != nil {
		return tenants.Tenant{}, fmt.Errorf("create tenant: %w", err)
	}
	selfService, err := selfServiceDoc(t.SelfService)
	if err != nil {
		return tenants.Tenant{}, fmt.Errorf("create tenant: %w", err)
	}
	err = p.s.inTenant(ctx, id, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO tenants (`+tenantColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11, $12, $12)`,
			id, t.Slug, t.Name, t.CanonicalHost, branding, t.Branding.Logo, t.Branding.LogoContentType,
			t.DefaultLocale, policy, selfService, t.ResourceVersion, now)
		if err != nil {
			return fmt.Errorf("insert tenant: %w", classify(err))
		}
		for _, h := range rows {
			_, err := tx.Exec(ctx, `INSERT INTO tenant_hosts (`+hostColumns+`) VALUES ($1, $2, $3, $4)`,
				id, h.Host, h.Primary, now)
			if err != nil {
				return fmt.Errorf("insert host %q: %w", h.Host, classify(err))
			}
		}
		return nil
	})
	if err != nil {
		return tenants.Tenant{}, fmt.Errorf("create tenant: %w", err)
	}
	return t, nil
}

// planHosts decides which of a new tenant's hosts is primary: the requested
// canonical host if any (it must be one of hosts), else the one host marked
// Primary (at most one may be). It returns the canonical host ("" when none).
func planHosts(canonical string, hosts []tenants.Host) (string, []tenants.Host, error) {
	out := make([]tenants.Host, len(hosts))
	primaries := 0
	found := false
	for i, h := range hosts {
		if err := validateHost(h.Host); err != nil {
			return "", nil, err
		}
		out[i] = tenants.Host{Host: h.Host, Primary: h.Primary}
		if h.Primary {
			primaries++
		}
		if canonical != "" && h.Host == canonical {
			found = true
		}
	}
	switch {
	case canonical != "" && !found:
		return "", nil, invalidf("canonical host %q is not one of the tenant's hosts", canonical)
	case canonical == "" && primaries > 1:
		return "", nil, invalidf("more than one primary host")
	}
	if canonical == "" && primaries == 1 {
		for _, h := range out {
			if h.Primary {
				canonical = h.Host
			}
		}
	}
	for i := range out {
		out[i].Primary = canonical != "" && out[i].Host == canonical
	}
	return canonical, out, nil
}

// ListTenants returns every tenant by slug. It is the one query that uses the
// platform_list policy, for the operator's `latchkey tenant list`.
func (p platform) ListTenants(ctx context.Context) ([]tenants.Tenant, error) {
	var out []tenants.Tenant
	err := p.s.inTx(ctx, settingPlatformList, "on", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY slug`)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanTenant)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", classify(err))
	}
	return out, nil
}

// TenantBySlug finds a tenant by slug through the slug_lookup policy.
func (p platform) TenantBySlug(ctx context.Context, slug string) (tenants.Tenant, error) {
	if slug == "" {
		return tenants.Tenant{}, fmt.Errorf("find tenant by slug: %w", store.ErrNotFound)
	}
	var t tenants.Tenant
	err := p.s.inTx(ctx, settingLookupSlug, slug, func(tx pgx.Tx) error {
		var err error
		t, err = scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE slug = $1`, slug))
		return err
	})
	if err != nil {
		return tenants.Tenant{}, fmt.Errorf("find tenant by slug %q: %w", slug, classify(err))
	}
	return t, nil
}

// ResolveHost finds the tenant owning host through the host_lookup policy.
func (p platform) ResolveHost(ctx context.Context, host string) (tenants.ID, error) {
	if host == "" {
		return "", fmt.Errorf("resolve host: %w", store.ErrNotFound)
	}
	var id string
	err := p.s.inTx(ctx, settingLookupHost, host, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT tenant_id FROM tenant_hosts WHERE host = $1`, host).Scan(&id)
	})
	if err != nil {
		return "", fmt.Errorf("resolve host %q: %w", host, classify(err))
	}
	return tenants.ID(id), nil
}
