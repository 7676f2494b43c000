package postgres_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/migrations"
	"github.com/latchkey/latchkey/tenants/store/postgres"
	"github.com/latchkey/latchkey/tenants/store/postgres/pgtest"
)

func postgresMigrations(t *testing.T) []migrations.Migration {
	t.Helper()
	ms, err := migrations.Postgres()
	if err != nil {
		t.Fatalf("load migrations: %v", err)
	}
	return ms
}

// TestMigrateConcurrently: migrators racing on one database (several replicas
// starting at once) all succeed, and each migration is applied exactly once.
func TestMigrateConcurrently(t *testing.T) {
	ownerURL, appURL := pgtest.NewEmptyDatabase(t)
	const racers = 3
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = postgres.Migrate(t.Context(), ownerURL)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate #%d: %v", i, err)
		}
	}
	// Once more, now that the schema is current: nothing to do.
	if err := postgres.Migrate(t.Context(), ownerURL); err != nil {
		t.Errorf("Migrate on a current schema: %v", err)
	}
	admin := adminConn(t, ownerURL)
	ms := postgresMigrations(t)
	if n := count(t, admin, "SELECT count(*) FROM schema_migrations"); n != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
	}
	for _, m := range ms {
		if n := count(t, admin, "SELECT count(*) FROM schema_migrations WHERE version = $1 AND name = $2", m.Version, m.Name); n != 1 {
			t.Errorf("migration %d (%s) recorded %d times, want once", m.Version, m.Name, n)
		}
	}
	s, err := postgres.Open(t.Context(), appURL)
	if err != nil {
		t.Fatalf("Open after Migrate: %v", err)
	}
	_ = s.Close()
}

// TestOpenNeedsMigratedSchema: Open does not migrate; it tells the operator
// how to.
func TestOpenNeedsMigratedSchema(t *testing.T) {
	_, appURL := pgtest.NewEmptyDatabase(t)
	s, err := postgres.Open(t.Context(), appURL)
	if err == nil {
		_ = s.Close()
		t.Fatal("Open on an empty database succeeded")
	}
	for _, want := range []string{"latchkey migrate", "LATCHKEY_DATABASE_MIGRATE_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open error %q does not mention %q", err, want)
		}
	}
}

// TestNewerSchemaIsRefused: a binary older than the database neither
// migrates nor opens it.
func TestNewerSchemaIsRefused(t *testing.T) {
	ownerURL, appURL := pgtest.NewDatabase(t)
	owner := connect(t, ownerURL)
	future := len(postgresMigrations(t)) + 1
	if _, err := owner.Exec(t.Context(),
		"INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future', now())", future); err != nil {
		t.Fatalf("record a future migration: %v", err)
	}
	if err := postgres.Migrate(t.Context(), ownerURL); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Migrate on a newer schema: error %v, want one saying it is newer", err)
	}
	s, err := postgres.Open(t.Context(), appURL)
	if err == nil {
		_ = s.Close()
		t.Fatal("Open on a newer schema succeeded")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open error %q does not say the schema is newer", err)
	}
}

// TestOpenRefusesRoleThatBypassesRLS: a superuser (or BYPASSRLS role) would
// see every tenant's rows, so the store refuses to run as one (R39).
func TestOpenRefusesRoleThatBypassesRLS(t *testing.T) {
	_, appURL := pgtest.NewDatabase(t)
	s, err := postgres.Open(t.Context(), pgtest.AdminURL(t, pgtest.DatabaseName(t, appURL)))
	if err == nil {
		_ = s.Close()
		t.Fatal("Open as a superuser succeeded")
	}
	if !strings.Contains(err.Error(), "BYPASSRLS") {
		t.Errorf("Open error %q does not explain the refusal", err)
	}
}

// TestAppRoleCannotMigrate: the schema belongs to the owner role; the
// application role cannot create tables (R39: migrations run as the owner).
func TestAppRoleCannotMigrate(t *testing.T) {
	_, appURL := pgtest.NewEmptyDatabase(t)
	err := postgres.Migrate(t.Context(), appURL)
	if err == nil {
		t.Fatal("Migrate as latchkey_app succeeded")
	}
	if sqlState(err) != "42501" {
		t.Errorf("Migrate as latchkey_app: error %v, want permission denied (42501)", err)
	}
}

// TestDownDropsEverything: each migration's down part undoes its up part, so
// that the up part applies again cleanly afterwards.
func TestDownDropsEverything(t *testing.T) {
	ownerURL, _ := pgtest.NewDatabase(t)
	owner := connect(t, ownerURL)
	ms := postgresMigrations(t)
	for i := len(ms) - 1; i >= 0; i-- {
		if _, err := owner.Exec(t.Context(), ms[i].Down); err != nil {
			t.Fatalf("down %04d_%s: %v", ms[i].Version, ms[i].Name, err)
		}
	}
	admin := adminConn(t, ownerURL)
	if n := count(t, admin, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i')`); n != 0 {
		t.Errorf("%d relations left after the down migrations", n)
	}
	if n := count(t, admin, `SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = current_schema()`); n != 0 {
		t.Errorf("%d functions left after the down migrations", n)
	}
	if err := postgres.Migrate(t.Context(), ownerURL); err != nil {
		t.Fatalf("Migrate after the down migrations: %v", err)
	}
}
