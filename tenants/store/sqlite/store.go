package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// Compile-time proof that the backend implements the whole contract.
var (
	_ store.Store       = (*Store)(nil)
	_ store.Platform    = platform{}
	_ store.TenantStore = tenantStore{}
)

// busyTimeout is how long a statement waits for another connection's lock
// (in practice: for the write lock held by another transaction).
const busyTimeout = 10 * time.Second

// Store is an open SQLite database. It is safe for concurrent use.
type Store struct {
	db  *sql.DB
	now func() time.Time
	log *slog.Logger
}

// Option configures Open.
type Option func(*Store)

// WithClock makes the store read the time from now instead of time.Now (for
// CreatedAt, UpdatedAt, applied_at and audit events without a time).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithLogger makes the store log to l instead of slog.Default().
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// Open opens (creating when missing) the database file at path, configures it
// and brings its schema up to date.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if strings.TrimSpace(path) == "" {
		return nil, errors.New("open sqlite store: empty path")
	}
	s := &Store{now: time.Now, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	if err := createFile(abs); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	s.db = db
	if err := s.enableWAL(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	if err := s.check(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", abs, err)
	}
	return s, nil
}

// createFile makes the database's directory (0700) and the empty file (0600)
// when they are missing, so that tenant data is never world-readable; SQLite
// gives its -wal and -shm files the main file's permissions.
func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create database directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	return f.Close()
}

// dsn builds modernc's connection string: every new connection gets the
// per-connection pragmas, and every transaction begins IMMEDIATE. WAL mode is
// a property of the file and is switched on once by Open (enableWAL).
func dsn(path string) string {
	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// enableWAL switches the file to write-ahead logging. The switch needs an
// exclusive lock and SQLite does not wait for one here (the busy timeout does
// not apply), so when another Store is opening the same new file at the same
// moment it is retried a bounded number of times.
func (s *Store) enableWAL(ctx context.Context) error {
	delay := 5 * time.Millisecond
	for attempt := 0; ; attempt++ {
		var mode string
		err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		if err == nil {
			if !strings.EqualFold(mode, "wal") {
				return fmt.Errorf("journal mode is %q, want wal (is the file on a filesystem without shared memory?)", mode)
			}
			return nil
		}
		if sqliteCode(err)&0xff != sqlite3.SQLITE_BUSY || attempt >= 60 {
			return fmt.Errorf("enable WAL: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("enable WAL: %w", ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 250*time.Millisecond)
	}
}

// check makes sure the connection settings took effect.
func (s *Store) check(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, want wal (is the file on a filesystem without shared memory?)", mode)
	}
	var fk int
	if err := s.db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return fmt.Errorf("read foreign_keys: %w", err)
	}
	if fk != 1 {
		return errors.New("foreign keys are not enforced")
	}
	return nil
}

// Platform returns the cross-tenant operations.
func (s *Store) Platform() store.Platform { return platform{s} }

// Tenant returns the operations scoped to tenant id. It does no I/O.
func (s *Store) Tenant(id tenants.ID) store.TenantStore { return tenantStore{s: s, id: string(id)} }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close sqlite: %w", err)
	}
	return nil
}

// clock returns the current time, in UTC and at the precision the database
// keeps, so that what the store returns equals what it reads back later.
func (s *Store) clock() time.Time { return fromNanos(s.now().UnixNano()) }
