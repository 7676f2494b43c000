package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// Compile-time proof that the backend implements the contract.
var (
	_ store.Store       = (*Store)(nil)
	_ store.Platform    = platform{}
	_ store.TenantStore = tenantStore{}
)

// Store is the PostgreSQL backend. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
	rand io.Reader
}

// Option configures Open.
type Option func(*options)

type options struct {
	now      func() time.Time
	rand     io.Reader
	poolConf func(*pgxpool.Config)
}

// WithClock makes the store read the time from now (tests use a fake clock).
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithRandom makes the store draw the random bytes of new ids from r
// (crypto/rand by default).
func WithRandom(r io.Reader) Option {
	return func(o *options) { o.rand = r }
}

// WithPoolConfig lets the caller adjust the pgx pool configuration parsed from
// the URL (for example MaxConns) before the pool is created.
func WithPoolConfig(fn func(*pgxpool.Config)) Option {
	return func(o *options) { o.poolConf = fn }
}

// Open connects to the database at appURL as the application role and checks
// that the role cannot bypass row-level security and that the schema is the
// one this binary expects. It does not migrate: that is Migrate's job, run as
// the owner role.
func Open(ctx context.Context, appURL string, opts ...Option) (*Store, error) {
	o := options{now: time.Now, rand: rand.Reader}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(appURL)
	if err != nil {
		// pgx redacts passwords from its parse errors only on a best-effort
		// basis, so the error (which quotes the URL) stays out of the message.
		return nil, fmt.Errorf("parse database URL: not a valid PostgreSQL connection URL (details withheld: they may quote the password)")
	}
	if o.poolConf != nil {
		o.poolConf(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	s := &Store{pool: pool, now: o.now, rand: o.rand}
	if err := s.check(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// check refuses a role that row-level security does not bind and a schema
// that is not current.
func (s *Store) check(ctx context.Context) error {
	var user string
	var super, bypass bool
	err := s.pool.QueryRow(ctx,
		"SELECT current_user, rolsuper, rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user").
		Scan(&user, &super, &bypass)
	if err != nil {
		return fmt.Errorf("check database role: %w", err)
	}
	if super || bypass {
		return fmt.Errorf("check database role: %q is a superuser or has BYPASSRLS, so row-level security would not isolate tenants: connect LATCHKEY_DATABASE_URL as latchkey_app (or a NOSUPERUSER NOBYPASSRLS role granted it)", user)
	}
	want, err := latestVersion()
	if err != nil {
		return err
	}
	have, err := schemaVersion(ctx, s.pool)
	if err != nil {
		return err
	}
	switch {
	case have < want:
		return fmt.Errorf("check schema: database schema is at version %d, this binary needs %d: run `latchkey migrate` with LATCHKEY_DATABASE_MIGRATE_URL set to the owner role's URL", have, want)
	case have > want:
		return fmt.Errorf("check schema: database schema version %d is newer than this binary's %d: run a newer latchkey", have, want)
	}
	return nil
}

// Platform returns the cross-tenant operations.
func (s *Store) Platform() store.Platform { return platform{s} }

// Tenant returns the operations scoped to tenant id. It does no I/O.
func (s *Store) Tenant(id tenants.ID) store.TenantStore { return tenantStore{s: s, id: string(id)} }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// Close releases the pool's connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// timestamp returns the current time as stored: UTC, truncated to the
// microsecond precision of timestamptz.
func (s *Store) timestamp() time.Time { return storedTime(s.now()) }

// storedTime returns t as PostgreSQL will give it back.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
