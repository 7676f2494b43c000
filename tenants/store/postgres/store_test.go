package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/postgres"
	"github.com/latchkey/latchkey/tenants/store/postgres/pgtest"
	"github.com/latchkey/latchkey/tenants/store/storetest"
)

// openStore opens a store as latchkey_app on a fresh migrated database and
// returns it with the database's owner and application URLs.
func openStore(t *testing.T, opts ...postgres.Option) (s *postgres.Store, ownerURL, appURL string) {
	t.Helper()
	ownerURL, appURL = pgtest.NewDatabase(t)
	s, err := postgres.Open(t.Context(), appURL, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, ownerURL, appURL
}

// TestConformance runs the shared storage suite (CRUD, round-trips, R41
// isolation through the API, the audit chain under concurrency).
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _, _ := openStore(t)
		return s
	})
}

// connect opens a plain connection (closed when the test ends).
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// adminConn connects as the test cluster's superuser to the database of
// dbURL. Superusers bypass row-level security: tests use it to see the rows
// that really exist.
func adminConn(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	return connect(t, pgtest.AdminURL(t, pgtest.DatabaseName(t, dbURL)))
}

func TestPing(t *testing.T) {
	s, _, _ := openStore(t)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Fatalf("Ping after Close succeeded")
	}
}

// TestOpenBadURLKeepsPasswordOut: a malformed URL is refused without quoting
// it, since it may carry the password.
func TestOpenBadURLKeepsPasswordOut(t *testing.T) {
	_, err := postgres.Open(t.Context(), "postgres://latchkey_app:s3cret-pw@db:notaport/latchkey")
	if err == nil {
		t.Fatal("Open with a malformed URL succeeded")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("error quotes the password: %v", err)
	}
}
