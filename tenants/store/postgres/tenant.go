package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// tenantStore is one tenant's view of the store. Every method runs in a
// transaction scoped to id by row-level security and, in addition, names
// tenant_id in every statement.
type tenantStore struct {
	s  *Store
	id string
}

// run runs fn in a transaction scoped to the tenant. An id that is not a
// canonical UUID names no tenant: ErrNotFound, without a round trip.
func (ts tenantStore) run(ctx context.Context, fn func(pgx.Tx) error) error {
	if !validID(ts.id) {
		return store.ErrNotFound
	}
	return ts.s.inTenant(ctx, ts.id, fn)
}

// tenantRow is what the methods that change a tenant's hosts or
// organisations need to know of it.
type tenantRow struct {
	canonicalHost string
	defaultOrg    string
}

// lock locks the tenant's row until the transaction ends, so that changes to
// the tenant and to what it owns (hosts, default organisation, audit chain)
// are serialised per tenant. FOR NO KEY UPDATE: it does not block inserts
// whose foreign keys merely reference the tenant.
func (ts tenantStore) lock(ctx context.Context, tx pgx.Tx) (tenantRow, error) {
	var (
		r   tenantRow
		def *string
	)
	err := tx.QueryRow(ctx,
		`SELECT canonical_host, default_org_id FROM tenants WHERE tenant_id = $1 FOR NO KEY UPDATE`,
		ts.id).Scan(&r.canonicalHost, &def)
	if err != nil {
		return tenantRow{}, fmt.Errorf("lock tenant: %w", classify(err))
	}
	r.defaultOrg = deref(def)
	return r, nil
}

// bump records a change to the tenant or to what it owns.
func (ts tenantStore) bump(ctx context.Context, tx pgx.Tx, now time.Time) error {
	_, err := tx.Exec(ctx,
		`UPDATE tenants SET resource_version = resource_version + 1, updated_at = $2 WHERE tenant_id = $1`,
		ts.id, now)
	if err != nil {
		return fmt.Errorf("bump tenant version: %w", classify(err))
	}
	return nil
}

// Get returns the tenant itself.
func (ts tenantStore) Get(ctx context.Context) (tenants.Tenant, error) {
	var t tenants.Tenant
	err := ts.run(ctx, func(tx pgx.Tx) error {
		var err error
		t, err = scanTenant(tx.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE tenant_id = $1`, ts.id))
		return err
	})
	if err != nil {
		return tenants.Tenant{}, fmt.Errorf("get tenant: %w", classify(err))
	}
	return t, nil
}

// Update applies fn to the tenant under its row lock (so fn runs once) and
// saves the result with the next ResourceVersion. A new CanonicalHost must be
// one of the tenant's hosts (it becomes the primary one) and a new default
// organisation one of its organisations.
func (ts tenantStore) Update(ctx context.Context, fn func(*tenants.Tenant) error) (tenants.Tenant, error) {
	var out tenants.Tenant
	err := ts.run(ctx, func(tx pgx.Tx) error {
		cur, err := scanTenant(tx.QueryRow(ctx,
			`SELECT `+tenantColumns+` FROM tenants WHERE tenant_id = $1 FOR NO KEY UPDATE`, ts.id))
		if err != nil {
			return classify(err)
		}
		id, slug, created, version := cur.ID, cur.Slug, cur.CreatedAt, cur.ResourceVersion
		oldCanonical, oldDefault := cur.CanonicalHost, cur.DefaultOrganisationID
		next := cur
		if err := fn(&next); err != nil {
			return err
		}
		next.ID, next.Slug, next.CreatedAt = id, slug, created
		if err := validateTenant(next); err != nil {
			return err
		}
		if next.CanonicalHost != "" && next.CanonicalHost != oldCanonical {
			if err := ts.mustHaveHost(ctx, tx, next.CanonicalHost); err != nil {
				return err
			}
		}
		if next.DefaultOrganisationID != "" && next.DefaultOrganisationID != oldDefault {
			if err := ts.mustHaveOrg(ctx, tx, next.DefaultOrganisationID); err != nil {
				return err
			}
		}
		next.ResourceVersion, next.UpdatedAt = version+1, ts.s.timestamp()
		branding, policy, err := tenantDocs(next)
		if err != nil {
			return err
		}
		selfService, err := selfServiceDoc(next.SelfService)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE tenants SET name = $2, canonical_host = $3, branding = $4, logo = $5,
				logo_content_type = $6, default_locale = $7, policy = $8, default_org_id = $9,
				resource_version = $10, updated_at = $11, selfservice = $12
			WHERE tenant_id = $1`,
			ts.id, next.Name, next.CanonicalHost, branding, next.Branding.Logo, next.Branding.LogoContentType,
			next.DefaultLocale, policy, nullable(next.DefaultOrganisationID), next.ResourceVersion, next.UpdatedAt,
			selfService)
		if err != nil {
			return classify(err)
		}
		if next.CanonicalHost != oldCanonical {
			_, err = tx.Exec(ctx, `UPDATE tenant_hosts SET is_primary = (host = $2) WHERE tenant_id = $1`,
				ts.id, next.CanonicalHost)
			if err != nil {
				return fmt.Errorf("mark primary host: %w", classify(err))
			}
		}
		out = next
		return nil
	})
	if err != nil {
		return tenants.Tenant{}, fmt.Errorf("update tenant: %w", err)
	}
	return out, nil
}

// mustHaveHost refuses a host the tenant does not have.
func (ts tenantStore) mustHaveHost(ctx context.Context, tx pgx.Tx, host string) error {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tenant_hosts WHERE tenant_id = $1 AND host = $2)`,
		ts.id, host).Scan(&ok)
	if err != nil {
		return fmt.Errorf("check host: %w", classify(err))
	}
	if !ok {
		return invalidf("host %q is not one of the tenant's hosts", host)
	}
	return nil
}

// mustHaveOrg refuses an organisation the tenant does not have.
func (ts tenantStore) mustHaveOrg(ctx context.Context, tx pgx.Tx, orgID string) error {
	if !validID(orgID) {
		return invalidf("organisation %q is not one of the tenant's organisations", orgID)
	}
	var ok bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM organisations WHERE tenant_id = $1 AND org_id = $2)`,
		ts.id, orgID).Scan(&ok)
	if err != nil {
		return fmt.Errorf("check organisation: %w", classify(err))
	}
	if !ok {
		return invalidf("organisation %q is not one of the tenant's organisations", orgID)
	}
	return nil
}
