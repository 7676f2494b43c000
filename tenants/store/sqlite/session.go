package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store/internal/check"
)

const sessionColumns = `session_id, user_id, auth_at, created_at, last_seen_at, expires_at, revoked_at, ip, user_agent`

func (ts tenantStore) scanSession(r scanner) (tenants.Session, error) {
	s := tenants.Session{TenantID: tenants.ID(ts.id)}
	var (
		authAt, revoked              sql.NullInt64
		created, lastSeen, expiresAt int64
	)
	if err := r.Scan(&s.ID, &s.UserID, &authAt, &created, &lastSeen, &expiresAt, &revoked, &s.IP, &s.UserAgent); err != nil {
		return s, err
	}
	s.AuthAt, s.RevokedAt = fromNullNanos(authAt), fromNullNanos(revoked)
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromNanos(created), fromNanos(lastSeen), fromNanos(expiresAt)
	return s, nil
}

// CreateSession stores a session as given; CreatedAt and LastSeenAt default
// to now.
func (ts tenantStore) CreateSession(ctx context.Context, s tenants.Session) (tenants.Session, error) {
	s, err := check.NewSession(s, ts.s.clock())
	if err != nil {
		return tenants.Session{}, fmt.Errorf("create session: %w", err)
	}
	var args []any
	// In column order; only AuthAt and RevokedAt may be zero (NULL) here.
	for _, tm := range []time.Time{s.AuthAt, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.RevokedAt} {
		n, err := nullNanos("create session", tm)
		if err != nil {
			return tenants.Session{}, err
		}
		args = append(args, n)
	}
	var out tenants.Session
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		if err := ts.exists(ctx, tx); err != nil {
			return err
		}
		var err error
		out, err = ts.scanSession(tx.QueryRowContext(ctx, `INSERT INTO sessions (tenant_id, `+sessionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+sessionColumns,
			append(append([]any{ts.id, s.ID, s.UserID}, args...), s.IP, s.UserAgent)...))
		return mapErr("insert session", err)
	})
	if err != nil {
		return tenants.Session{}, fmt.Errorf("create session: %w", err)
	}
	return out, nil
}

// GetSession returns one of the tenant's sessions, revoked or expired ones
// included.
func (ts tenantStore) GetSession(ctx context.Context, id string) (tenants.Session, error) {
	s, err := ts.scanSession(ts.s.db.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE tenant_id = ? AND session_id = ?`, ts.id, id))
	if err != nil {
		return tenants.Session{}, mapErr("get session", err)
	}
	return s, nil
}

// TouchSession moves LastSeenAt (and AuthAt when authAt is set) forward; a
// touch that arrives late never moves them back.
func (ts tenantStore) TouchSession(ctx context.Context, id string, seen, authAt time.Time) error {
	if err := check.Time("touch session", seen); err != nil {
		return err
	}
	seenN, err := toNanos("touch session", seen)
	if err != nil {
		return err
	}
	authN, err := nullNanos("touch session", authAt)
	if err != nil {
		return err
	}
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = max(last_seen_at, ?),
			auth_at = CASE WHEN ? IS NULL THEN auth_at ELSE max(coalesce(auth_at, ?), ?) END
			WHERE tenant_id = ? AND session_id = ?`, seenN, authN, authN, authN, ts.id, id)
		if err != nil {
			return mapErr("touch session", err)
		}
		return affected("touch session", res)
	})
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// RevokeSession sets RevokedAt on one session, once.
func (ts tenantStore) RevokeSession(ctx context.Context, id string, at time.Time) error {
	if err := check.Time("revoke session", at); err != nil {
		return err
	}
	n, err := toNanos("revoke session", at)
	if err != nil {
		return err
	}
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = coalesce(revoked_at, ?)
			WHERE tenant_id = ? AND session_id = ?`, n, ts.id, id)
		if err != nil {
			return mapErr("revoke session", err)
		}
		return affected("revoke session", res)
	})
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// RevokeUserSessions revokes the user's live sessions but except.
func (ts tenantStore) RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int, error) {
	return ts.revokeLive(ctx, "revoke user sessions", "user_id = ? AND session_id <> ?", at, userID, except)
}

// RevokeAllSessions revokes every live session of the tenant.
func (ts tenantStore) RevokeAllSessions(ctx context.Context, at time.Time) (int, error) {
	return ts.revokeLive(ctx, "revoke all sessions", "1 = 1", at)
}

// revokeLive revokes the sessions that are live at at (neither revoked nor
// expired) and match cond, and returns how many.
func (ts tenantStore) revokeLive(ctx context.Context, what, cond string, at time.Time, args ...any) (int, error) {
	if err := check.Time(what, at); err != nil {
		return 0, err
	}
	n, err := toNanos(what, at)
	if err != nil {
		return 0, err
	}
	var revoked int64
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?
			WHERE tenant_id = ? AND revoked_at IS NULL AND expires_at > ? AND `+cond,
			append([]any{n, ts.id, n}, args...)...)
		if err != nil {
			return mapErr(what, err)
		}
		revoked, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return int(revoked), nil
}

func (ts tenantStore) PurgeSessions(ctx context.Context, before time.Time) (int, error) {
	return ts.purge(ctx, "purge sessions", `DELETE FROM sessions WHERE tenant_id = ? AND expires_at < ?`, before)
}
