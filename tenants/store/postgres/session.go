package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/internal/check"
)

const sessionColumns = `tenant_id, session_id, user_id, auth_at, created_at, last_seen_at, expires_at,
	revoked_at, ip, user_agent`

func scanSession(row pgx.Row) (tenants.Session, error) {
	var (
		s               tenants.Session
		tid             string
		authAt, revoked *time.Time
	)
	if err := row.Scan(&tid, &s.ID, &s.UserID, &authAt, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt,
		&revoked, &s.IP, &s.UserAgent); err != nil {
		return tenants.Session{}, err
	}
	s.TenantID = tenants.ID(tid)
	s.AuthAt, s.RevokedAt = utcOrZero(authAt), utcOrZero(revoked)
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()
	return s, nil
}

// CreateSession stores a session as given; CreatedAt and LastSeenAt default
// to now.
func (ts tenantStore) CreateSession(ctx context.Context, s tenants.Session) (tenants.Session, error) {
	s, err := check.NewSession(s, ts.s.timestamp())
	if err != nil {
		return tenants.Session{}, fmt.Errorf("create session: %w", err)
	}
	out, err := one(ctx, ts, true, scanSession, `INSERT INTO sessions (`+sessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING `+sessionColumns,
		ts.id, s.ID, s.UserID, nullTime(s.AuthAt), storedTime(s.CreatedAt), storedTime(s.LastSeenAt),
		storedTime(s.ExpiresAt), nullTime(s.RevokedAt), s.IP, s.UserAgent)
	if err != nil {
		return tenants.Session{}, fmt.Errorf("create session: %w", err)
	}
	return out, nil
}

// GetSession returns one of the tenant's sessions, revoked or expired ones
// included.
func (ts tenantStore) GetSession(ctx context.Context, id string) (tenants.Session, error) {
	if !check.HexID(id) {
		return tenants.Session{}, fmt.Errorf("get session: %w", store.ErrNotFound)
	}
	s, err := one(ctx, ts, false, scanSession, `SELECT `+sessionColumns+` FROM sessions
		WHERE tenant_id = $1 AND session_id = $2`, ts.id, id)
	if err != nil {
		return tenants.Session{}, fmt.Errorf("get session: %w", err)
	}
	return s, nil
}

// TouchSession moves LastSeenAt (and AuthAt when authAt is set) forward; a
// touch that arrives late never moves them back.
func (ts tenantStore) TouchSession(ctx context.Context, id string, seen, authAt time.Time) error {
	if err := check.Time("touch session", seen); err != nil {
		return err
	}
	if !check.HexID(id) {
		return fmt.Errorf("touch session: %w", store.ErrNotFound)
	}
	n, err := ts.exec(ctx, `UPDATE sessions SET last_seen_at = greatest(last_seen_at, $3),
			auth_at = CASE WHEN $4::timestamptz IS NULL THEN auth_at ELSE greatest(auth_at, $4::timestamptz) END
		WHERE tenant_id = $1 AND session_id = $2`, id, storedTime(seen), nullTime(authAt))
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
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
	if !check.HexID(id) {
		return fmt.Errorf("revoke session: %w", store.ErrNotFound)
	}
	n, err := ts.exec(ctx, `UPDATE sessions SET revoked_at = COALESCE(revoked_at, $3)
		WHERE tenant_id = $1 AND session_id = $2`, id, storedTime(at))
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// RevokeUserSessions revokes the user's live sessions but except.
func (ts tenantStore) RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int, error) {
	if err := check.Time("revoke user sessions", at); err != nil {
		return 0, err
	}
	if !validID(userID) {
		return 0, nil // names no user
	}
	n, err := ts.exec(ctx, `UPDATE sessions SET revoked_at = $2
		WHERE tenant_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND user_id = $3 AND session_id <> $4`,
		storedTime(at), userID, except)
	if err != nil {
		return 0, fmt.Errorf("revoke user sessions: %w", err)
	}
	return int(n), nil
}

// RevokeAllSessions revokes every live session of the tenant.
func (ts tenantStore) RevokeAllSessions(ctx context.Context, at time.Time) (int, error) {
	if err := check.Time("revoke all sessions", at); err != nil {
		return 0, err
	}
	n, err := ts.exec(ctx, `UPDATE sessions SET revoked_at = $2
		WHERE tenant_id = $1 AND revoked_at IS NULL AND expires_at > $2`, storedTime(at))
	if err != nil {
		return 0, fmt.Errorf("revoke all sessions: %w", err)
	}
	return int(n), nil
}

func (ts tenantStore) PurgeSessions(ctx context.Context, before time.Time) (int, error) {
	return ts.purge(ctx, "purge sessions", `DELETE FROM sessions WHERE tenant_id = $1 AND expires_at < $2`, before)
}
