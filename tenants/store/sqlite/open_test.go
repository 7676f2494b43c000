package sqlite

import (
	"bytes"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/migrations"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/audit"
	"github.com/latchkey/latchkey/tenants/store"
)

func createTestTenant(t *testing.T, s *Store, slug string) tenants.Tenant {
	t.Helper()
	ten, err := s.Platform().CreateTenant(t.Context(), tenants.Tenant{Slug: slug, Name: strings.ToUpper(slug)},
		[]tenants.Host{{Host: slug + ".example.test"}})
	if err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	return ten
}

type migrationRow struct {
	Version   int
	Name      string
	AppliedAt int64
}

func migrationRows(t *testing.T, db *sql.DB) []migrationRow {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	var out []migrationRow
	for rows.Next() {
		var r migrationRow
		if err := rows.Scan(&r.Version, &r.Name, &r.AppliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestOpenCreatesPrivateFileAndDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "latchkey.db")
	s, err := Open(t.Context(), path, quiet)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	for p, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestOpenRefusesBadPaths(t *testing.T) {
	if _, err := Open(t.Context(), "", quiet); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	if _, err := Open(t.Context(), t.TempDir(), quiet); err == nil {
		t.Error("Open of a directory succeeded")
	}
	notSQLite := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(notSQLite, bytes.Repeat([]byte("not a database "), 512), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), notSQLite, quiet); err == nil {
		t.Error("Open of a file that is not a database succeeded")
	}
}

// TestEveryConnectionIsConfigured checks the pragmas on several pooled
// connections at once, not just the first.
func TestEveryConnectionIsConfigured(t *testing.T) {
	s, _ := openTemp(t)
	var conns []*sql.Conn
	for range 3 {
		c, err := s.db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		var journal string
		var fk, sync, busy int
		err := c.QueryRowContext(t.Context(), `SELECT (SELECT journal_mode FROM pragma_journal_mode),
			(SELECT foreign_keys FROM pragma_foreign_keys), (SELECT synchronous FROM pragma_synchronous),
			(SELECT timeout FROM pragma_busy_timeout)`).Scan(&journal, &fk, &sync, &busy)
		if err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
		if journal != "wal" || fk != 1 || sync != 1 || busy != int(busyTimeout.Milliseconds()) {
			t.Errorf("conn %d: journal_mode=%s foreign_keys=%d synchronous=%d busy_timeout=%d; want wal 1 1(NORMAL) %d",
				i, journal, fk, sync, busy, busyTimeout.Milliseconds())
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

// TestReopenKeepsDataAndDoesNotReapplyMigrations: a restart loses nothing and
// finds the schema current.
func TestReopenKeepsDataAndDoesNotReapplyMigrations(t *testing.T) {
	ms, err := migrations.SQLite()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "latchkey.db")
	var firstLog bytes.Buffer
	first := time.Date(2025, 1, 1, 0, 0, 0, 123456789, time.UTC)
	s, err := Open(t.Context(), path, WithLogger(slog.New(slog.NewTextHandler(&firstLog, nil))), WithClock(func() time.Time { return first }))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if n := strings.Count(firstLog.String(), "applied database migration"); n != len(ms) {
		t.Errorf("first Open logged %d applied migrations, want %d:\n%s", n, len(ms), firstLog.String())
	}
	rowsBefore := migrationRows(t, s.db)
	if len(rowsBefore) != len(ms) || rowsBefore[0].AppliedAt != first.UnixNano() || rowsBefore[0].Name != ms[0].Name {
		t.Errorf("schema_migrations after first Open = %+v", rowsBefore)
	}
	ten := createTestTenant(t, s, "acme")
	ts := s.Tenant(ten.ID)
	org, err := ts.CreateOrganisation(t.Context(), tenants.Organisation{Name: "Staff"})
	if err != nil {
		t.Fatal(err)
	}
	user, err := ts.CreateUser(t.Context(), tenants.User{Username: "alice", OrganisationID: org.ID})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := ts.AppendAudit(t.Context(), tenants.AuditEvent{Actor: "operator", Action: "tenant.create"})
	if err != nil {
		t.Fatal(err)
	}
	wantTenant, err := ts.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	var secondLog bytes.Buffer
	later := first.Add(time.Hour)
	s2, err := Open(t.Context(), path, WithLogger(slog.New(slog.NewTextHandler(&secondLog, nil))), WithClock(func() time.Time { return later }))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	if strings.Contains(secondLog.String(), "applied database migration") {
		t.Errorf("reopen applied migrations again:\n%s", secondLog.String())
	}
	if got := migrationRows(t, s2.db); len(got) != len(rowsBefore) || got[0] != rowsBefore[0] {
		t.Errorf("schema_migrations after reopen = %+v, want %+v", got, rowsBefore)
	}
	ts2 := s2.Tenant(ten.ID)
	gotTenant, err := ts2.Get(t.Context())
	if err != nil || gotTenant.ResourceVersion != wantTenant.ResourceVersion || gotTenant.DefaultOrganisationID != org.ID ||
		!gotTenant.UpdatedAt.Equal(wantTenant.UpdatedAt) {
		t.Errorf("tenant after reopen = %+v, %v; want %+v", gotTenant, err, wantTenant)
	}
	if id, err := s2.Platform().ResolveHost(t.Context(), "acme.example.test"); err != nil || id != ten.ID {
		t.Errorf("ResolveHost after reopen = %s, %v", id, err)
	}
	if got, err := ts2.GetUserByUsername(t.Context(), "ALICE"); err != nil || got.ID != user.ID || got.OrganisationID != org.ID {
		t.Errorf("user after reopen = %+v, %v", got, err)
	}
	events, err := ts2.ListAudit(t.Context(), 0, 10)
	if err != nil || len(events) != 1 || !bytes.Equal(events[0].Hash, ev.Hash) {
		t.Fatalf("audit after reopen = %+v, %v", events, err)
	}
	next, err := ts2.AppendAudit(t.Context(), tenants.AuditEvent{Actor: "operator", Action: "host.add"})
	if err != nil || next.Seq != 2 {
		t.Fatalf("append after reopen: %+v, %v", next, err)
	}
	events, _ = ts2.ListAudit(t.Context(), 0, 10)
	if err := audit.Verify(events); err != nil {
		t.Errorf("chain across the restart: %v", err)
	}
}

// TestOpenRefusesNewerSchema: a database migrated by a newer binary is not
// touched by an older one.
func TestOpenRefusesNewerSchema(t *testing.T) {
	s, path := openTemp(t)
	if _, err := s.db.ExecContext(t.Context(),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from_the_future', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(t.Context(), path, quiet)
	if err == nil || !strings.Contains(err.Error(), "newer") || !strings.Contains(err.Error(), "999") {
		t.Fatalf("Open of a newer database: err = %v, want a clear 'newer' error naming version 999", err)
	}
}

// TestTwoStoresOnOneFile: two Store values in one process share the file
// safely; their writers queue on the write lock instead of failing.
func TestTwoStoresOnOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	var (
		stores [2]*Store
		errs   [2]error
		wg     sync.WaitGroup
	)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(t.Context(), path, quiet)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	ms, _ := migrations.SQLite()
	if got := migrationRows(t, stores[1].db); len(got) != len(ms) {
		t.Errorf("schema_migrations has %d rows after two concurrent Opens, want %d", len(got), len(ms))
	}

	ten := createTestTenant(t, stores[0], "shared")
	if id, err := stores[1].Platform().ResolveHost(t.Context(), "shared.example.test"); err != nil || id != ten.ID {
		t.Fatalf("second store does not see the first one's tenant: %s, %v", id, err)
	}
	var appendErrs sync.Map
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts := stores[w%2].Tenant(ten.ID)
			for range 25 {
				if _, err := ts.AppendAudit(t.Context(), tenants.AuditEvent{Actor: "system", Action: "shared"}); err != nil {
					appendErrs.Store(w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	appendErrs.Range(func(k, v any) bool { t.Errorf("writer %v: %v", k, v); return true })

	events, err := stores[1].Tenant(ten.ID).ListAudit(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 200 {
		t.Errorf("%d events, want 200", len(events))
	}
	if err := audit.Verify(events); err != nil {
		t.Errorf("chain written through two stores: %v", err)
	}
	var check string
	if err := stores[0].db.QueryRowContext(t.Context(), `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
}

// TestAuditEventsAreAppendOnly (R19): the schema itself refuses to change or
// remove an audit event, whatever code runs against the file.
func TestAuditEventsAreAppendOnly(t *testing.T) {
	s, _ := openTemp(t)
	ten := createTestTenant(t, s, "audited")
	ts := s.Tenant(ten.ID)
	for range 3 {
		if _, err := ts.AppendAudit(t.Context(), tenants.AuditEvent{Actor: "admin:1", Action: "password.reset"}); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := ts.ListAudit(t.Context(), 0, 10)
	for _, stmt := range []string{
		`UPDATE audit_events SET actor = 'someone else' WHERE seq = 2`,
		`DELETE FROM audit_events WHERE seq = 3`,
		`DELETE FROM audit_events`,
	} {
		_, err := s.db.ExecContext(t.Context(), stmt)
		if err == nil || !strings.Contains(err.Error(), "audit_events is append-only") {
			t.Errorf("%s: err = %v, want the append-only trigger", stmt, err)
		}
	}
	after, _ := ts.ListAudit(t.Context(), 0, 10)
	if len(after) != len(before) || after[1].Actor != "admin:1" {
		t.Errorf("audit log changed: %+v", after)
	}
	if err := audit.Verify(after); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// TestInjectedClock: timestamps come from the clock given to Open, in UTC,
// with nanoseconds kept.
func TestInjectedClock(t *testing.T) {
	base := time.Date(2025, 6, 1, 12, 0, 0, 987654321, time.FixedZone("CEST", 2*3600))
	var (
		mu  sync.Mutex
		cur = base
	)
	set := func(d time.Duration) { mu.Lock(); cur = base.Add(d); mu.Unlock() }
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return cur }
	s, _ := openTemp(t, WithClock(clock))

	set(time.Second)
	ten := createTestTenant(t, s, "clocked")
	if !ten.CreatedAt.Equal(base.Add(time.Second)) || ten.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", ten.CreatedAt, base.Add(time.Second))
	}
	ts := s.Tenant(ten.ID)
	set(2 * time.Second)
	upd, err := ts.Update(t.Context(), func(x *tenants.Tenant) error { x.Name = "Clocked"; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !upd.UpdatedAt.Equal(base.Add(2*time.Second)) || !upd.CreatedAt.Equal(ten.CreatedAt) {
		t.Errorf("after Update: CreatedAt %v UpdatedAt %v", upd.CreatedAt, upd.UpdatedAt)
	}
	got, _ := ts.Get(t.Context())
	if !got.UpdatedAt.Equal(upd.UpdatedAt) || got.UpdatedAt.Nanosecond() != base.Nanosecond() {
		t.Errorf("stored UpdatedAt %v, want %v", got.UpdatedAt, upd.UpdatedAt)
	}
	set(3 * time.Second)
	ev, err := ts.AppendAudit(t.Context(), tenants.AuditEvent{Action: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Time.Equal(base.Add(3 * time.Second)) {
		t.Errorf("audit Time = %v, want %v", ev.Time, base.Add(3*time.Second))
	}
}

// TestAuditTimeOutOfRange: a time SQLite's nanosecond column cannot hold is
// refused rather than silently wrapped.
func TestAuditTimeOutOfRange(t *testing.T) {
	s, _ := openTemp(t)
	ten := createTestTenant(t, s, "ancient")
	_, err := s.Tenant(ten.ID).AppendAudit(t.Context(), tenants.AuditEvent{Time: time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)})
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AppendAudit in 1500: err = %v, want ErrInvalid", err)
	}
}
