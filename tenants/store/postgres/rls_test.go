package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/postgres"
)

// tenantTables are the tables the migrations create with a tenant_id column.
var tenantTables = []string{"audit_events", "connector_commands", "connector_presence", "connectors", "counters", "devices", "flows", "join_tokens", "organisations", "outbox", "push_challenges", "sessions", "tenant_hosts", "tenants", "users"}

// fixture is two tenants, each with two hosts, an organisation, a user, an
// audit event and a connector enrolled with a join token, created through the
// store.
type fixture struct {
	s                *postgres.Store
	ownerURL, appURL string
	a, b             tenants.Tenant
	hostA2, hostB2   string
	connA, connB     tenants.Connector
}

func newFixture(t *testing.T, opts ...postgres.Option) fixture {
	t.Helper()
	s, ownerURL, appURL := openStore(t, opts...)
	f := fixture{s: s, ownerURL: ownerURL, appURL: appURL}
	mk := func(slug string) (tenants.Tenant, string) {
		second := "login." + slug + ".example"
		ten, err := s.Platform().CreateTenant(t.Context(), tenants.Tenant{Slug: slug, Name: slug},
			[]tenants.Host{{Host: slug + ".platform.example"}, {Host: second}})
		if err != nil {
			t.Fatalf("CreateTenant %s: %v", slug, err)
		}
		ts := s.Tenant(ten.ID)
		if _, err := ts.CreateOrganisation(t.Context(), tenants.Organisation{Name: "staff"}); err != nil {
			t.Fatalf("CreateOrganisation: %v", err)
		}
		u, err := ts.CreateUser(t.Context(), tenants.User{Username: "user-" + slug})
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		addSelfService(t, ts, slug, u.ID)
		if _, err := ts.AppendAudit(t.Context(), tenants.AuditEvent{Actor: "system", Action: "test"}); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
		hash := sha256.Sum256([]byte("token-" + slug))
		if _, err := ts.CreateJoinToken(t.Context(), tenants.JoinToken{Hash: hash[:], CreatedBy: "by-" + slug, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatalf("CreateJoinToken: %v", err)
		}
		c, err := ts.RedeemJoinToken(t.Context(), hash[:], tenants.Connector{Name: "dc-" + slug,
			SignKey: make([]byte, 32), SealKey: []byte("seal"), AgentVersion: "1"})
		if err != nil {
			t.Fatalf("RedeemJoinToken: %v", err)
		}
		if slug == "alpha" {
			f.connA = c
		} else {
			f.connB = c
		}
		// The relay's rows: the connector is held by node-<slug> and has one
		// pending command (id: 32 times the slug's first letter).
		conn := connect(t, appURL)
		if err := pgx.BeginFunc(t.Context(), conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(t.Context(), "SELECT set_config('app.tenant_id', $1, true)", string(ten.ID)); err != nil {
				return err
			}
			if _, err := tx.Exec(t.Context(), `INSERT INTO connector_presence (tenant_id, connector_id, node_id, lease_until)
				VALUES ($1, $2, $3, now() + interval '1 hour')`, ten.ID, c.ID, "node-"+slug); err != nil {
				return err
			}
			_, err := tx.Exec(t.Context(), `INSERT INTO connector_commands (tenant_id, id, connector_id, origin_node, target_node, command, expires_at)
				VALUES ($1, $2, $3, 'node-origin', $4, '\x00', now() + interval '1 hour')`, ten.ID, strings.Repeat(slug[:1], 32), c.ID, "node-"+slug)
			return err
		}); err != nil {
			t.Fatalf("relay rows for %s: %v", slug, err)
		}
		return getTenantOrFail(t, ts), second
	}
	f.a, f.hostA2 = mk("alpha")
	f.b, f.hostB2 = mk("bravo")
	return f
}

// hexOf is the 64-hex-digit id the fixture gives a flow or session.
func hexOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// addSelfService gives the fixture's tenant slug a flow and a session of
// user, a counter, a due outbox message and a device of user with a pending
// push challenge (cid: hexOf("challenge-"+slug)[:32]), through the store.
func addSelfService(t *testing.T, ts store.TenantStore, slug, user string) {
	t.Helper()
	now := time.Now()
	if _, err := ts.CreateFlow(t.Context(), tenants.Flow{ID: hexOf("flow-" + slug), Action: tenants.ActionReset,
		UserID: user, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatalf("CreateFlow: %v", err)
	}
	if _, err := ts.CreateSession(t.Context(), tenants.Session{ID: hexOf("session-" + slug), UserID: user,
		ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if _, err := ts.Hit(t.Context(), "key-"+slug, time.Hour, now, 1); err != nil {
		t.Fatalf("Hit: %v", err)
	}
	if _, err := ts.EnqueueMessage(t.Context(), tenants.OutboxMessage{Channel: tenants.MessageEmail, Kind: "code",
		To: slug + "@mail.example", Sealed: []byte("sealed")}); err != nil {
		t.Fatalf("EnqueueMessage: %v", err)
	}
	d, err := ts.CreateDevice(t.Context(), tenants.Device{UserID: user, Name: "phone-" + slug, Platform: "cli",
		KeyID: "key-" + slug, PublicKey: []byte("public key")})
	if err != nil {
		t.Fatalf("CreateDevice: %v", err)
	}
	if err := ts.CreateChallenge(t.Context(), tenants.PushChallenge{CID: hexOf("challenge-" + slug)[:32], UserID: user,
		DeviceID: d.ID, Purpose: string(tenants.ActionReset), Context: []byte(`{}`), Number: 42, State: "pending",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatalf("CreateChallenge: %v", err)
	}
}

func getTenantOrFail(t *testing.T, ts store.TenantStore) tenants.Tenant {
	t.Helper()
	ten, err := ts.Get(t.Context())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return ten
}

// asApp runs fn in a transaction of the application role with the given
// transaction-local settings (name, value pairs); the transaction rolls back.
func asApp(t *testing.T, appURL string, settings []string, fn func(tx pgx.Tx) error) error {
	t.Helper()
	conn := connect(t, appURL)
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer func() { _ = tx.Rollback(t.Context()) }()
	for i := 0; i+1 < len(settings); i += 2 {
		if _, err := tx.Exec(t.Context(), "SELECT set_config($1, $2, true)", settings[i], settings[i+1]); err != nil {
			t.Fatalf("set_config %s: %v", settings[i], err)
		}
	}
	return fn(tx)
}

// rowQuerier is a connection, pool or transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// count runs a query that returns one integer.
func count(t *testing.T, q rowQuerier, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := q.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// TestRowLevelSecurityCatalog is R39: every table with tenant_id has ENABLE
// and FORCE row-level security and a tenant_isolation policy with both USING
// and WITH CHECK on tenant_id; latchkey_app cannot bypass it and owns nothing.
func TestRowLevelSecurityCatalog(t *testing.T) {
	_, _, appURL := openStore(t)
	conn := adminConn(t, appURL)
	rows, err := conn.Query(t.Context(), `
		SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
			COALESCE(pg_get_expr(p.polqual, p.polrelid), ''),
			COALESCE(pg_get_expr(p.polwithcheck, p.polrelid), ''),
			COALESCE(p.polcmd::text, '')
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_policy p ON p.polrelid = c.oid AND p.polname = 'tenant_isolation'
		WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()
		  AND EXISTS (SELECT 1 FROM pg_attribute a
		              WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
		ORDER BY c.relname`)
	if err != nil {
		t.Fatalf("query catalog: %v", err)
	}
	var seen []string
	for rows.Next() {
		var name, qual, check, cmd string
		var rls, force bool
		if err := rows.Scan(&name, &rls, &force, &qual, &check, &cmd); err != nil {
			t.Fatalf("scan: %v", err)
		}
		seen = append(seen, name)
		if !rls || !force {
			t.Errorf("%s: relrowsecurity=%v relforcerowsecurity=%v, want both (R39)", name, rls, force)
		}
		if qual == "" || check == "" {
			t.Errorf("%s: tenant_isolation policy USING %q WITH CHECK %q, want both (R39)", name, qual, check)
			continue
		}
		if cmd != "*" {
			t.Errorf("%s: tenant_isolation is for command %q, want ALL", name, cmd)
		}
		for _, expr := range []string{qual, check} {
			if !strings.Contains(expr, "tenant_id") || !strings.Contains(expr, "latchkey_current_tenant()") {
				t.Errorf("%s: policy expression %q does not compare tenant_id with latchkey_current_tenant()", name, expr)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	if !slices.Equal(seen, tenantTables) {
		t.Errorf("tables with tenant_id = %v, want %v", seen, tenantTables)
	}

	var super, bypass, inherit bool
	if err := conn.QueryRow(t.Context(),
		`SELECT rolsuper, rolbypassrls, rolinherit FROM pg_roles WHERE rolname = 'latchkey_app'`).
		Scan(&super, &bypass, &inherit); err != nil {
		t.Fatalf("read latchkey_app: %v", err)
	}
	if super || bypass {
		t.Errorf("latchkey_app: rolsuper=%v rolbypassrls=%v, want both false (R39)", super, bypass)
	}
	if n := count(t, conn, `SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
		WHERE r.rolname = 'latchkey_app'`); n != 0 {
		t.Errorf("latchkey_app owns %d relations, want none (R39)", n)
	}
	// The grants: audit_events is append-only for the application.
	for _, tc := range []struct {
		table, priv string
		want        bool
	}{
		{"audit_events", "SELECT", true}, {"audit_events", "INSERT", true},
		{"audit_events", "UPDATE", false}, {"audit_events", "DELETE", false}, {"audit_events", "TRUNCATE", false},
		{"users", "UPDATE", true}, {"users", "TRUNCATE", false},
		{"connectors", "UPDATE", true}, {"connectors", "DELETE", false}, {"connectors", "TRUNCATE", false},
		{"join_tokens", "UPDATE", true}, {"join_tokens", "DELETE", false},
		{"flows", "DELETE", true}, {"flows", "TRUNCATE", false}, {"sessions", "UPDATE", true}, {"sessions", "TRUNCATE", false},
		{"counters", "DELETE", true}, {"counters", "TRUNCATE", false}, {"outbox", "UPDATE", true}, {"outbox", "TRUNCATE", false},
		{"outbox", "REFERENCES", false}, {"flows", "TRIGGER", false},
		{"devices", "DELETE", true}, {"devices", "TRUNCATE", false},
		{"push_challenges", "UPDATE", true}, {"push_challenges", "DELETE", true}, {"push_challenges", "TRUNCATE", false},
		{"schema_migrations", "SELECT", true}, {"schema_migrations", "INSERT", false},
	} {
		var got bool
		if err := conn.QueryRow(t.Context(), `SELECT has_table_privilege('latchkey_app', $1, $2)`, tc.table, tc.priv).Scan(&got); err != nil {
			t.Fatalf("has_table_privilege: %v", err)
		}
		if got != tc.want {
			t.Errorf("latchkey_app %s on %s = %v, want %v", tc.priv, tc.table, got, tc.want)
		}
	}
}

// TestTenantSettingIsTransactionLocal is R40: with one pooled connection, a
// transaction for tenant A and then one for B leave no tenant behind on the
// connection, and a query with no tenant set sees no rows although they exist.
func TestTenantSettingIsTransactionLocal(t *testing.T) {
	f := newFixture(t, postgres.WithPoolConfig(func(c *pgxpool.Config) { c.MaxConns, c.MinConns = 1, 0 }))
	pool := postgres.PoolOf(f.s)
	pid := func() int { return count(t, pool, "SELECT pg_backend_pid()") }
	before := pid()

	for _, ten := range []tenants.Tenant{f.a, f.b} {
		users, err := f.s.Tenant(ten.ID).ListUsers(t.Context(), "", 10)
		if err != nil {
			t.Fatalf("ListUsers %s: %v", ten.Slug, err)
		}
		if len(users) != 1 || users[0].Username != "user-"+ten.Slug {
			t.Fatalf("ListUsers %s = %+v", ten.Slug, users)
		}
	}
	// A transaction that rolls back must not leave its tenant behind either.
	boom := errors.New("boom")
	if _, err := f.s.Tenant(f.a.ID).Update(t.Context(), func(*tenants.Tenant) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Update error = %v, want %v", err, boom)
	}
	if after := pid(); after != before {
		t.Fatalf("the pool changed connections (%d → %d): the test proves nothing", before, after)
	}

	var setting *string
	if err := pool.QueryRow(t.Context(), "SELECT current_setting('app.tenant_id', true)").Scan(&setting); err != nil {
		t.Fatalf("current_setting: %v", err)
	}
	if setting != nil && *setting != "" {
		t.Errorf("app.tenant_id = %q after the transactions committed, want empty (R40)", *setting)
	}
	for _, table := range tenantTables {
		if n := count(t, pool, "SELECT count(*) FROM "+table); n != 0 {
			t.Errorf("%s: %d rows visible with no tenant set, want 0 (R40)", table, n)
		}
	}
	admin := adminConn(t, f.appURL)
	if n := count(t, admin, "SELECT count(*) FROM users"); n != 2 {
		t.Errorf("users holds %d rows, want 2 (the test needs rows to hide)", n)
	}
}

// TestWithCheckRefusesOtherTenantRows is R41 at the database: under tenant A's
// context a row for B cannot be written, A's rows cannot be moved to B, and
// B's rows can be neither seen nor changed even by SQL that omits the tenant
// filter.
func TestWithCheckRefusesOtherTenantRows(t *testing.T) {
	f := newFixture(t)
	inA := []string{"app.tenant_id", string(f.a.ID)}
	writes := []struct{ name, sql string }{
		{"insert a user for B", `INSERT INTO users (tenant_id, user_id, username, username_lower, created_at, updated_at)
			VALUES ($1, gen_random_uuid(), 'mallory', 'mallory', now(), now())`},
		{"insert an audit event for B", `INSERT INTO audit_events (tenant_id, seq, at, prev_hash, hash)
			VALUES ($1, 99, now(), decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'))`},
		{"insert a host for B", `INSERT INTO tenant_hosts (tenant_id, host, created_at) VALUES ($1, 'evil.example', now())`},
		{"move A's users to B", `UPDATE users SET tenant_id = $1`},
		{"move A's organisations to B", `UPDATE organisations SET tenant_id = $1`},
		{"insert a connector for B", `INSERT INTO connectors (tenant_id, connector_id, name, sign_key, seal_key, created_at)
			VALUES ($1, gen_random_uuid(), 'rogue', decode(repeat('00', 32), 'hex'), 'x', now())`},
		{"insert a join token for B", `INSERT INTO join_tokens (tenant_id, token_id, token_hash, created_at, expires_at)
			VALUES ($1, gen_random_uuid(), decode(repeat('11', 32), 'hex'), now(), now() + interval '1 hour')`},
		{"move A's connectors to B", `UPDATE connectors SET tenant_id = $1`},
		{"insert a flow for B", `INSERT INTO flows (tenant_id, flow_id, action, expires_at, created_at, updated_at)
			VALUES ($1, repeat('ab', 32), 'reset', now() + interval '1 hour', now(), now())`},
		{"move A's flows to B", `UPDATE flows SET tenant_id = $1`},
		{"insert a session for B", `INSERT INTO sessions (tenant_id, session_id, user_id, created_at, last_seen_at, expires_at)
			VALUES ($1, repeat('cd', 32), gen_random_uuid(), now(), now(), now() + interval '1 hour')`},
		{"move A's sessions to B", `UPDATE sessions SET tenant_id = $1`},
		{"insert a counter for B", `INSERT INTO counters (tenant_id, counter_key, window_start, window_end, count)
			VALUES ($1, 'sms:tenant', now(), now() + interval '1 hour', 1)`},
		{"move A's counters to B", `UPDATE counters SET tenant_id = $1`},
		{"insert an outbox message for B", `INSERT INTO outbox (tenant_id, message_id, channel, kind, recipient, sealed, next_attempt_at, created_at)
			VALUES ($1, gen_random_uuid(), 'email', 'code', 'victim@example', '\x00', now(), now())`},
		{"move A's outbox messages to B", `UPDATE outbox SET tenant_id = $1`},
		{"insert a device for B", `INSERT INTO devices (tenant_id, device_id, user_id, platform, key_id, public_key, created_at)
			VALUES ($1, gen_random_uuid(), gen_random_uuid(), 'cli', 'rogue', '\x00', now())`},
		{"move A's devices to B", `UPDATE devices SET tenant_id = $1`},
		{"insert a push challenge for B", `INSERT INTO push_challenges (tenant_id, cid, user_id, device_id, purpose, context, created_at, expires_at)
			VALUES ($1, repeat('ef', 16), gen_random_uuid(), gen_random_uuid(), 'reset', '{}', now(), now() + interval '1 hour')`},
		{"move A's push challenges to B", `UPDATE push_challenges SET tenant_id = $1`},
	}
	for _, w := range writes {
		err := asApp(t, f.appURL, inA, func(tx pgx.Tx) error {
			_, err := tx.Exec(t.Context(), w.sql, f.b.ID)
			return err
		})
		if sqlState(err) != "42501" || !strings.Contains(err.Error(), "row-level security") {
			t.Errorf("%s under A: error %v, want the WITH CHECK violation (42501) (R41)", w.name, err)
		}
	}

	err := asApp(t, f.appURL, inA, func(tx pgx.Tx) error {
		for table, col := range map[string]string{
			"tenants": "slug", "tenant_hosts": "host", "organisations": "name", "users": "username", "audit_events": "action",
			"connectors": "name", "join_tokens": "created_by",
			"flows": "action", "sessions": "ip", "counters": "counter_key", "outbox": "kind",
			"devices": "name", "push_challenges": "reason",
		} {
			// No tenant filter at all: only A's rows come back.
			if n := count(t, tx, "SELECT count(*) FROM "+table+" WHERE tenant_id <> $1", f.a.ID); n != 0 {
				t.Errorf("%s: A's context sees %d rows of other tenants (R41)", table, n)
			}
			if n := count(t, tx, "SELECT count(*) FROM "+table); n == 0 {
				t.Errorf("%s: A's context sees none of A's rows", table)
			}
			if table == "audit_events" || table == "tenants" {
				continue
			}
			tag, err := tx.Exec(t.Context(), "UPDATE "+table+" SET "+col+" = "+col+" || '-x' WHERE tenant_id = $1", f.b.ID)
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 0 {
				t.Errorf("%s: A's context updated %d of B's rows (R41)", table, tag.RowsAffected())
			}
		}
		for _, table := range []string{"users", "tenant_hosts", "flows", "sessions", "counters", "outbox", "devices"} {
			tag, err := tx.Exec(t.Context(), "DELETE FROM "+table+" WHERE tenant_id = $1", f.b.ID)
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 0 {
				t.Errorf("%s: A's context deleted %d of B's rows (R41)", table, tag.RowsAffected())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("queries under A: %v", err)
	}
	if users, err := f.s.Tenant(f.b.ID).ListUsers(t.Context(), "", 10); err != nil || len(users) != 1 || users[0].Username != "user-bravo" {
		t.Errorf("B's users after A's attempts = %+v, %v", users, err)
	}
}

// TestAuditEventsAppendOnly: the application role may not change or remove
// audit events, not even its own tenant's (permission denied, before any
// row-level security applies).
func TestAuditEventsAppendOnly(t *testing.T) {
	f := newFixture(t)
	for _, sql := range []string{
		`UPDATE audit_events SET actor = 'forged' WHERE tenant_id = $1`,
		`DELETE FROM audit_events WHERE tenant_id = $1`,
		`TRUNCATE audit_events`,
	} {
		err := asApp(t, f.appURL, []string{"app.tenant_id", string(f.a.ID)}, func(tx pgx.Tx) error {
			var args []any
			if strings.Contains(sql, "$1") {
				args = append(args, f.a.ID)
			}
			_, err := tx.Exec(t.Context(), sql, args...)
			return err
		})
		if sqlState(err) != "42501" || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s as latchkey_app: error %v, want permission denied (42501)", sql, err)
		}
	}
	events, err := f.s.Tenant(f.a.ID).ListAudit(t.Context(), 0, 10)
	if err != nil || len(events) != 1 || events[0].Actor != "system" {
		t.Errorf("A's audit log after the attempts = %+v, %v", events, err)
	}
}

// TestLookupPolicies: the host, slug and platform-list policies reveal a row
// only to a transaction that names it exactly, and nothing beyond it.
func TestLookupPolicies(t *testing.T) {
	f := newFixture(t)
	keyCol := map[string]string{
		"tenants": "slug", "tenant_hosts": "host", "organisations": "name", "users": "username", "audit_events": "action",
		"connectors": "name", "join_tokens": "created_by", "connector_presence": "node_id", "connector_commands": "id",
		"flows": "flow_id", "sessions": "session_id", "counters": "counter_key", "outbox": "recipient",
		"devices": "key_id", "push_challenges": "cid",
	}
	none := map[string][]string{}
	tests := []struct {
		name     string
		settings []string
		want     map[string][]string // visible key values per table; missing means none
	}{
		{"no setting", nil, none},
		{"host lookup", []string{"app.lookup_host", f.hostA2}, map[string][]string{"tenant_hosts": {f.hostA2}}},
		{"host lookup of an unknown host", []string{"app.lookup_host", "nowhere.example"}, none},
		{"host lookup of an empty host", []string{"app.lookup_host", ""}, none},
		{"host lookup by pattern", []string{"app.lookup_host", "%"}, none},
		{"slug lookup", []string{"app.lookup_slug", "bravo"}, map[string][]string{"tenants": {"bravo"}}},
		{"slug lookup of a prefix", []string{"app.lookup_slug", "brav"}, none},
		{"platform list", []string{"app.platform_list", "on"}, map[string][]string{"tenants": {"alpha", "bravo"}}},
		{"platform list not exactly on", []string{"app.platform_list", "true"}, none},
		{"connector lookup", []string{"app.lookup_connector", f.connB.ID}, map[string][]string{"connectors": {"dc-bravo"}}},
		{"connector lookup of an unknown id", []string{"app.lookup_connector", "00000000-0000-4000-8000-000000000000"}, none},
		{"connector lookup of a malformed id", []string{"app.lookup_connector", "not-a-uuid"}, none},
		{"connector lookup by pattern", []string{"app.lookup_connector", "%"}, none},
		{"tenant", []string{"app.tenant_id", string(f.a.ID)}, map[string][]string{
			"tenants": {"alpha"}, "tenant_hosts": {"alpha.platform.example", f.hostA2},
			"organisations": {"staff"}, "users": {"user-alpha"}, "audit_events": {"test"},
			"connectors": {"dc-alpha"}, "join_tokens": {"by-alpha"},
			"connector_presence": {"node-alpha"}, "connector_commands": {strings.Repeat("a", 32)},
			"flows": {hexOf("flow-alpha")}, "sessions": {hexOf("session-alpha")}, "counters": {"key-alpha"},
			"outbox": {"alpha@mail.example"}, "devices": {"key-alpha"}, "push_challenges": {hexOf("challenge-alpha")[:32]},
		}},
		// The relay's settings open nothing to the application role: the inbox
		// is a function returning tenant ids, the sweep may only delete.
		{"relay node naming bravo's node", []string{"app.relay_node", "node-bravo"}, none},
		{"relay sweep", []string{"app.relay_sweep", "on"}, none},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := asApp(t, f.appURL, tc.settings, func(tx pgx.Tx) error {
				for _, table := range tenantTables {
					rows, err := tx.Query(t.Context(), "SELECT "+keyCol[table]+" FROM "+table+" ORDER BY 1")
					if err != nil {
						return err
					}
					got, err := pgx.CollectRows(rows, pgx.RowTo[string])
					if err != nil {
						return err
					}
					if want := tc.want[table]; !slices.Equal(got, want) && len(got)+len(want) > 0 {
						t.Errorf("%s: visible %v, want %v", table, got, want)
					}
				}
				// The lookup policies are FOR SELECT: they never allow a write.
				if tc.settings != nil && tc.settings[0] != "app.tenant_id" {
					for _, sql := range []string{
						"UPDATE tenants SET name = 'hijacked'",
						"UPDATE tenant_hosts SET is_primary = true",
						"DELETE FROM tenant_hosts",
						"UPDATE connectors SET revoked_at = now()",
						"UPDATE outbox SET state = 'dead'",
						"DELETE FROM flows",
						"UPDATE sessions SET revoked_at = now()",
						"UPDATE counters SET count = count + 1000",
						"UPDATE devices SET push_token = 'hijacked'",
						"DELETE FROM devices",
						"UPDATE push_challenges SET state = 'approved'",
					} {
						tag, err := tx.Exec(t.Context(), sql)
						if err != nil {
							return err
						}
						if tag.RowsAffected() != 0 {
							t.Errorf("%s changed %d rows under a lookup setting", sql, tag.RowsAffected())
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("queries: %v", err)
			}
		})
	}
}
