package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/internal/check"
)

const challengeColumns = `cid, user_id, device_id, purpose, context, number, state, reason, created_at, expires_at,
	answered_at`

func (ts tenantStore) scanChallenge(r scanner) (tenants.PushChallenge, error) {
	c := tenants.PushChallenge{TenantID: tenants.ID(ts.id)}
	var (
		created, expires int64
		answered         sql.NullInt64
	)
	if err := r.Scan(&c.CID, &c.UserID, &c.DeviceID, &c.Purpose, &c.Context, &c.Number, &c.State, &c.Reason,
		&created, &expires, &answered); err != nil {
		return c, err
	}
	c.CreatedAt, c.ExpiresAt, c.AnsweredAt = fromNanos(created), fromNanos(expires), fromNullNanos(answered)
	return c, nil
}

// CreateChallenge stores a push challenge as given. The INSERT takes its row
// from the device, so that a device that is not the user's stores nothing.
func (ts tenantStore) CreateChallenge(ctx context.Context, c tenants.PushChallenge) error {
	if err := check.Challenge(c); err != nil {
		return fmt.Errorf("create challenge: %w", err)
	}
	var args []any
	for _, tm := range []time.Time{c.CreatedAt, c.ExpiresAt, c.AnsweredAt} {
		n, err := nullNanos("create challenge", tm)
		if err != nil {
			return err
		}
		args = append(args, n)
	}
	err := ts.s.write(ctx, func(tx *sql.Tx) error {
		if err := ts.exists(ctx, tx); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO push_challenges (tenant_id, `+challengeColumns+`)
			SELECT tenant_id, ?, user_id, device_id, ?, ?, ?, ?, ?, ?, ?, ? FROM devices
			WHERE tenant_id = ? AND device_id = ? AND user_id = ?`,
			append(append([]any{c.CID, c.Purpose, c.Context, c.Number, c.State, c.Reason}, args...),
				ts.id, c.DeviceID, c.UserID)...)
		if err != nil {
			return mapErr("insert challenge", err)
		}
		if err := affected("insert challenge", res); err != nil {
			return invalidf("device %q is not a device of user %q", c.DeviceID, c.UserID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create challenge: %w", err)
	}
	return nil
}

// GetChallenge returns one of the tenant's challenges, answered or expired
// ones included.
func (ts tenantStore) GetChallenge(ctx context.Context, cid string) (tenants.PushChallenge, error) {
	c, err := ts.scanChallenge(ts.s.db.QueryRowContext(ctx, `SELECT `+challengeColumns+` FROM push_challenges
		WHERE tenant_id = ? AND cid = ?`, ts.id, cid))
	if err != nil {
		return tenants.PushChallenge{}, mapErr("get challenge", err)
	}
	return c, nil
}

// AnswerChallenge moves a challenge from one state to another with one
// conditional UPDATE. The IMMEDIATE transaction serialises answers, so of
// concurrent ones only the first finds the challenge still in from (R30).
func (ts tenantStore) AnswerChallenge(ctx context.Context, cid, from, to, reason string, at time.Time) (bool, error) {
	if err := check.Answer(from, to, reason, at); err != nil {
		return false, err
	}
	atN, err := toNanos("answer challenge", at)
	if err != nil {
		return false, err
	}
	var won bool
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE push_challenges SET state = ?, reason = ?, answered_at = ?
			WHERE tenant_id = ? AND cid = ? AND state = ?`, to, reason, atN, ts.id, cid, from)
		if err != nil {
			return mapErr("answer challenge", err)
		}
		if err := affected("answer challenge", res); err == nil {
			won = true
			return nil
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM push_challenges WHERE tenant_id = ? AND cid = ?`,
			ts.id, cid).Scan(&n); err != nil {
			return fmt.Errorf("look up challenge: %w", err)
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("answer challenge: %w", err)
	}
	return won, nil
}

// ListPendingChallenges returns the device's challenges that are pending and
// unexpired at now, newest first.
func (ts tenantStore) ListPendingChallenges(ctx context.Context, deviceID string, now time.Time) ([]tenants.PushChallenge, error) {
	if err := check.Time("list pending challenges", now); err != nil {
		return nil, err
	}
	nowN, err := toNanos("list pending challenges", now)
	if err != nil {
		return nil, err
	}
	rows, err := ts.s.db.QueryContext(ctx, `SELECT `+challengeColumns+` FROM push_challenges
		WHERE tenant_id = ? AND device_id = ? AND state = 'pending' AND expires_at > ?
		ORDER BY created_at DESC, cid DESC`, ts.id, deviceID, nowN)
	if err != nil {
		return nil, fmt.Errorf("list pending challenges: %w", err)
	}
	out, err := collectRows(rows, ts.scanChallenge)
	if err != nil {
		return nil, fmt.Errorf("list pending challenges: %w", err)
	}
	return out, nil
}

func (ts tenantStore) PurgeChallenges(ctx context.Context, before time.Time) (int, error) {
	return ts.purge(ctx, "purge challenges", `DELETE FROM push_challenges WHERE tenant_id = ? AND expires_at < ?`, before)
}
