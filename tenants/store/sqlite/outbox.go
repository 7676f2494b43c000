package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/internal/check"
)

const messageColumns = `message_id, channel, kind, recipient, sealed, state, attempts, next_attempt_at,
	lease_until, last_error, created_at, sent_at`

func (ts tenantStore) scanMessage(r scanner) (tenants.OutboxMessage, error) {
	m := tenants.OutboxMessage{TenantID: tenants.ID(ts.id)}
	var (
		channel, state string
		next, created  int64
		lease, sent    sql.NullInt64
	)
	if err := r.Scan(&m.ID, &channel, &m.Kind, &m.To, &m.Sealed, &state, &m.Attempts, &next,
		&lease, &m.LastError, &created, &sent); err != nil {
		return m, err
	}
	m.Channel, m.State = tenants.MessageChannel(channel), tenants.OutboxState(state)
	if len(m.Sealed) == 0 {
		m.Sealed = nil
	}
	m.NextAttemptAt, m.CreatedAt = fromNanos(next), fromNanos(created)
	m.LeaseUntil, m.SentAt = fromNullNanos(lease), fromNullNanos(sent)
	return m, nil
}

// EnqueueMessage stores m as a new pending message.
func (ts tenantStore) EnqueueMessage(ctx context.Context, m tenants.OutboxMessage) (tenants.OutboxMessage, error) {
	if err := check.Message(m); err != nil {
		return tenants.OutboxMessage{}, fmt.Errorf("enqueue message: %w", err)
	}
	if m.ID == "" {
		m.ID = uuid.NewString()
	}
	now := ts.s.clock()
	next := m.NextAttemptAt
	if next.IsZero() {
		next = now
	}
	nextN, err := toNanos("enqueue message", next)
	if err != nil {
		return tenants.OutboxMessage{}, err
	}
	var out tenants.OutboxMessage
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		if err := ts.exists(ctx, tx); err != nil {
			return err
		}
		var err error
		out, err = ts.scanMessage(tx.QueryRowContext(ctx, `INSERT INTO outbox (tenant_id, `+messageColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, NULL, '', ?, NULL) RETURNING `+messageColumns,
			ts.id, m.ID, string(m.Channel), m.Kind, m.To, check.NotNil(m.Sealed), nextN, now.UnixNano()))
		return mapErr("insert message", err)
	})
	if err != nil {
		return tenants.OutboxMessage{}, fmt.Errorf("enqueue message: %w", err)
	}
	return out, nil
}

// ClaimMessages leases up to limit due messages. The IMMEDIATE transaction
// serialises claimers, so a second claimer sees the first one's leases.
func (ts tenantStore) ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]tenants.OutboxMessage, error) {
	if err := check.Claim(now, lease, limit); err != nil {
		return nil, fmt.Errorf("claim messages: %w", err)
	}
	nowN, err := toNanos("claim messages", now)
	if err != nil {
		return nil, err
	}
	until, err := toNanos("claim messages", now.Add(lease))
	if err != nil {
		return nil, err
	}
	var out []tenants.OutboxMessage
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE outbox SET lease_until = ?
			WHERE tenant_id = ? AND message_id IN (
				SELECT message_id FROM outbox
				WHERE tenant_id = ? AND state = 'pending' AND next_attempt_at <= ?
				  AND (lease_until IS NULL OR lease_until <= ?)
				ORDER BY created_at, message_id LIMIT ?)
			RETURNING `+messageColumns, until, ts.id, ts.id, nowN, nowN, limit)
		if err != nil {
			return mapErr("claim messages", err)
		}
		out, err = collectRows(rows, ts.scanMessage)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim messages: %w", err)
	}
	// RETURNING has no order of its own.
	slices.SortFunc(out, func(a, b tenants.OutboxMessage) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// collectRows scans every row with scan and closes rows.
func collectRows[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// MarkMessageSent records the delivery of a pending message.
func (ts tenantStore) MarkMessageSent(ctx context.Context, id string, at time.Time) error {
	if err := check.Time("mark message sent", at); err != nil {
		return err
	}
	n, err := toNanos("mark message sent", at)
	if err != nil {
		return err
	}
	return ts.settle(ctx, "mark message sent", id, `state = 'sent', sent_at = ?`, n)
}

// MarkMessageFailed records a failed attempt of a pending message.
func (ts tenantStore) MarkMessageFailed(ctx context.Context, id string, errText string, next time.Time, dead bool) error {
	errText, err := check.Failure(errText, next, dead)
	if err != nil {
		return err
	}
	if dead {
		return ts.settle(ctx, "mark message failed", id, `state = 'dead', last_error = ?`, errText)
	}
	n, err := toNanos("mark message failed", next)
	if err != nil {
		return err
	}
	return ts.settle(ctx, "mark message failed", id, `last_error = ?, next_attempt_at = ?`, errText, n)
}

// settle applies set to a pending message, counts the attempt and clears the
// lease. ErrNotFound when there is no such message, ErrConflict when it is
// no longer pending (another worker settled it first).
func (ts tenantStore) settle(ctx context.Context, what, id, set string, args ...any) error {
	err := ts.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET `+set+`, attempts = attempts + 1, lease_until = NULL
			WHERE tenant_id = ? AND message_id = ? AND state = 'pending'`, append(args, ts.id, id)...)
		if err != nil {
			return mapErr(what, err)
		}
		if err := affected(what, res); err == nil {
			return nil
		}
		if _, err := ts.getMessage(ctx, tx, id); err != nil {
			return err
		}
		return fmt.Errorf("message is no longer pending: %w", store.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func (ts tenantStore) getMessage(ctx context.Context, q querier, id string) (tenants.OutboxMessage, error) {
	m, err := ts.scanMessage(q.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM outbox
		WHERE tenant_id = ? AND message_id = ?`, ts.id, id))
	if err != nil {
		return tenants.OutboxMessage{}, mapErr("get message", err)
	}
	return m, nil
}

// GetMessage returns one of the tenant's messages.
func (ts tenantStore) GetMessage(ctx context.Context, id string) (tenants.OutboxMessage, error) {
	return ts.getMessage(ctx, ts.s.db, id)
}

// ListMessages returns up to limit of the tenant's messages, newest first.
func (ts tenantStore) ListMessages(ctx context.Context, limit int) ([]tenants.OutboxMessage, error) {
	if err := check.Limit("list messages", limit); err != nil {
		return nil, err
	}
	rows, err := ts.s.db.QueryContext(ctx, `SELECT `+messageColumns+` FROM outbox
		WHERE tenant_id = ? ORDER BY created_at DESC, message_id DESC LIMIT ?`, ts.id, limit)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	out, err := collectRows(rows, ts.scanMessage)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return out, nil
}

// TenantsWithDueMessages returns the tenants with due messages, the one
// waiting longest first.
func (p platform) TenantsWithDueMessages(ctx context.Context, now time.Time, limit int) ([]tenants.ID, error) {
	if err := check.Time("tenants with due messages", now); err != nil {
		return nil, err
	}
	if err := check.Limit("tenants with due messages", limit); err != nil {
		return nil, err
	}
	n, err := toNanos("tenants with due messages", now)
	if err != nil {
		return nil, err
	}
	rows, err := p.s.db.QueryContext(ctx, `SELECT tenant_id FROM outbox
		WHERE state = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
		GROUP BY tenant_id ORDER BY min(next_attempt_at), tenant_id LIMIT ?`, n, n, limit)
	if err != nil {
		return nil, fmt.Errorf("tenants with due messages: %w", err)
	}
	ids, err := collectRows(rows, func(r scanner) (tenants.ID, error) {
		var id string
		err := r.Scan(&id)
		return tenants.ID(id), err
	})
	if err != nil {
		return nil, fmt.Errorf("tenants with due messages: %w", err)
	}
	return ids, nil
}

func (ts tenantStore) PurgeMessages(ctx context.Context, before time.Time) (int, error) {
	return ts.purge(ctx, "purge messages", `DELETE FROM outbox WHERE tenant_id = ? AND state IN ('sent', 'dead') AND created_at < ?`, before)
}
