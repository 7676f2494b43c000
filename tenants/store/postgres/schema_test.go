package postgres_test

import (
	"testing"

	"github.com/latchkey/latchkey/tenants/store/postgres/pgtest"
)

// TestSchemaRule: in the migrated database, every table with a tenant_id
// column has tenant_id as the first column of its primary key and of every
// foreign key, on both sides of the reference (docs/schema.md; the schema can
// be distributed by tenant_id without a rewrite).
func TestSchemaRule(t *testing.T) {
	ownerURL, _ := pgtest.NewDatabase(t)
	conn := adminConn(t, ownerURL)
	rows, err := conn.Query(t.Context(), `
		SELECT c.relname, con.conname, con.contype::text,
			COALESCE(a.attname, ''), COALESCE(fa.attname, '')
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_constraint con ON con.conrelid = c.oid AND con.contype IN ('p', 'f')
		LEFT JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
		LEFT JOIN pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = con.confkey[1]
		WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()
		  AND EXISTS (SELECT 1 FROM pg_attribute t
		              WHERE t.attrelid = c.oid AND t.attname = 'tenant_id' AND NOT t.attisdropped)
		ORDER BY c.relname, con.conname`)
	if err != nil {
		t.Fatalf("query catalog: %v", err)
	}
	defer rows.Close()
	hasPK := map[string]bool{}
	fks := 0
	for rows.Next() {
		var table, name, kind, first, refFirst string
		if err := rows.Scan(&table, &name, &kind, &first, &refFirst); err != nil {
			t.Fatalf("scan: %v", err)
		}
		if _, ok := hasPK[table]; !ok {
			hasPK[table] = false
		}
		switch kind {
		case "p":
			hasPK[table] = true
			if first != "tenant_id" {
				t.Errorf("%s: primary key %s starts with %q, want tenant_id", table, name, first)
			}
		case "f":
			fks++
			if first != "tenant_id" || refFirst != "tenant_id" {
				t.Errorf("%s: foreign key %s starts with %q → %q, want tenant_id → tenant_id", table, name, first, refFirst)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	for _, table := range tenantTables {
		has, ok := hasPK[table]
		switch {
		case !ok:
			t.Errorf("%s: no tenant_id column", table)
		case !has:
			t.Errorf("%s: no primary key", table)
		}
	}
	if len(hasPK) != len(tenantTables) {
		t.Errorf("tables with tenant_id: %v, want %v", hasPK, tenantTables)
	}
	if fks < 5 {
		t.Errorf("found %d foreign keys, want at least 5: the query is not seeing them", fks)
	}
}
