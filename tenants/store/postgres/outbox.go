package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/internal/check"
)

const messageColumns = `tenant_id, message_id, channel, kind, recipient, sealed, state, attempts,
	next_attempt_at, lease_until, last_error, created_at, sent_at`

func scanMessage(row pgx.Row) (tenants.OutboxMessage, error) {
	var (
		m              tenants.OutboxMessage
		tid            string
		channel, state string
		lease, sent    *time.Time
	)
	if err := row.Scan(&tid, &m.ID, &channel, &m.Kind, &m.To, &m.Sealed, &state, &m.Attempts,
		&m.NextAttemptAt, &lease, &m.LastError, &m.CreatedAt, &sent); err != nil {
		return tenants.OutboxMessage{}, err
	}
	m.TenantID, m.Channel, m.State = tenants.ID(tid), tenants.MessageChannel(channel), tenants.OutboxState(state)
	if len(m.Sealed) == 0 {
		m.Sealed = nil
	}
	m.NextAttemptAt, m.CreatedAt = m.NextAttemptAt.UTC(), m.CreatedAt.UTC()
	m.LeaseUntil, m.SentAt = utcOrZero(lease), utcOrZero(sent)
	return m, nil
}

// EnqueueMessage stores m as a new pending message.
func (ts tenantStore) EnqueueMessage(ctx context.Context, m tenants.OutboxMessage) (tenants.OutboxMessage, error) {
	if err := check.Message(m); err != nil {
		return tenants.OutboxMessage{}, fmt.Errorf("enqueue message: %w", err)
	}
	if m.ID == "" {
		id, err := ts.s.newID()
		if err != nil {
			return tenants.OutboxMessage{}, fmt.Errorf("enqueue message: %w", err)
		}
		m.ID = id
	}
	now := ts.s.timestamp()
	next := now
	if !m.NextAttemptAt.IsZero() {
		next = storedTime(m.NextAttemptAt)
	}
	var out tenants.OutboxMessage
	err := ts.run(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanMessage(tx.QueryRow(ctx, `INSERT INTO outbox (`+messageColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, NULL, '', $8, NULL) RETURNING `+messageColumns,
			ts.id, m.ID, string(m.Channel), m.Kind, m.To, check.NotNil(m.Sealed), next, now))
		return err
	})
	if err != nil {
		// The only foreign key is the tenant's.
		if isInvalidRef(err) {
			return tenants.OutboxMessage{}, fmt.Errorf("enqueue message: %w", store.ErrNotFound)
		}
		return tenants.OutboxMessage{}, fmt.Errorf("enqueue message: %w", classify(err))
	}
	return out, nil
}

// ClaimMessages leases up to limit due messages. FOR UPDATE SKIP LOCKED
// keeps concurrent claimers off each other's rows, and a claimer that reaches
// a row after another claimer committed re-checks the lease on the new row
// version and passes over it.
func (ts tenantStore) ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]tenants.OutboxMessage, error) {
	if err := check.Claim(now, lease, limit); err != nil {
		return nil, fmt.Errorf("claim messages: %w", err)
	}
	if !validID(ts.id) {
		return nil, nil
	}
	at := storedTime(now)
	var out []tenants.OutboxMessage
	err := ts.run(ctx, func(tx pgx.Tx) error {
		// The CTE is materialised: a "message_id IN (SELECT … LIMIT …
		// SKIP LOCKED)" subquery may be run more than once by the planner
		// and then lease more than limit rows.
		rows, err := tx.Query(ctx, `WITH due AS MATERIALIZED (
				SELECT message_id FROM outbox
				WHERE tenant_id = $1 AND state = 'pending' AND next_attempt_at <= $2
				  AND (lease_until IS NULL OR lease_until <= $2)
				ORDER BY created_at, message_id LIMIT $4
				FOR UPDATE SKIP LOCKED)
			UPDATE outbox SET lease_until = $3
			FROM due WHERE outbox.tenant_id = $1 AND outbox.message_id = due.message_id
			RETURNING `+qualified("outbox", messageColumns), ts.id, at, storedTime(now.Add(lease)), limit)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanMessage)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim messages: %w", classify(err))
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

// qualified prefixes every column of a column list with table.
func qualified(table, columns string) string {
	fields := strings.Split(columns, ",")
	for i, f := range fields {
		fields[i] = table + "." + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}

// MarkMessageSent records the delivery of a pending message.
func (ts tenantStore) MarkMessageSent(ctx context.Context, id string, at time.Time) error {
	if err := check.Time("mark message sent", at); err != nil {
		return err
	}
	return ts.settle(ctx, "mark message sent", id, `state = 'sent', sent_at = $3`, storedTime(at))
}

// MarkMessageFailed records a failed attempt of a pending message.
func (ts tenantStore) MarkMessageFailed(ctx context.Context, id string, errText string, next time.Time, dead bool) error {
	errText, err := check.Failure(errText, next, dead)
	if err != nil {
		return err
	}
	if dead {
		return ts.settle(ctx, "mark message failed", id, `state = 'dead', last_error = $3`, errText)
	}
	return ts.settle(ctx, "mark message failed", id, `last_error = $3, next_attempt_at = $4`, errText, storedTime(next))
}

// settle applies set (whose parameters start at $3) to a pending message,
// counts the attempt and clears the lease. ErrNotFound when there is no such
// message, ErrConflict when it is no longer pending (another worker settled
// it first).
func (ts tenantStore) settle(ctx context.Context, what, id, set string, args ...any) error {
	if !validID(id) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	err := ts.run(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE outbox SET `+set+`, attempts = attempts + 1, lease_until = NULL
			WHERE tenant_id = $1 AND message_id = $2 AND state = 'pending'`, append([]any{ts.id, id}, args...)...)
		if err != nil {
			return classify(err)
		}
		if tag.RowsAffected() > 0 {
			return nil
		}
		var found bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM outbox WHERE tenant_id = $1 AND message_id = $2)`,
			ts.id, id).Scan(&found); err != nil {
			return classify(err)
		}
		if !found {
			return store.ErrNotFound
		}
		return fmt.Errorf("message is no longer pending: %w", store.ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// GetMessage returns one of the tenant's messages.
func (ts tenantStore) GetMessage(ctx context.Context, id string) (tenants.OutboxMessage, error) {
	if !validID(id) {
		return tenants.OutboxMessage{}, fmt.Errorf("get message: %w", store.ErrNotFound)
	}
	m, err := one(ctx, ts, false, scanMessage, `SELECT `+messageColumns+` FROM outbox
		WHERE tenant_id = $1 AND message_id = $2`, ts.id, id)
	if err != nil {
		return tenants.OutboxMessage{}, fmt.Errorf("get message: %w", err)
	}
	return m, nil
}

// ListMessages returns up to limit of the tenant's messages, newest first.
func (ts tenantStore) ListMessages(ctx context.Context, limit int) ([]tenants.OutboxMessage, error) {
	if err := check.Limit("list messages", limit); err != nil {
		return nil, err
	}
	if !validID(ts.id) {
		return nil, nil
	}
	var out []tenants.OutboxMessage
	err := ts.run(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+messageColumns+` FROM outbox
			WHERE tenant_id = $1 ORDER BY created_at DESC, message_id DESC LIMIT $2`, ts.id, limit)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanMessage)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", classify(err))
	}
	return out, nil
}

// TenantsWithDueMessages asks latchkey_outbox_due, which runs as the schema
// owner and returns tenant ids only (the application role cannot read other
// tenants' messages), the one waiting longest first.
func (p platform) TenantsWithDueMessages(ctx context.Context, now time.Time, limit int) ([]tenants.ID, error) {
	if err := check.Time("tenants with due messages", now); err != nil {
		return nil, err
	}
	if err := check.Limit("tenants with due messages", limit); err != nil {
		return nil, err
	}
	rows, err := p.s.pool.Query(ctx, `SELECT t::text FROM latchkey_outbox_due($1, $2) AS t`, storedTime(now),
		min(limit, math.MaxInt32))
	if err != nil {
		return nil, fmt.Errorf("tenants with due messages: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[tenants.ID])
	if err != nil {
		return nil, fmt.Errorf("tenants with due messages: %w", err)
	}
	return ids, nil
}

func (ts tenantStore) PurgeMessages(ctx context.Context, before time.Time) (int, error) {
	return ts.purge(ctx, "purge messages", `DELETE FROM outbox WHERE tenant_id = $1 AND state IN ('sent', 'dead') AND created_at < $2`, before)
}
