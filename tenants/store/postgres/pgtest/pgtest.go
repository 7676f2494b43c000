// Package pgtest gives tests a fresh, migrated PostgreSQL database of their own
// on the throwaway cluster that `scripts/testenv up postgres` starts (its
// superuser URL is LATCHKEY_TEST_PG_URL; see package scripts/testsvc: without
// it a test is skipped locally and fails under CI).
//
// The cluster-wide roles are created once per test process: latchkey_owner
// (LOGIN, CREATEROLE, no superuser), which owns each test database and runs
// the migrations as production's owner role does, and latchkey_app (LOGIN,
// NOBYPASSRLS, no superuser), the application role the stores connect as.
// Databases are cheap: every NewDatabase call gets its own, dropped when the
// test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/scripts/testsvc"
	"github.com/latchkey/latchkey/tenants/store/postgres"
)

// EnvKey names the superuser URL of the test cluster.
const EnvKey = "LATCHKEY_TEST_PG_URL"

// The test roles and their password (throwaway: the test cluster trusts
// loopback anyway; the password serves clusters that do not).
const (
	OwnerRole = "latchkey_owner"
	AppRole   = "latchkey_app"
	password  = "latchkey-test-only"
)

// rolesLockKey serialises role creation across concurrent test processes.
const rolesLockKey int64 = 0x6c6b2d726f6c6573

var (
	rolesMu   sync.Mutex
	rolesDone = map[string]bool{} // by superuser URL
)

// NewDatabase creates a database owned by latchkey_owner, migrates it as that
// role and returns URLs for the owner and for latchkey_app. The database is
// dropped when the test ends.
func NewDatabase(t testing.TB) (ownerURL, appURL string) {
	t.Helper()
	ownerURL, appURL = NewEmptyDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := postgres.Migrate(ctx, ownerURL); err != nil {
		t.Fatalf("pgtest: migrate %s: %v", DatabaseName(t, ownerURL), err)
	}
	return ownerURL, appURL
}

// NewEmptyDatabase is NewDatabase without the migrations, for tests of
// Migrate itself.
func NewEmptyDatabase(t testing.TB) (ownerURL, appURL string) {
	t.Helper()
	admin := testsvc.Require(t, EnvKey)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if err := ensureRoles(ctx, admin); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name, err := randomName()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := adminExec(ctx, admin, fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, OwnerRole)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := adminExec(ctx, admin, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	ownerURL, err = roleURL(admin, OwnerRole, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	appURL, err = roleURL(admin, AppRole, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return ownerURL, appURL
}

// AdminURL returns the test cluster's superuser URL with its database set to
// dbname ("" keeps it), for tests that inspect a database from outside.
func AdminURL(t testing.TB, dbname string) string {
	t.Helper()
	u, err := url.Parse(testsvc.Require(t, EnvKey))
	if err != nil {
		t.Fatalf("pgtest: parse %s: %v", EnvKey, err)
	}
	if dbname != "" {
		u.Path = "/" + dbname
	}
	return u.String()
}

// DatabaseName returns the database a URL from NewDatabase points at.
func DatabaseName(t testing.TB, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("pgtest: parse URL: %v", err)
	}
	return u.Path[1:]
}

// ensureRoles creates or updates the two test roles, once per process and
// cluster. A transaction-scoped advisory lock keeps concurrent test processes
// from racing on CREATE ROLE.
func ensureRoles(ctx context.Context, admin string) error {
	rolesMu.Lock()
	defer rolesMu.Unlock()
	if rolesDone[admin] {
		return nil
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", EnvKey, err)
	}
	defer conn.Close(context.Background())
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", rolesLockKey); err != nil {
			return err
		}
		for _, r := range []struct{ name, attrs string }{
			{OwnerRole, "LOGIN NOSUPERUSER CREATEROLE NOBYPASSRLS"},
			{AppRole, "LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS"},
		} {
			var exists bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", r.name).Scan(&exists); err != nil {
				return err
			}
			verb := "CREATE"
			if exists {
				verb = "ALTER"
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf("%s ROLE %s %s PASSWORD '%s'", verb, r.name, r.attrs, password)); err != nil {
				return fmt.Errorf("%s role %s: %w", verb, r.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ensure test roles: %w", err)
	}
	rolesDone[admin] = true
	return nil
}

func adminExec(ctx context.Context, admin, sql string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", EnvKey, err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// roleURL returns admin with its user, password and database replaced.
func roleURL(admin, role, dbname string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", EnvKey, err)
	}
	u.User = url.UserPassword(role, password)
	u.Path = "/" + dbname
	return u.String(), nil
}

// randomName returns a database name no other test uses.
func randomName() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random database name: %w", err)
	}
	return "latchkey_test_" + hex.EncodeToString(b[:]), nil
}
