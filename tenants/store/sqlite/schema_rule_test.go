package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// globalUnique lists the unique keys that deliberately do not lead with
// tenant_id (docs/schema.md): a slug and a host each belong to one tenant
// platform-wide.
var globalUnique = map[string][]string{
	"tenants":      {"slug"},
	"tenant_hosts": {"host"},
}

// schemaRuleViolations inspects every table of db that has a tenant_id column
// and reports each place where tenant_id does not lead the primary key, a
// foreign key or a tenant-scoped unique key. It also returns the tables it
// checked. schema_migrations, which has no tenant_id, is exempt.
func schemaRuleViolations(ctx context.Context, db *sql.DB) (checked, problems []string, err error) {
	tables, err := strings1(ctx, db, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, nil, err
	}
	for _, table := range tables {
		// pragma table_info: cid, name, type, notnull, dflt_value, pk (1-based position in the key, 0 if not)
		rows, err := db.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?)`, table)
		if err != nil {
			return nil, nil, fmt.Errorf("table_info %s: %w", table, err)
		}
		pk := map[int]string{}
		hasTenant := false
		for rows.Next() {
			var name string
			var pos int
			if err := rows.Scan(&name, &pos); err != nil {
				rows.Close()
				return nil, nil, err
			}
			hasTenant = hasTenant || name == "tenant_id"
			if pos > 0 {
				pk[pos] = name
			}
		}
		rows.Close()
		if !hasTenant {
			continue
		}
		checked = append(checked, table)
		if pk[1] != "tenant_id" {
			problems = append(problems, fmt.Sprintf("%s: primary key starts with %q, not tenant_id", table, pk[1]))
		}

		// pragma foreign_key_list: id, seq, table, from, to, on_update, on_delete, match
		rows, err = db.QueryContext(ctx, `SELECT id, seq, "table", "from", "to" FROM pragma_foreign_key_list(?) ORDER BY id, seq`, table)
		if err != nil {
			return nil, nil, fmt.Errorf("foreign_key_list %s: %w", table, err)
		}
		for rows.Next() {
			var id, seq int
			var parent, from, to string
			if err := rows.Scan(&id, &seq, &parent, &from, &to); err != nil {
				rows.Close()
				return nil, nil, err
			}
			if seq == 0 && (from != "tenant_id" || to != "tenant_id") {
				problems = append(problems, fmt.Sprintf("%s: foreign key %d to %s starts with %s → %s, not tenant_id → tenant_id", table, id, parent, from, to))
			}
		}
		rows.Close()

		// pragma index_list: seq, name, unique, origin ('pk', 'u' or 'c'), partial
		indexes, err := db.QueryContext(ctx, `SELECT name, origin FROM pragma_index_list(?) WHERE "unique"`, table)
		if err != nil {
			return nil, nil, fmt.Errorf("index_list %s: %w", table, err)
		}
		type index struct{ name, origin string }
		var unique []index
		for indexes.Next() {
			var ix index
			if err := indexes.Scan(&ix.name, &ix.origin); err != nil {
				indexes.Close()
				return nil, nil, err
			}
			unique = append(unique, ix)
		}
		indexes.Close()
		for _, ix := range unique {
			cols, err := strings1(ctx, db, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, ix.name)
			if err != nil {
				return nil, nil, fmt.Errorf("index_info %s: %w", ix.name, err)
			}
			// The primary key's own index was checked through table_info above.
			if ix.origin == "pk" || len(cols) == 0 || cols[0] == "tenant_id" {
				continue
			}
			if len(cols) == 1 && slices.Contains(globalUnique[table], cols[0]) {
				continue
			}
			problems = append(problems, fmt.Sprintf("%s: unique key %s (%s) on %v does not start with tenant_id", table, ix.name, ix.origin, cols))
		}
	}
	return checked, problems, nil
}

func strings1(ctx context.Context, db *sql.DB, q string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// TestSchemaRule: in the migrated database every tenant-scoped table has
// tenant_id first in its primary key and in every foreign key (R41, and so the
// schema can be distributed by tenant later).
func TestSchemaRule(t *testing.T) {
	s, _ := openTemp(t)
	checked, problems, err := schemaRuleViolations(t.Context(), s.db)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	want := []string{"audit_events", "connectors", "counters", "devices", "flows", "join_tokens", "organisations", "outbox", "push_challenges", "sessions", "tenant_hosts", "tenants", "users"}
	if !slices.Equal(checked, want) {
		t.Errorf("checked tables %v, want %v (a tenant table without tenant_id escapes the rule)", checked, want)
	}
	// Every table but tenants itself hangs off tenants by a foreign key.
	for _, table := range want {
		if table == "tenants" {
			continue
		}
		parents, err := strings1(t.Context(), s.db, `SELECT "table" FROM pragma_foreign_key_list(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(parents, "tenants") {
			t.Errorf("%s has no foreign key to tenants (parents %v)", table, parents)
		}
	}
}

// TestSchemaRuleCatchesViolations proves the checker above can fail.
func TestSchemaRuleCatchesViolations(t *testing.T) {
	s, _ := openTemp(t)
	for _, stmt := range []string{
		`CREATE TABLE bad_pk (id TEXT, tenant_id TEXT, PRIMARY KEY (id, tenant_id)) STRICT`,
		`CREATE TABLE bad_fk (tenant_id TEXT, org_id TEXT, PRIMARY KEY (tenant_id, org_id),
			FOREIGN KEY (org_id, tenant_id) REFERENCES organisations (org_id, tenant_id)) STRICT`,
		`CREATE TABLE bad_unique (tenant_id TEXT, x TEXT, PRIMARY KEY (tenant_id, x), UNIQUE (x)) STRICT`,
	} {
		if _, err := s.db.ExecContext(t.Context(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	_, problems, err := schemaRuleViolations(t.Context(), s.db)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(problems, "\n")
	for _, want := range []string{"bad_pk: primary key", "bad_fk: foreign key", "bad_unique: unique key"} {
		if !strings.Contains(joined, want) {
			t.Errorf("problems do not mention %q:\n%s", want, joined)
		}
	}
	if len(problems) != 3 {
		t.Errorf("got %d problems, want 3:\n%s", len(problems), joined)
	}
}
