package postgres_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store/postgres/pgtest"
)

// TestOutboxDueFunctionCatalog: latchkey_outbox_due is SECURITY DEFINER,
// owned by the owner role, with a fixed search_path, returns a set of uuid
// (tenant ids, nothing else), and only latchkey_app may execute it; the
// outbox_due policy that lets it read pending rows belongs to the owner alone
// (R39, R41).
func TestOutboxDueFunctionCatalog(t *testing.T) {
	_, _, appURL := openStore(t)
	conn := adminConn(t, appURL)
	var (
		owner, result string
		secdef, set   bool
		config        []string
		public, app   bool
	)
	err := conn.QueryRow(t.Context(), `
		SELECT r.rolname, p.prosecdef, p.proretset, format_type(p.prorettype, NULL), COALESCE(p.proconfig, '{}'),
			EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'),
			has_function_privilege('latchkey_app', p.oid, 'EXECUTE')
		FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner
		WHERE p.proname = 'latchkey_outbox_due'`).Scan(&owner, &secdef, &set, &result, &config, &public, &app)
	if err != nil {
		t.Fatalf("read latchkey_outbox_due: %v", err)
	}
	if owner != pgtest.OwnerRole || !secdef {
		t.Errorf("owner %q, SECURITY DEFINER %v; want %q and true", owner, secdef, pgtest.OwnerRole)
	}
	if !set || result != "uuid" {
		t.Errorf("returns set %v of %s, want SETOF uuid (tenant ids only)", set, result)
	}
	if !slices.Contains(config, "search_path=pg_catalog, pg_temp") {
		t.Errorf("proconfig %v, want a fixed search_path=pg_catalog, pg_temp", config)
	}
	if public || !app {
		t.Errorf("EXECUTE for PUBLIC %v, for latchkey_app %v; want false and true", public, app)
	}
	var roles []string
	if err := conn.QueryRow(t.Context(), `SELECT array_agg(r.rolname::text) FROM pg_policy p
		JOIN pg_class c ON c.oid = p.polrelid, unnest(p.polroles) AS pr(oid) JOIN pg_roles r ON r.oid = pr.oid
		WHERE c.relname = 'outbox' AND p.polname = 'outbox_due'`).Scan(&roles); err != nil {
		t.Fatalf("read outbox_due policy: %v", err)
	}
	if !slices.Equal(roles, []string{pgtest.OwnerRole}) {
		t.Errorf("outbox_due policy applies to %v, want the owner role alone", roles)
	}
}

// TestOutboxDueFunctionReturnsIDsOnly: latchkey_app learns through the
// function which tenants have due messages, and nothing else: one uuid
// column, while the same transaction still reads none of the messages, not
// even under another tenant's context (R41).
func TestOutboxDueFunctionReturnsIDsOnly(t *testing.T) {
	f := newFixture(t)
	later := time.Now().Add(time.Minute) // the fixture's messages are due now
	for _, settings := range [][]string{nil, {"app.tenant_id", string(f.a.ID)}} {
		err := asApp(t, f.appURL, settings, func(tx pgx.Tx) error {
			rows, err := tx.Query(t.Context(), `SELECT * FROM latchkey_outbox_due($1, 100)`, later)
			if err != nil {
				return err
			}
			if fields := rows.FieldDescriptions(); len(fields) != 1 || fields[0].DataTypeOID != 2950 {
				t.Errorf("latchkey_outbox_due returns %d columns %+v, want one uuid", len(fields), fields)
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			slices.Sort(got)
			want := []string{string(f.a.ID), string(f.b.ID)}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("settings %v: latchkey_outbox_due = %v, want %v", settings, got, want)
			}
			if n := count(t, tx, "SELECT count(*) FROM outbox WHERE tenant_id = $1", f.b.ID); n != 0 {
				t.Errorf("settings %v: latchkey_app reads %d of B's messages", settings, n)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("as latchkey_app: %v", err)
		}
	}
	// Through the store: the same ids, and none once they are claimed.
	ids, err := f.s.Platform().TenantsWithDueMessages(t.Context(), later, 100)
	if err != nil {
		t.Fatalf("TenantsWithDueMessages: %v", err)
	}
	if len(ids) != 2 {
		t.Errorf("TenantsWithDueMessages = %v, want both tenants", ids)
	}
	for _, ten := range []tenants.Tenant{f.a, f.b} {
		if ms, err := f.s.Tenant(ten.ID).ClaimMessages(t.Context(), later, time.Hour, 10); err != nil || len(ms) != 1 {
			t.Fatalf("ClaimMessages %s = %v, %v", ten.Slug, ms, err)
		}
	}
	if ids, err := f.s.Platform().TenantsWithDueMessages(t.Context(), later, 100); err != nil || len(ids) != 0 {
		t.Errorf("TenantsWithDueMessages after the claims = %v, %v; want none", ids, err)
	}
}

// TestFlowWithCheckRefusesOtherTenant is R41 for the flow table in particular:
// under tenant A's context, a flow row naming tenant B is refused by the
// policy's WITH CHECK, and so is moving A's flow to B or pointing it at B's
// user.
func TestFlowWithCheckRefusesOtherTenant(t *testing.T) {
	f := newFixture(t)
	inA := []string{"app.tenant_id", string(f.a.ID)}
	for name, sql := range map[string]string{
		"insert": `INSERT INTO flows (tenant_id, flow_id, action, expires_at, created_at, updated_at)
			VALUES ($1, repeat('0', 64), 'reset', now() + interval '1 hour', now(), now())`,
		"move": `UPDATE flows SET tenant_id = $1 WHERE flow_id = '` + hexOf("flow-alpha") + `'`,
	} {
		err := asApp(t, f.appURL, inA, func(tx pgx.Tx) error {
			_, err := tx.Exec(t.Context(), sql, f.b.ID)
			return err
		})
		if sqlState(err) != "42501" || !strings.Contains(err.Error(), "row-level security") {
			t.Errorf("%s a flow for B under A: error %v, want the WITH CHECK violation (42501)", name, err)
		}
	}
	// The composite foreign key keeps a flow of A on A's users.
	bUser, err := f.s.Tenant(f.b.ID).GetUserByUsername(t.Context(), "user-bravo")
	if err != nil {
		t.Fatalf("GetUserByUsername: %v", err)
	}
	err = asApp(t, f.appURL, inA, func(tx pgx.Tx) error {
		_, err := tx.Exec(t.Context(), `UPDATE flows SET user_id = $1 WHERE tenant_id = $2`, bUser.ID, f.a.ID)
		return err
	})
	if sqlState(err) != "23503" {
		t.Errorf("pointing A's flow at B's user: error %v, want a foreign key violation (23503)", err)
	}
	flow, err := f.s.Tenant(f.a.ID).GetFlow(t.Context(), hexOf("flow-alpha"))
	if err != nil || flow.TenantID != f.a.ID || flow.Version != 1 {
		t.Errorf("A's flow after the attempts = %+v, %v", flow, err)
	}
}
