package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/tenants/store"
)

// The transaction-local settings the row-level security policies read.
const (
	settingTenant          = "app.tenant_id"
	settingLookupHost      = "app.lookup_host"
	settingLookupSlug      = "app.lookup_slug"
	settingPlatformList    = "app.platform_list"
	settingLookupConnector = "app.lookup_connector"
)

// inTx runs fn in a transaction whose first statement sets the
// transaction-local setting name to value (set_config's third argument: the
// setting ends with the transaction, whether it commits or rolls back, so a
// pooled connection never carries it into another caller's work — R40).
func (s *Store) inTx(ctx context.Context, name, value string, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config($1, $2, true)", name, value); err != nil {
			return fmt.Errorf("set %s: %w", name, err)
		}
		return fn(tx)
	})
}

// inTenant runs fn in a transaction scoped to tenantID (a canonical UUID).
func (s *Store) inTenant(ctx context.Context, tenantID string, fn func(pgx.Tx) error) error {
	return s.inTx(ctx, settingTenant, tenantID, fn)
}

// newID returns a random UUID in canonical form.
func (s *Store) newID() (string, error) {
	u, err := uuid.NewRandomFromReader(s.rand)
	if err != nil {
		return "", fmt.Errorf("generate id: %w", err)
	}
	return u.String(), nil
}

// validID reports whether id is a UUID in canonical (lower-case, hyphenated)
// form, the only form the store hands out. Anything else names no object: it
// must find nothing rather than reach PostgreSQL's uuid parser and fail there.
func validID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// classify maps a database error to the store's sentinel errors, keeping the
// original in the chain. The constraint name is kept; the row values of
// PostgreSQL's detail message are not, so no data leaks into logs.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w (%s)", store.ErrAlreadyExists, pgErr.ConstraintName)
		case "23503": // foreign_key_violation: refers to something that is not there
			return fmt.Errorf("%w: refers to a missing object (%s)", store.ErrInvalid, pgErr.ConstraintName)
		case "23502", "23514", "22P02", "22001", "22021", "22P05", "22003":
			// not_null, check, bad text, too long, invalid UTF-8 or NUL, NUL in
			// JSON, number out of range
			return fmt.Errorf("%w: %s", store.ErrInvalid, pgErr.Message)
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return fmt.Errorf("%w: %s", store.ErrConflict, pgErr.Message)
		}
	}
	return err
}

// invalidf returns an ErrInvalid with a reason.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", store.ErrInvalid, fmt.Sprintf(format, args...))
}

// nullable returns nil for the empty string, so that it is stored as NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// deref returns *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// isInvalidRef reports whether err is a foreign key violation (classified as
// ErrInvalid "refers to a missing object").
func isInvalidRef(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

// isNotFound reports whether err is, or wraps, store.ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
