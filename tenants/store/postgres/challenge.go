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

const challengeColumns = `tenant_id, cid, user_id, device_id, purpose, context, number, state, reason,
	created_at, expires_at, answered_at`

func scanChallenge(row pgx.Row) (tenants.PushChallenge, error) {
	var (
		c        tenants.PushChallenge
		tid      string
		answered *time.Time
	)
	if err := row.Scan(&tid, &c.CID, &c.UserID, &c.DeviceID, &c.Purpose, &c.Context, &c.Number, &c.State,
		&c.Reason, &c.CreatedAt, &c.ExpiresAt, &answered); err != nil {
		return tenants.PushChallenge{}, err
	}
	c.TenantID = tenants.ID(tid)
	c.CreatedAt, c.ExpiresAt, c.AnsweredAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC(), utcOrZero(answered)
	return c, nil
}

// CreateChallenge stores a push challenge as given. The INSERT takes its row
// from the device, so that a device that is not the user's stores nothing.
func (ts tenantStore) CreateChallenge(ctx context.Context, c tenants.PushChallenge) error {
	if err := check.Challenge(c); err != nil {
		return fmt.Errorf("create challenge: %w", err)
	}
	err := ts.run(ctx, func(tx pgx.Tx) error {
		if err := ts.mustExist(ctx, tx); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO push_challenges (`+challengeColumns+`)
			SELECT tenant_id, $2::text, user_id, device_id, $5::text, $6::bytea, $7::integer, $8::text, $9::text,
				$10::timestamptz, $11::timestamptz, $12::timestamptz FROM devices
			WHERE tenant_id = $1 AND device_id = $4 AND user_id = $3`,
			ts.id, c.CID, c.UserID, c.DeviceID, c.Purpose, c.Context, c.Number, c.State, c.Reason,
			storedTime(c.CreatedAt), storedTime(c.ExpiresAt), nullTime(c.AnsweredAt))
		if err != nil {
			return classify(err)
		}
		if tag.RowsAffected() == 0 {
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
	if !check.ChallengeID(cid) {
		return tenants.PushChallenge{}, fmt.Errorf("get challenge: %w", store.ErrNotFound)
	}
	c, err := one(ctx, ts, false, scanChallenge, `SELECT `+challengeColumns+` FROM push_challenges
		WHERE tenant_id = $1 AND cid = $2`, ts.id, cid)
	if err != nil {
		return tenants.PushChallenge{}, fmt.Errorf("get challenge: %w", err)
	}
	return c, nil
}

// AnswerChallenge moves a challenge from one state to another with one
// conditional UPDATE. Concurrent answers queue on the row lock; once the
// winner commits, the others re-check "state = from" against the new row and
// match nothing (R30).
func (ts tenantStore) AnswerChallenge(ctx context.Context, cid, from, to, reason string, at time.Time) (bool, error) {
	if err := check.Answer(from, to, reason, at); err != nil {
		return false, err
	}
	if !check.ChallengeID(cid) {
		return false, fmt.Errorf("answer challenge: %w", store.ErrNotFound)
	}
	var won bool
	err := ts.run(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE push_challenges SET state = $4, reason = $5, answered_at = $6
			WHERE tenant_id = $1 AND cid = $2 AND state = $3`, ts.id, cid, from, to, reason, storedTime(at))
		if err != nil {
			return classify(err)
		}
		if tag.RowsAffected() > 0 {
			won = true
			return nil
		}
		var found bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM push_challenges WHERE tenant_id = $1 AND cid = $2)`,
			ts.id, cid).Scan(&found); err != nil {
			return classify(err)
		}
		if !found {
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
	if !validID(ts.id) || !validID(deviceID) {
		return nil, nil // names no device
	}
	var out []tenants.PushChallenge
	err := ts.run(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+challengeColumns+` FROM push_challenges
			WHERE tenant_id = $1 AND device_id = $2 AND state = 'pending' AND expires_at > $3
			ORDER BY created_at DESC, cid DESC`, ts.id, deviceID, storedTime(now))
		if err != nil {
			return err
		}
		out, err = collect(rows, scanChallenge)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list pending challenges: %w", classify(err))
	}
	return out, nil
}

func (ts tenantStore) PurgeChallenges(ctx context.Context, before time.Time) (int, error) {
	return ts.purge(ctx, "purge challenges", `DELETE FROM push_challenges WHERE tenant_id = $1 AND expires_at < $2`, before)
}
